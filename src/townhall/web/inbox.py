"""The inbox: department queues and the unified view, with filters, paging and a live stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio
from fastapi import APIRouter, Depends, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from townhall.cases import repository, service
from townhall.cases.schemas import OPEN_STATUSES, PAGE_SIZE, InboxFilter
from townhall.cases.service import STATUS_LABELS
from townhall.cases.tasks import sla_times
from townhall.db import read_transaction
from townhall.errors import ConflictError, NotFoundError, PermissionDeniedError
from townhall.models import Item, ItemStatus, User
from townhall.org.permissions import Action, DepartmentScope
from townhall.routing.sla import sla_view
from townhall.understand.labels import INTENTS
from townhall.web.access import Permit, PermitDep, allow, item_scope, refusal
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import WebState, state
from townhall.web.csrf import require_csrf
from townhall.web.params import MAX_ID, FieldError, IdNumber, Position, as_id, is_policy_id

NO_REPLY_TAG = "no_reply_needed"
"""The tag of items closed without a reply (the policy's ``close: true`` rules use it too)."""

ALL = "all"
"""The ``department`` value of the unified inbox (every department)."""

STATUS_CHOICES: dict[str, str] = {
    "open": "Open",
    "any": "Any status",
    **{status.value: label for status, label in STATUS_LABELS.items()},
    "no_reply": "No reply needed",
    "spam": "Spam",
}
"""``no_reply`` and ``spam`` are the closed items with that tag: chatter that asks nothing and
spam, closed by the policy (with its reason) or by a person, out of every queue."""

CLOSED_VIEWS: dict[str, str] = {"no_reply": NO_REPLY_TAG, "spam": "spam"}

INTENT_CHOICES: dict[str, str] = {
    intent: intent.replace("_", " ").capitalize() for intent in INTENTS
}
SENTIMENT_CHOICES: dict[str, str] = {
    "negative": "Negative",
    "neutral": "Neutral",
    "positive": "Positive",
}

OWNER_CHOICES: dict[str, str] = {"": "Anyone", "me": "Me", "none": "Nobody yet"}
SLA_CHOICES: dict[str, str] = {"": "Any SLA state", "breached": "SLA breached"}
SORT_CHOICES: dict[str, str] = repository.SORTS
DEFAULT_SORT = "triage"
"""Queues open in triage order: open crisis, priority, SLA due time, then age."""

MAX_START = 5000
"""Deepest position an old "Load more" link (``start``) may ask for."""

BULK_ACTIONS: dict[str, str] = {
    "assign_me": "Assign to me",
    "assign": "Assign to",
    "no_reply": "Close: no reply needed",
    "spam": "Mark as spam",
}
"""What the inbox does with the selected rows."""

MAX_BULK = 200
"""Most items one bulk action changes."""

POLL_SECONDS = 1.0
"""How often the live stream looks for new items."""

COUNT_LIMIT = 1000
"""The inbox's count of matching items stops here and says "1,000+": counting a view of
50,000 items read every one of them on each page view and each live tick."""


def count_label(count: int) -> str:
    """The count badge: ``1,234``-style, or ``1,000+`` past ``COUNT_LIMIT``."""
    return f"{COUNT_LIMIT:,}+" if count > COUNT_LIMIT else f"{count:,}"


ROWS_PER_TICK = 50
"""Most rows the live stream sends per poll (bounded work per tick)."""

router = APIRouter()


def _choice(field: str, value: str | None, choices: dict[str, str], default: str = "") -> str:
    """``value`` if it is one of ``choices`` (empty: ``default``); else ``FieldError``."""
    if not value:
        return default
    if value not in choices:
        names = ", ".join(repr(choice) for choice in choices if choice)
        raise FieldError(field, f"must be one of {names} or empty.")
    return value


class InboxQuery:
    """The inbox's query parameters, as given and as an ``InboxFilter``."""

    def __init__(
        self,
        user: User,
        department: str | None,
        channel: str | None,
        status: str | None,
        q: str | None,
        intent: str | None = None,
        sentiment: str | None = None,
        owner: str | None = None,
        sla: str | None = None,
        sort: str | None = None,
        *,
        visible: DepartmentScope | None = None,
    ) -> None:
        owner = owner or ""
        owner_id: int | None = None
        if owner == "me":
            owner_id = user.id
        elif owner not in OWNER_CHOICES:
            owner_id = as_id(owner)
            if owner_id is None:
                raise FieldError("owner", 'must be a person\'s id, "me", "none" or empty.')
            owner = str(owner_id)
        # Someone's queue spans departments: an owner filter without a department means "all".
        default = ALL if owner and owner != "none" else user.department
        self.department = department if department else default
        if self.department != ALL and not is_policy_id(self.department):
            raise FieldError("department", f'must be a department\'s id or "{ALL}".')
        self.channel = channel or ""
        if self.channel and not is_policy_id(self.channel):
            raise FieldError("channel", "must be a channel's id or empty.")
        self.status = _choice("status", status, STATUS_CHOICES, default="open")
        self.q = (q or "").strip()[:200]
        self.intent = _choice("intent", intent, INTENT_CHOICES)
        self.sentiment = _choice("sentiment", sentiment, SENTIMENT_CHOICES)
        self.owner = owner
        self.sla = _choice("sla", sla, SLA_CHOICES)
        self.sort = _choice("sort", sort, SORT_CHOICES, default=DEFAULT_SORT)
        self.owner_id = owner_id
        if self.status == "open":
            statuses: tuple[ItemStatus, ...] = OPEN_STATUSES
        elif self.status == "any":
            statuses = ()
        elif self.status in CLOSED_VIEWS:
            statuses = (ItemStatus.DONE,)
        else:
            statuses = (ItemStatus(self.status),)
        self.filter = InboxFilter(
            department=None if self.department == ALL else self.department,
            channel=self.channel or None,
            statuses=statuses,
            text=self.q or None,
            intent=self.intent or None,
            sentiment=self.sentiment or None,
            assignee_id=owner_id,
            unassigned=self.owner == "none",
            breached=self.sla == "breached",
            tag=CLOSED_VIEWS.get(self.status),
            visible=(
                None
                if visible is None
                or visible.everything
                # One of their own departments' queue: the department filter says it all (and
                # the queue's order is then read from an index alone).
                or self.department in visible.owned
                else (visible.owned, visible.supported_by)
            ),
        )

    def params(self, **extra: str | int) -> str:
        """The query string of this view, plus ``extra``."""
        values: dict[str, str | int] = {"department": self.department, "status": self.status}
        if self.channel:
            values["channel"] = self.channel
        if self.q:
            values["q"] = self.q
        if self.intent:
            values["intent"] = self.intent
        if self.sentiment:
            values["sentiment"] = self.sentiment
        if self.owner:
            values["owner"] = self.owner
        if self.sla:
            values["sla"] = self.sla
        if self.sort != DEFAULT_SORT:
            values["sort"] = self.sort
        values.update(extra)
        return urlencode(values)


def inbox_query(
    person: PermitDep,
    department: Annotated[str | None, Query(max_length=64)] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
    intent: Annotated[str | None, Query(max_length=32)] = None,
    sentiment: Annotated[str | None, Query(max_length=16)] = None,
    owner: Annotated[str | None, Query(max_length=20)] = None,
    sla: Annotated[str | None, Query(max_length=16)] = None,
    sort: Annotated[str | None, Query(max_length=16)] = None,
) -> InboxQuery:
    """The filters of an inbox request (shared by the page, "load more" and the stream)."""
    return visible_query(
        person, department, channel, status, q, intent, sentiment, owner, sla, sort
    )


def visible_query(person: Permit, *filters: str | None) -> InboxQuery:
    """An inbox query (``filters`` in ``InboxQuery``'s order) limited to the items the person
    may see; ``NotAllowed`` when they may see none (the browser's inbox and the API)."""
    visible = person.departments(Action.VIEW)
    if visible.nothing:
        raise refusal(person.policy, Action.VIEW, None)
    return InboxQuery(person.user, *filters, visible=visible)


View = Annotated[InboxQuery, Depends(inbox_query)]


def row_context(
    web: WebState,
    items: list[Item],
    sort: str = DEFAULT_SORT,
    open_rooms: frozenset[int] = frozenset(),
) -> dict[str, object]:
    """What ``_rows.html`` and ``_row.html`` need besides the items (``sort`` and the open
    rooms give each row the key the live inbox places new rows by)."""
    now = web.clock()
    return {
        "items": items,
        "department_name": web.department_name,
        "labels": STATUS_LABELS,
        "sla_of": lambda item: sla_view(sla_times(item), now),
        "sort_key_of": lambda item: repository.sort_key(item, sort, open_rooms),
    }


def _owner_name(session: Session, view: InboxQuery, user: User) -> str | None:
    """Whose queue this is, when the view is one person's."""
    if view.owner_id is None:
        return None
    if view.owner_id == user.id:
        return user.name
    try:
        return repository.get_user(session, view.owner_id).name
    except NotFoundError:
        return f"user #{view.owner_id}"


@router.get("/")
def home() -> Response:
    """The start page is the inbox."""
    return RedirectResponse("/inbox", status_code=303)


def _page(
    session: Session,
    view: InboxQuery,
    before: int | None,
    start: int,
    after: str | None = None,
    rooms: frozenset[int] | None = None,
) -> list[Item]:
    """One page of the view, by keyset: newest first older than ``before``, the other orders
    after the position ``after`` (``start``, a row number, still works for old links)."""
    if view.sort == "newest":
        return repository.list_items(session, view.filter, limit=PAGE_SIZE, before_id=before)
    return repository.list_items(
        session,
        view.filter,
        limit=PAGE_SIZE,
        sort=view.sort,
        offset=0 if after is not None else start,
        after=after,
        rooms=rooms,
    )


def _paging(view: InboxQuery, items: list[Item], rooms: frozenset[int]) -> dict[str, object]:
    """What the "Load more" button of ``_rows.html`` needs: whether there is more, and the
    query string of the next page."""
    more = len(items) == PAGE_SIZE
    if view.sort == "newest":
        following = view.params(before=items[-1].id) if items else ""
    else:
        last = items[-1] if items else None
        following = (
            view.params(after=repository.position_of(last, view.sort, rooms)) if last else ""
        )
    return {"more": more and bool(items), "next_page": following}


def _start(start: int) -> int:
    if start > MAX_START:
        raise FieldError("start", f"must be at most {MAX_START}; narrow the filters instead.")
    return start


Start = Annotated[Position, Query()]


@router.get("/inbox", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def inbox(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    view: View,
    done: Start = 0,
    skipped: Start = 0,
) -> Response:
    """The inbox page (default: my department's open items in triage order); htmx gets only
    the list. ``done`` and ``skipped`` report the bulk action that led here."""
    web = state(request)
    rooms = repository.open_room_ids(session)
    items = _page(session, view, None, 0, rooms=rooms)
    context = {
        **row_context(web, items, view.sort, rooms),
        **_paging(view, items, rooms),
        "view": view,
        "user": user,
        "count": count_label(repository.count_items(session, view.filter, up_to=COUNT_LIMIT)),
        # The stream sends what arrives after this page: in an order other than newest first,
        # rows beyond the first page are older than the newest item, not new.
        "after": (
            max((item.id for item in items), default=0)
            if view.sort == "newest"
            else repository.latest_item_id(session)
        ),
        "departments": web.departments(),
        "channels": repository.channels(session),
        "status_choices": STATUS_CHOICES,
        "intent_choices": INTENT_CHOICES,
        "sentiment_choices": SENTIMENT_CHOICES,
        "owner_choices": OWNER_CHOICES,
        "owner_name": _owner_name(session, view, user),
        "sla_choices": SLA_CHOICES,
        "sort_choices": SORT_CHOICES,
        "bulk_actions": BULK_ACTIONS,
        "people": repository.active_users(session, first_department=user.department),
        "hidden_department": (
            view.department
            if view.department != ALL
            and view.filter.visible is not None
            and view.department not in view.filter.visible[0]
            else None
        ),
        "bulk_done": done,
        "bulk_skipped": skipped,
        "ALL": ALL,
    }
    partial = (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Target") == "inbox-main"
    )
    name = "_inbox_main.html" if partial else "inbox.html"
    return web.templates.TemplateResponse(request, name, context)


@router.get("/inbox/rows", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def more_rows(
    request: Request,
    session: DbSession,
    view: View,
    before: Annotated[IdNumber | None, Query()] = None,
    start: Start = 0,
    after: Annotated[str | None, Query(max_length=repository.MAX_POSITION)] = None,
) -> Response:
    """The next page of rows, for "Load more": older than ``before`` when newest first,
    else after the position ``after`` of the last row shown (or from row ``start``)."""
    web = state(request)
    start = _start(start)
    rooms = repository.open_room_ids(session)
    items = _page(session, view, before, start, after, rooms)
    context = {
        **row_context(web, items, view.sort, rooms),
        **_paging(view, items, rooms),
        "view": view,
    }
    return web.templates.TemplateResponse(request, "_rows.html", context)


def _bulk_one(
    session: Session,
    item_id: int,
    action: str,
    target: int | None,
    person: Permit,
    now: datetime,
) -> None:
    """Apply one bulk ``action`` to one item through the same services as the item page,
    if the person may (``NotAllowed`` otherwise)."""
    user = person.user
    needs = Action.ASSIGN if action in ("assign_me", "assign") else Action.STATUS
    person.require(needs, item_scope(session, item_id))
    if action in ("assign_me", "assign"):
        service.assign(session, item_id, target, actor=user, now=now)
    else:  # closed without a reply, tagged for its view (CLOSED_VIEWS)
        if action == "no_reply":
            why = f"{user.name} closed the item: no reply needed"
        else:
            why = f"{user.name} marked the item as spam"
        item = service.set_status(session, item_id, ItemStatus.DONE, actor=user, now=now, why=why)
        tag = CLOSED_VIEWS[action]
        if tag not in item.tags:
            item.tags = [*item.tags, tag]


@router.post("/inbox/bulk", dependencies=[Depends(require_csrf), allow(Action.VIEW)])
def bulk(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    action: Annotated[str, Form(max_length=16)],
    ids: Annotated[list[str], Form(max_length=MAX_BULK)] = [],  # noqa: B006 (FastAPI form)
    assignee: Annotated[str, Form(max_length=20)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/inbox",
    *,
    person: PermitDep,
) -> Response:
    """Assign, close as "no reply needed" or mark as spam every selected item: one audit
    entry each. Items the action does not fit (already theirs, already done) are skipped."""
    action = _choice("action", action, BULK_ACTIONS)
    if not action:
        raise FieldError("action", "choose what to do with the selected items.")
    item_ids: list[int] = []
    for value in ids:
        item_id = as_id(value)
        if item_id is None:
            raise FieldError("ids", f"must be item ids (whole numbers from 1 to {MAX_ID}).")
        if item_id not in item_ids:
            item_ids.append(item_id)
    if not item_ids:
        raise FieldError("ids", "select at least one item first.")
    target: int | None = user.id
    if action == "assign":
        target = as_id(assignee)
        if target is None:
            raise FieldError("assignee", "must be a person's id.")
    now = state(request).clock()
    done = skipped = 0
    for item_id in item_ids:
        try:
            with session.begin_nested():
                _bulk_one(session, item_id, action, target, person, now)
        except (ConflictError, NotFoundError, PermissionDeniedError):
            skipped += 1
        else:
            done += 1
    if not back.startswith("/inbox") or back.startswith("/inbox/"):
        back = "/inbox"
    parts = urlsplit(back)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("done", "skipped")]
    query += [("done", str(done)), ("skipped", str(skipped))]
    return RedirectResponse(f"/inbox?{urlencode(query)}", status_code=303)


LOOKBACK_IDS = 500
"""How far below the highest sent id a stream still looks for items committed late.

With several pipeline workers, an item can commit after one with a higher id; a stream that
only asked for ``id > last`` would miss it.
"""


@dataclass
class LiveCursor:
    """What one stream has sent: the highest item id and the ids near it."""

    high: int
    seen: set[int] | None = None  # None until the first poll records what the page showed


def _poll(
    web: WebState, flt: InboxFilter, cursor: LiveCursor, with_count: bool, sort: str
) -> tuple[list[tuple[int, str]], int | None]:
    with read_transaction(web.read_sessions) as session:
        low = max(cursor.high - LOOKBACK_IDS, 0)
        ids = repository.matching_ids_above(session, flt, low, limit=LOOKBACK_IDS + ROWS_PER_TICK)
        if cursor.seen is None:  # what the page was rendered with counts as shown
            cursor.seen = {item_id for item_id in ids if item_id <= cursor.high}
        fresh = [item_id for item_id in ids if item_id not in cursor.seen][:ROWS_PER_TICK]
        found = repository.items_by_ids(session, fresh)
        rooms = repository.open_room_ids(session) if found else frozenset()
        rows = [
            (
                item.id,
                web.templates.render(
                    "_row.html", item=item, live=True, **row_context(web, [], sort, rooms)
                ),
            )
            for item in found
        ]
        count = (
            repository.count_items(session, flt, up_to=COUNT_LIMIT) if with_count or rows else None
        )
    for item_id, _ in rows:
        cursor.seen.add(item_id)
        cursor.high = max(cursor.high, item_id)
    cursor.seen = {item_id for item_id in cursor.seen if item_id > cursor.high - LOOKBACK_IDS}
    return rows, count


async def live_events(
    web: WebState, flt: InboxFilter, after: int, sort: str = DEFAULT_SORT
) -> AsyncIterator[ServerSentEvent]:
    """New matching items as rendered rows (event ``item``) and the count (event ``count``).

    Polls every ``POLL_SECONDS`` (at most ``ROWS_PER_TICK`` rows per poll) and ends as soon as
    the app or its server shuts down.
    """
    cursor = LiveCursor(high=after)
    last_count: int | None = None
    tick = 0
    web.open_streams += 1
    try:
        while not web.shutting_down():
            rows, count = await run_in_threadpool(_poll, web, flt, cursor, tick % 10 == 0, sort)
            for item_id, html in rows:
                yield ServerSentEvent(data=html, event="item", id=str(item_id))
            if count is not None and count != last_count:
                last_count = count
                yield ServerSentEvent(data=count_label(count), event="count")
            tick += 1
            for _ in range(int(POLL_SECONDS / 0.1)):
                if web.shutting_down():
                    return
                await anyio.sleep(0.1)
    finally:
        web.open_streams -= 1


@router.get("/inbox/stream", dependencies=[allow(Action.VIEW)])
def stream(
    request: Request,
    view: View,
    after: Annotated[Position, Query()] = 0,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """Server-sent events: rows of new items matching the filters, after item ``after``.

    A reconnecting EventSource sends the last id it saw; one that is not an id is ignored.
    """
    last_seen = as_id(last_event_id, minimum=0)
    if last_seen is not None:
        after = max(after, last_seen)
    return EventSourceResponse(
        live_events(state(request), view.filter, after, view.sort),
        ping=15,
        headers={"Cache-Control": "no-store"},
    )
