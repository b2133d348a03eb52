"""An item's page and what people do with it: assign, change status, add notes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from townhall.cases import crisis, repository, service
from townhall.cases.schemas import MAX_NOTE_CHARS
from townhall.cases.tasks import sla_times
from townhall.errors import InputError
from townhall.models import ItemStatus, ReplyKind
from townhall.routing.sla import sla_view
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf

ACTIONS: dict[tuple[ItemStatus, ItemStatus], str] = {
    (ItemStatus.NEW, ItemStatus.IN_PROGRESS): "Start working",
    (ItemStatus.NEW, ItemStatus.DONE): "Close as done",
    (ItemStatus.IN_PROGRESS, ItemStatus.DONE): "Mark done",
    (ItemStatus.IN_PROGRESS, ItemStatus.NEW): "Back to new",
    (ItemStatus.DONE, ItemStatus.IN_PROGRESS): "Reopen",
}
"""Button labels of the status changes ``service.TRANSITIONS`` allows."""

router = APIRouter(prefix="/items")
csrf = [Depends(require_csrf)]


def _back(item_id: int, anchor: str = "") -> Response:
    return RedirectResponse(f"/items/{item_id}{anchor}", status_code=303)


@router.get("/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, item_id: int, session: DbSession, user: CurrentUser) -> Response:
    """The item with its post, thread, notes, people to assign and audit history."""
    web = state(request)
    item = repository.get_item(session, item_id)
    status = ItemStatus(item.status)
    context = {
        "user": user,
        "item": item,
        "post": item.post,
        "thread": repository.thread_of(session, item.post),
        "notes": repository.notes_of(session, item.id),
        "history": repository.history_of(session, item.id),
        "people": repository.active_users(session, first_department=item.department),
        "actions": [
            (target.value, label)
            for (source, target), label in ACTIONS.items()
            if source is status and target in service.TRANSITIONS[status]
        ],
        "labels": service.STATUS_LABELS,
        "department_name": web.department_name,
        "max_note": MAX_NOTE_CHARS,
        "sla": sla_view(sla_times(item), web.clock()),
        "room": crisis.get_room(session, item.crisis_id) if item.crisis_id else None,
        "replies": crisis.replies_of(session, item.id),
        "max_reply": crisis.MAX_TEXT,
    }
    return web.templates.TemplateResponse(request, "item.html", context)


@router.post("/{item_id}/assign", dependencies=csrf)
def assign(
    request: Request,
    item_id: int,
    session: DbSession,
    user: CurrentUser,
    assignee: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Assign the item: a user id, ``me``, or empty to unassign."""
    if assignee == "me":
        target: int | None = user.id
    elif assignee == "":
        target = None
    elif assignee.isdigit():
        target = int(assignee)
    else:
        raise InputError("Choose a person to assign the item to.")
    service.assign(session, item_id, target, actor=user, now=state(request).clock())
    return _back(item_id)


@router.post("/{item_id}/status", dependencies=csrf)
def change_status(
    request: Request,
    item_id: int,
    session: DbSession,
    user: CurrentUser,
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    """Move the item to another status."""
    try:
        target = ItemStatus(status)
    except ValueError:
        raise InputError(f"Unknown status {status!r}.") from None
    service.set_status(session, item_id, target, actor=user, now=state(request).clock())
    return _back(item_id)


@router.post("/{item_id}/notes", dependencies=csrf)
def add_note(
    request: Request,
    item_id: int,
    session: DbSession,
    user: CurrentUser,
    text: Annotated[str, Form(max_length=MAX_NOTE_CHARS + 1000)],
) -> Response:
    """Add an internal note."""
    service.add_note(session, item_id, text, actor=user, now=state(request).clock())
    return _back(item_id, "#notes")


@router.post("/{item_id}/replies", dependencies=csrf)
def write_reply(
    request: Request,
    item_id: int,
    session: DbSession,
    user: CurrentUser,
    text: Annotated[str, Form(max_length=crisis.MAX_TEXT + 1000)],
    kind: Annotated[str, Form(max_length=8)] = "public",
) -> Response:
    """Write a public reply (held for approval during a crisis) or log private contact."""
    try:
        reply_kind = ReplyKind(kind)
    except ValueError:
        raise InputError(f"Unknown reply kind {kind!r}.") from None
    crisis.write_reply(session, item_id, reply_kind, text, actor=user, now=state(request).clock())
    return _back(item_id, "#replies")
