"""An item's page and what people do with it: assign, change status, add notes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from townhall.cases import crisis, repository, service
from townhall.cases.schemas import MAX_NOTE_CHARS
from townhall.cases.tasks import sla_times
from townhall.connectors.base import Capability
from townhall.connectors.registry import capabilities_of
from townhall.models import CrisisRoom, ItemStatus, OutboxKind, OutboxPost, OutboxStatus, User
from townhall.publishing import drafts
from townhall.routing.sla import sla_view
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.params import FieldError, IdNumber, as_id

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
def item_page(
    request: Request, item_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """The item with its post, thread, notes, people to assign and audit history."""
    web = state(request)
    item = repository.get_item(session, item_id)
    status = ItemStatus(item.status)
    room = crisis.get_room(session, item.crisis_id) if item.crisis_id else None
    replies = drafts.replies_of(session, item.id)
    try:
        capabilities = capabilities_of(web.policy.channel(item.post.channel))
    except KeyError:
        capabilities = frozenset()
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
        "room": room,
        "replies": replies,
        "reply_labels": drafts.STATUS_LABELS,
        "may_decide": {r.id for r in replies if _may_decide(r, room, user)},
        "can_publish": Capability.PUBLISH in capabilities,
        "can_message": Capability.DIRECT in capabilities,
        "channel_name": item.post.channel,
        "now": web.clock(),
        "max_reply": drafts.MAX_TEXT,
    }
    return web.templates.TemplateResponse(request, "item.html", context)


@router.post("/{item_id}/assign", dependencies=csrf)
def assign(
    request: Request,
    item_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    assignee: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Assign the item: a user id, ``me``, or empty to unassign."""
    if assignee == "me":
        target: int | None = user.id
    elif assignee == "":
        target = None
    else:
        target = as_id(assignee)
        if target is None:
            raise FieldError("assignee", 'must be a person\'s id, "me" or empty.')
    service.assign(session, item_id, target, actor=user, now=state(request).clock())
    return _back(item_id)


@router.post("/{item_id}/status", dependencies=csrf)
def change_status(
    request: Request,
    item_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    """Move the item to another status."""
    try:
        target = ItemStatus(status)
    except ValueError:
        raise FieldError("status", f"unknown status {status!r}.") from None
    service.set_status(session, item_id, target, actor=user, now=state(request).clock())
    return _back(item_id)


@router.post("/{item_id}/notes", dependencies=csrf)
def add_note(
    request: Request,
    item_id: IdNumber,
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
    item_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    text: Annotated[str, Form(max_length=drafts.MAX_TEXT + 1000)],
    kind: Annotated[str, Form(max_length=8)] = "public",
) -> Response:
    """Reply publicly or contact the author privately, through the outbox (a draft waits for
    an approver of the department, or during a crisis for the crisis lead)."""
    kinds = {"public": OutboxKind.REPLY, "private": OutboxKind.PRIVATE}
    if kind not in kinds:
        raise FieldError("kind", f"unknown reply kind {kind!r} (public or private).")
    web = state(request)
    drafts.write_reply(session, web.policy, item_id, kinds[kind], text, actor=user, now=web.clock())
    return _back(item_id, "#replies")


def _may_decide(reply: OutboxPost, room: CrisisRoom | None, user: User) -> bool:
    if reply.status != OutboxStatus.DRAFT:
        return False
    held_by = room.lead_department if reply.crisis_id and room else reply.department
    return drafts.may_approve(user, held_by)
