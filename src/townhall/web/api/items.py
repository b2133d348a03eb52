"""``/api/v1/items``: the inbox's items, with its filters, and what people do with them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from townhall.cases import repository, service
from townhall.models import ItemStatus
from townhall.org.permissions import Action
from townhall.web.access import the_item
from townhall.web.api.auth import ApiPermitDep, api_allow
from townhall.web.api.errors import ERRORS, ApiRoute
from townhall.web.api.idempotency import ApiWriteDep
from townhall.web.api.schemas import (
    DEFAULT_LIMIT,
    MAX_CURSOR,
    MAX_LIMIT,
    AssignIn,
    ItemDetailOut,
    ItemOut,
    ItemPage,
    NoteIn,
    NoteOut,
    StatusIn,
    decode_cursor,
    decode_position,
    encode_cursor,
    encode_position,
)
from townhall.web.auth import DbSession
from townhall.web.context import state
from townhall.web.inbox import ALL, visible_query
from townhall.web.params import IdNumber

router = APIRouter(prefix="/items", tags=["items"], route_class=ApiRoute, responses=ERRORS)


@router.get("", response_model=ItemPage, dependencies=[api_allow(Action.VIEW)])
def list_items(
    session: DbSession,
    person: ApiPermitDep,
    department: Annotated[
        str | None, Query(max_length=64, description='A department id or "all" (default).')
    ] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[
        str | None, Query(max_length=16, description="open (default), any, new, in_progress, done")
    ] = None,
    q: Annotated[str | None, Query(max_length=500, description="Text or author handle.")] = None,
    intent: Annotated[str | None, Query(max_length=32)] = None,
    sentiment: Annotated[str | None, Query(max_length=16)] = None,
    owner: Annotated[
        str | None, Query(max_length=20, description='A person\'s id, "me" or "none".')
    ] = None,
    sla: Annotated[str | None, Query(max_length=16, description='"breached" or empty.')] = None,
    sort: Annotated[
        str | None, Query(max_length=16, description="triage (default), newest, oldest, due")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None,
) -> ItemPage:
    """The items the person may see, with the inbox's filters, one page at a time."""
    view = visible_query(
        person, department or ALL, channel, status, q, intent, sentiment, owner, sla, sort
    )
    if view.sort == "newest":
        before = decode_cursor(cursor, "before")
        rows = repository.list_items(session, view.filter, limit=limit + 1, before_id=before)
        more = len(rows) > limit
        rows = rows[:limit]
        following = encode_cursor("before", rows[-1].id) if more and rows else None
    else:
        after = decode_position(cursor, view.sort)
        rows = repository.list_items(
            session, view.filter, limit=limit + 1, sort=view.sort, after=after
        )
        more = len(rows) > limit
        rows = rows[:limit]
        following = None
        if more and rows:
            rooms = repository.open_room_ids(session)
            following = encode_position(repository.position_of(rows[-1], view.sort, rooms))
    return ItemPage(items=[ItemOut.of(item) for item in rows], next_cursor=following)


@router.get(
    "/{item_id}", response_model=ItemDetailOut, dependencies=[api_allow(Action.VIEW, the_item)]
)
def get_item(item_id: IdNumber, session: DbSession) -> ItemDetailOut:
    """One item with its post and internal notes."""
    item = repository.get_item(session, item_id)
    notes = [NoteOut.of(note) for note in repository.notes_of(session, item.id)]
    return ItemDetailOut(**ItemOut.of(item).model_dump(), notes=notes)


@router.post(
    "/{item_id}/assign",
    response_model=ItemOut,
    dependencies=[api_allow(Action.ASSIGN, the_item)],
)
def assign(item_id: IdNumber, body: AssignIn, write: ApiWriteDep) -> JSONResponse:
    """Assign the item to a person (their id, or ``"me"``), or unassign it (null)."""
    person = write.person
    target = person.user.id if body.assignee == "me" else body.assignee
    item = service.assign(
        write.session, item_id, target, actor=person.user, now=state(write.request).clock()
    )
    return write.done(200, ItemOut.of(item), what=f"assigned item #{item_id}")


@router.post(
    "/{item_id}/status",
    response_model=ItemOut,
    dependencies=[api_allow(Action.STATUS, the_item)],
)
def change_status(item_id: IdNumber, body: StatusIn, write: ApiWriteDep) -> JSONResponse:
    """Move the item to another status (new → in progress → done, or back)."""
    item = service.set_status(
        write.session,
        item_id,
        ItemStatus(body.status),
        actor=write.person.user,
        now=state(write.request).clock(),
    )
    return write.done(200, ItemOut.of(item), what=f"item #{item_id} to {body.status}")


@router.post(
    "/{item_id}/notes",
    response_model=NoteOut,
    status_code=201,
    dependencies=[api_allow(Action.NOTE, the_item)],
)
def add_note(item_id: IdNumber, body: NoteIn, write: ApiWriteDep) -> JSONResponse:
    """Add an internal note to the item."""
    note = service.add_note(
        write.session, item_id, body.text, actor=write.person.user, now=state(write.request).clock()
    )
    write.session.flush()
    return write.done(201, NoteOut.of(note), what=f"note on item #{item_id}")
