"""An item's page and what people do with it: assign, change status, add notes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from townhall.cases import crisis, repository, service
from townhall.cases.author_history import author_history
from townhall.cases.schemas import MAX_NOTE_CHARS
from townhall.cases.tasks import sla_times
from townhall.connectors.base import Capability
from townhall.connectors.registry import capabilities_of
from townhall.errors import ConductBlockedError, InputError
from townhall.models import Item, ItemStatus, OutboxKind, User
from townhall.org import saved_replies
from townhall.org.permissions import Action, DepartmentScope
from townhall.org.policy import Policy
from townhall.publishing import approvals, drafts
from townhall.routing.sla import sla_view
from townhall.web.access import Permit, PermitDep, actor_of, allow, the_item
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.crisis import crisis_marker, people_names
from townhall.web.csrf import require_csrf
from townhall.web.drafts import findings_context, waits_for
from townhall.web.inbox import InboxQuery
from townhall.web.params import FieldError, IdNumber, as_id

ACTIONS: dict[tuple[ItemStatus, ItemStatus], str] = {
    (ItemStatus.NEW, ItemStatus.IN_PROGRESS): "Start working",
    (ItemStatus.NEW, ItemStatus.DONE): "Close as done",
    (ItemStatus.IN_PROGRESS, ItemStatus.DONE): "Mark done",
    (ItemStatus.IN_PROGRESS, ItemStatus.NEW): "Back to new",
    (ItemStatus.DONE, ItemStatus.IN_PROGRESS): "Reopen",
}
"""Button labels of the status changes ``service.TRANSITIONS`` allows."""

QUEUE_FIELDS = (
    "department",
    "channel",
    "status",
    "q",
    "intent",
    "sentiment",
    "owner",
    "sla",
    "sort",
)
"""The inbox's query parameters an item page carries, to go on to the queue's next item."""
MAX_QUEUE = 1000
"""Characters of the carried queue (an inbox query string)."""
FLASH_KEY = "item_notice"

router = APIRouter(prefix="/items")
csrf = [Depends(require_csrf)]


def _back(item_id: int, anchor: str = "") -> Response:
    return RedirectResponse(f"/items/{item_id}{anchor}", status_code=303)


def queue_view(user: User, queue: str, visible: DepartmentScope | None = None) -> InboxQuery:
    """The inbox view an item was opened from (``queue`` is its query string); the person's
    department queue when it is empty or not a valid inbox query."""
    try:
        values = parse_qs(queue[:MAX_QUEUE], max_num_fields=len(QUEUE_FIELDS) * 2)
    except ValueError:  # more fields than an inbox query has
        values = {}
    given = {name: values[name][0] if values.get(name) else None for name in QUEUE_FIELDS}
    try:
        return InboxQuery(user, **given, visible=visible)
    except FieldError:
        return InboxQuery(user, None, None, None, None, visible=visible)


def queue_of(request: Request, item: Item) -> str:
    """The query string of the queue the item page belongs to: the ``queue`` it was given,
    else the inbox it was opened from, else the item's department's open items."""
    given = request.query_params.get("queue")
    if given is not None:
        return given[:MAX_QUEUE]
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path == "/inbox":
        return referer.query[:MAX_QUEUE]
    return urlencode({"department": item.department})


def next_in_queue(session: Session, view: InboxQuery, after: int) -> int | None:
    """The first open item of the view's queue, in its order, other than item ``after``."""
    for candidate in repository.list_items(session, view.filter, limit=5, sort=view.sort):
        if candidate.id != after and candidate.status != ItemStatus.DONE:
            return candidate.id
    return None


def item_page_response(
    request: Request,
    session: Session,
    user: User,
    item_id: int,
    *,
    status_code: int = 200,
    reply_text: str = "",
    reply_kind: str = "public",
    reply_findings: Sequence[Mapping[str, Any]] = (),
    reply_error: str = "",
    notice: str = "",
    saved: str = "",
) -> Response:
    """The item page; after a refused reply, with its text, findings and why (in place);
    with ``saved`` (a saved reply's id), that reply in the reply box."""
    web = state(request)
    item = repository.get_item(session, item_id)
    notice = notice or str(request.session.pop(FLASH_KEY, ""))
    status = ItemStatus(item.status)
    room = crisis.get_room(session, item.crisis_id) if item.crisis_id else None
    replies = drafts.replies_of(session, item.id)
    try:
        capabilities = capabilities_of(web.policy.channel(item.post.channel))
    except KeyError:
        capabilities = frozenset()
    findings = findings_context(reply_text, reply_findings, checked=bool(reply_findings))
    person = getattr(request.state, "permit", None)  # the route's permission check made it
    if not isinstance(person, Permit) or person.user is not user:
        person = Permit(web.policy, user, actor_of(session, user, web.clock()))
    author = author_history(session, item.post, item.id)
    canned = saved_for(web.policy, item, user, web.department_name(item.department))
    if saved and not reply_text:
        reply_text = next((one.text for one in canned if one.id == saved), "")
    context = {
        "user": user,
        "item": item,
        "post": item.post,
        "thread": repository.thread_of(session, item.post),
        "notes": repository.notes_of(session, item.id),
        "history": repository.history_of(session, item.id),
        "author": author,
        "author_entries": [
            (
                entry,
                entry.item_id is not None and person.sees(entry.department or "", entry.supporting),
            )
            for entry in author.entries
        ],
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
        "marker": crisis_marker(room, web),
        "possessive": crisis.possessive,
        "topic_name": lambda topic: crisis.topic_name(web.policy, topic),
        "person": people_names(session),
        "readable": lambda text: crisis.readable(web.policy, str(text)),
        "notice": notice,
        "queue": queue_of(request, item),
        "replies": replies,
        "reply_labels": drafts.STATUS_LABELS,
        "may_decide": {r.id for r in replies if approvals.may_decide(session, web.policy, r, user)},
        "waits_for": {r.id: waits_for(session, web.policy, r) for r in replies},
        "can_publish": Capability.PUBLISH in capabilities,
        "can_message": Capability.DIRECT in capabilities,
        "channel_name": item.post.channel,
        "now": web.clock(),
        "max_reply": drafts.MAX_TEXT,
        "reply_text": reply_text,
        "reply_kind": reply_kind,
        "reply_error": reply_error,
        "saved_replies": canned,
        **findings,
    }
    return web.templates.TemplateResponse(request, "item.html", context, status_code=status_code)


@router.get("/{item_id}", response_class=HTMLResponse, dependencies=[allow(Action.VIEW, the_item)])
def item_page(
    request: Request,
    item_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    saved: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The item with its post, thread, notes, people to assign and audit history
    (``?saved=ID`` puts that saved reply in the reply box)."""
    return item_page_response(request, session, user, item_id, saved=saved)


@dataclass(frozen=True)
class Canned:
    """A saved reply filled in for one item, in the conversation's language where it can be."""

    id: str
    name: str
    department: str
    language: str
    text: str
    other_language: bool
    """The conversation is in a known language this saved reply is not written in."""


def saved_for(policy: Policy, item: Item, user: User, department_name: str) -> list[Canned]:
    """The saved replies of the item's department, then of the person's own, filled in."""
    post = item.post
    values = {
        "first_name": saved_replies.first_name(post.author_name or "", post.author_handle),
        "name": post.author_name or post.author_handle,
        "agent": saved_replies.first_name(user.name, user.email),
        "department": department_name,
    }
    departments = list(dict.fromkeys([item.department, user.department]))
    found: list[Canned] = []
    for department in departments:
        for reply in saved_replies.for_department(policy.saved_replies, department):
            spoken = post.language or post.lang
            language = reply.language_for(spoken)
            text = saved_replies.fill(reply, language, values)
            other = (
                bool(saved_replies.primary(spoken)) and saved_replies.primary(spoken) != language
            )
            found.append(Canned(reply.id, reply.name, department, language, text, other))
    return found


@router.post("/{item_id}/assign", dependencies=[*csrf, allow(Action.ASSIGN, the_item)])
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


@router.post("/{item_id}/status", dependencies=[*csrf, allow(Action.STATUS, the_item)])
def change_status(
    request: Request,
    item_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    status: Annotated[str, Form(max_length=16)],
    person: PermitDep,
    queue: Annotated[str, Form(max_length=MAX_QUEUE)] = "",
) -> Response:
    """Move the item to another status; once it is done, go on to the next item of the queue
    it was opened from (``queue``, an inbox query string), saying what was done."""
    try:
        target = ItemStatus(status)
    except ValueError:
        raise FieldError("status", f"unknown status {status!r}.") from None
    service.set_status(session, item_id, target, actor=user, now=state(request).clock())
    if target is not ItemStatus.DONE:
        return _back(item_id)
    view = queue_view(user, queue, person.departments())
    following = next_in_queue(session, view, item_id)
    if following is None:
        return RedirectResponse(f"/inbox?{view.params(done=1)}", status_code=303)
    request.session[FLASH_KEY] = f"Item #{item_id} is done. This is the next one in the queue."
    return RedirectResponse(
        f"/items/{following}?{urlencode({'queue': view.params()})}", status_code=303
    )


@router.post("/{item_id}/notes", dependencies=[*csrf, allow(Action.NOTE, the_item)])
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


@router.post("/{item_id}/replies", dependencies=[*csrf, allow(Action.REPLY, the_item)])
def write_reply(
    request: Request,
    item_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    text: Annotated[str, Form(max_length=drafts.MAX_TEXT + 1000)],
    kind: Annotated[str, Form(max_length=8)] = "public",
) -> Response:
    """Reply publicly or contact the author privately, through the outbox: the code of
    conduct checks it and its approval chain decides who lets it out. A reply the code of
    conduct stops comes back in the form with its findings and the text kept (422)."""
    kinds = {"public": OutboxKind.REPLY, "private": OutboxKind.PRIVATE}
    if kind not in kinds:
        raise FieldError("kind", f"unknown reply kind {kind!r} (public or private).")
    web = state(request)
    try:
        drafts.write_reply(
            session, web.policy, item_id, kinds[kind], text, actor=user, now=web.clock()
        )
    except InputError as refused:
        session.rollback()
        found = refused.findings if isinstance(refused, ConductBlockedError) else []
        return item_page_response(
            request,
            session,
            user,
            item_id,
            status_code=422,
            reply_text=text,
            reply_kind=kind,
            reply_findings=found,
            reply_error=refused.message,
        )
    return _back(item_id, "#replies")
