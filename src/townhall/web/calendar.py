"""The Calendar page: one plan for everyone, as a week, a month or a list, filtered and
coloured; moving a post by drag and drop or with the keyboard; new posts from a day slot.

Times are shown in the viewer's zone (or the company's, on request) and typed in the zone the
page shows. The three views read the same ``calendar.entries`` for their period, so they show
exactly the same entries. Colours come from a stylesheet this module writes from the policy
(the Content-Security-Policy allows no inline styles).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.errors import (
    CapBlockedError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)
from townhall.models import Campaign, OutboxKind, OutboxPost, OutboxStatus, User
from townhall.org.permissions import Action
from townhall.org.policy import Policy
from townhall.publishing import approvals, calendar, drafts, localtime, schedule
from townhall.publishing.calendar import Entry, EntryKind, Filters
from townhall.web.access import PermitDep, allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.params import FieldError, as_id

router = APIRouter(prefix="/calendar")
csrf = [Depends(require_csrf)]

VIEWS = ("week", "month", "list")
SPANS = ("day", "week", "month")
COLOURINGS = {"department": "Department", "campaign": "Campaign", "category": "Category"}
FIRST_HOUR, LAST_HOUR = 7, 21
"""The hour rows a week shows (local); entries outside sit in the earlier and later bands."""

PALETTE = (
    "#1d4ed8",
    "#b45309",
    "#047857",
    "#7c3aed",
    "#be123c",
    "#0e7490",
    "#4d7c0f",
    "#a21caf",
    "#c2410c",
    "#334155",
    "#15803d",
    "#9f1239",
)
"""Stable entry colours: a department's by its place in the policy, a campaign's by its id."""
NEUTRAL = "#e5e7eb"
"""The colour of an entry with no campaign or category when colouring by those."""

OTHER_STATUSES = {
    "planned": "planned",
    "done": "done",
    "shift": "takeover shift",
}
KIND_BADGES = {
    EntryKind.PLANNED: "",  # the entry's detail says which: e-mail send or search content
    EntryKind.PLAN_STEP: "Plan step",
    EntryKind.TAKEOVER: "Takeover",
}
_CSS_ID = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


# -- colours -------------------------------------------------------------------------------
def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def ink_for(background: str) -> str:
    """The text colour (near-black or white) that reads best on ``background``."""
    dark, white = "#111827", "#ffffff"
    return dark if contrast(background, dark) >= contrast(background, white) else white


def colours_css(policy: Policy) -> str:
    """The stylesheet of entry colours: the palette and the policy's category colours."""
    rules = [
        f".cal-p{i} {{ --cal-bg: {c}; --cal-ink: {ink_for(c)}; }}" for i, c in enumerate(PALETTE)
    ]
    rules.append(f".cal-none {{ --cal-bg: {NEUTRAL}; --cal-ink: {ink_for(NEUTRAL)}; }}")
    for index, category in enumerate(policy.planning.categories):
        if not _CSS_ID.fullmatch(category.id):
            continue
        colour = category.colour or PALETTE[index % len(PALETTE)]
        rules.append(
            f".cal-cat-{category.id} {{ --cal-bg: {colour}; --cal-ink: {ink_for(colour)}; }}"
        )
    return "\n".join(rules) + "\n"


# -- what the page asks for ------------------------------------------------------------------
@dataclass(frozen=True)
class Ask:
    """The page's query: view, day, filters, colouring and whose zone."""

    view: str
    day: date
    span: str
    filters: Filters
    colour: str
    company_zone: bool

    def query(self, **changes: object) -> str:
        """The query string of this page, with ``changes`` (``None`` drops a key)."""
        pairs: list[tuple[str, str]] = [
            ("view", self.view),
            ("date", self.day.isoformat()),
        ]
        if self.view == "list":
            pairs.append(("span", self.span))
        pairs += [("channel", c) for c in sorted(self.filters.channels)]
        pairs += [("department", d) for d in sorted(self.filters.departments)]
        pairs += [("campaign", str(c)) for c in sorted(self.filters.campaigns)]
        pairs += [("status", s) for s in sorted(self.filters.statuses)]
        pairs.append(("colour", self.colour))
        if self.company_zone:
            pairs.append(("zone", "company"))
        kept = [(k, v) for k, v in pairs if k not in changes]
        kept += [(k, str(v)) for k, v in changes.items() if v is not None]
        return urlencode(kept)


def _parse_day(field: str, value: str) -> date:
    try:
        return localtime.parse_day(value)
    except ValueError as exc:
        raise FieldError(field, f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None


def ask_of(params: Sequence[tuple[str, str]], today: date) -> Ask:
    """The page's query read from ``params`` (unknown values are a 422 naming the field)."""
    values: dict[str, list[str]] = {}
    for key, value in params:
        values.setdefault(key, []).append(value)

    def one(key: str, default: str, allowed: Sequence[str]) -> str:
        value = (values.get(key) or [default])[-1] or default
        if value not in allowed:
            raise FieldError(key, f"must be one of {', '.join(allowed)}.")
        return value

    view = one("view", "week", VIEWS)
    span = one("span", "week", SPANS)
    colour = one("colour", "department", tuple(COLOURINGS))
    zone = one("zone", "mine", ("mine", "company"))
    raw_day = (values.get("date") or [""])[-1]
    day = _parse_day("date", raw_day) if raw_day else today
    campaigns: set[int] = set()
    for value in values.get("campaign", []):
        number = as_id(value)
        if number is None:
            raise FieldError("campaign", "must be a campaign's number.")
        campaigns.add(number)
    filters = Filters(
        channels=frozenset(v for v in values.get("channel", []) if v),
        departments=frozenset(v for v in values.get("department", []) if v),
        campaigns=frozenset(campaigns),
        statuses=frozenset(v for v in values.get("status", []) if v),
    )
    return Ask(view, day, span, filters, colour, zone == "company")


def period(ask: Ask) -> tuple[date, date]:
    """The first and last day (inclusive) a view shows."""
    kind = ask.span if ask.view == "list" else ask.view
    if kind == "day":
        return ask.day, ask.day
    if kind == "month":
        return localtime.month_grid(ask.day)
    start = localtime.week_start(ask.day)
    return start, start + timedelta(days=6)


def _step(ask: Ask, forward: bool) -> date:
    kind = ask.span if ask.view == "list" else ask.view
    sign = 1 if forward else -1
    if kind == "day":
        return ask.day + timedelta(days=sign)
    if kind == "week":
        return ask.day + timedelta(days=7 * sign)
    first = ask.day.replace(day=1)
    if forward:
        return (first + timedelta(days=32)).replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


# -- entries as the page shows them --------------------------------------------------------
def day_label(day: date) -> str:
    """'Wed 9 Dec'."""
    return f"{day:%a} {day.day} {day:%b}"


def moment_label(moment: datetime, where: tzinfo) -> str:
    """'Wed 9 Dec 10:00' on the wall clock of ``where``."""
    wall = localtime.local(moment, where)
    return f"{day_label(wall.date())} {wall:%H:%M}"


def _status_label(entry: Entry) -> str:
    if entry.kind is EntryKind.POST:
        return drafts.STATUS_LABELS.get(OutboxStatus(entry.status), entry.status)
    return OTHER_STATUSES.get(entry.status, entry.status)


def _department_name(policy: Policy, department: str) -> str:
    try:
        return policy.department(department).name
    except KeyError:
        return department


def approval_state(session: Session, policy: Policy, post: OutboxPost) -> str:
    """Where a post stands with its approval chain: "waiting for Customer service approvers"."""
    if post.status == OutboxStatus.DRAFT:
        chain = approvals.chain_by_id(policy, post.chain)
        if chain.steps and post.step < len(chain.steps):
            room = approvals.room_of(session, post)
            return "waiting for " + approvals.step_label(policy, chain.steps[post.step], post, room)
        return "waiting for approval"
    if post.status == OutboxStatus.CHANGES:
        return "changes requested"
    if post.chain is None:
        return ""
    if post.status == OutboxStatus.EXPIRED:
        return "never approved"
    return "approved"


@dataclass(frozen=True)
class Shown:
    """One entry as the page draws it."""

    entry: Entry
    day: date
    clock: str
    hour: int
    status: str
    department: str
    campaign: str
    colour: str
    badge: str
    approval: str
    may_move: bool


class Painter:
    """Gives entries their colour class and collects the legend."""

    def __init__(self, policy: Policy, colouring: str, campaigns: Mapping[int, str]) -> None:
        self.policy = policy
        self.colouring = colouring
        self.campaigns = campaigns
        self.legend: dict[str, str] = {}
        self._places = {d: i for i, d in enumerate(policy.department_ids)}

    def paint(self, entry: Entry) -> str:
        """The colour class of ``entry`` (and its legend line)."""
        if self.colouring == "campaign":
            if entry.campaign_id is None:
                name, css = "No campaign", "cal-none"
            else:
                name = self.campaigns.get(entry.campaign_id, f"Campaign {entry.campaign_id}")
                css = f"cal-p{entry.campaign_id % len(PALETTE)}"
        elif self.colouring == "category":
            category = self.policy.planning.category(entry.category) if entry.category else None
            if category is None or not _CSS_ID.fullmatch(category.id):
                name, css = "No category", "cal-none"
            else:
                name, css = category.label, f"cal-cat-{category.id}"
        else:
            name = _department_name(self.policy, entry.department)
            css = f"cal-p{self._places.get(entry.department, len(PALETTE) - 1) % len(PALETTE)}"
        self.legend.setdefault(name, css)
        return css


def _may_move(policy: Policy, user: User, entry: Entry, post: OutboxPost | None) -> bool:
    return entry.movable and post is not None and schedule.may_move(policy, post, user)


def shown_entries(
    session: Session,
    person: PermitDep,
    entries: Sequence[Entry],
    where: tzinfo,
    painter: Painter,
    first: date,
) -> list[Shown]:
    """The entries as the page draws them, in time order (a shift that began before the
    period sits on its first day)."""
    policy, user = person.policy, person.user
    shown = []
    for entry in entries:
        wall = localtime.local(entry.starts_at, where)
        post = session.get(OutboxPost, entry.outbox_id) if entry.outbox_id else None
        campaign = painter.campaigns.get(entry.campaign_id, "") if entry.campaign_id else ""
        badge = KIND_BADGES.get(entry.kind, "")
        if entry.kind is EntryKind.PLANNED:
            badge = entry.detail
        shown.append(
            Shown(
                entry=entry,
                day=max(wall.date(), first),
                clock=wall.strftime("%H:%M") if wall.date() >= first else "ongoing",
                hour=wall.hour if wall.date() >= first else -1,
                status=_status_label(entry),
                department=_department_name(policy, entry.department),
                campaign=campaign,
                colour=painter.paint(entry),
                badge=badge,
                approval=approval_state(session, policy, post) if post is not None else "",
                may_move=_may_move(policy, user, entry, post),
            )
        )
    return shown


def _hour_rows(day_entries: Sequence[Shown]) -> dict[str, Any]:
    earlier = [s for s in day_entries if s.hour < FIRST_HOUR]
    later = [s for s in day_entries if s.hour > LAST_HOUR]
    hours = {h: [s for s in day_entries if s.hour == h] for h in range(FIRST_HOUR, LAST_HOUR + 1)}
    return {"earlier": earlier, "hours": hours, "later": later}


def page_context(
    request: Request, session: Session, user: User, person: PermitDep, ask: Ask
) -> dict[str, Any]:
    """Everything calendar.html needs for ``ask``."""
    web = state(request)
    policy = web.policy
    mine = policy.person_timezone(user.email)
    zone_name = policy.timezone if ask.company_zone else mine
    where = localtime.zone(zone_name)
    first, last = period(ask)
    start = localtime.day_bounds(first, where)[0]
    end = localtime.day_bounds(last, where)[1]
    found = calendar.entries(session, policy, start, end, ask.filters)
    campaign_rows = list(session.scalars(select(Campaign).order_by(Campaign.starts_at)))
    names = {c.id: c.name for c in campaign_rows}
    painter = Painter(policy, ask.colour, names)
    shown = shown_entries(session, person, found, where, painter, first)
    by_day: dict[date, list[Shown]] = {}
    for item in shown:
        by_day.setdefault(item.day, []).append(item)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    today = localtime.local(web.clock(), where).date()
    channel = next(iter(ask.filters.channels)) if len(ask.filters.channels) == 1 else ""
    statuses = [(str(s), drafts.STATUS_LABELS[s]) for s in calendar.SHOWN]
    statuses += list(OTHER_STATUSES.items())
    return {
        "user": user,
        "department_name": web.department_name,
        "ask": ask,
        "days": days,
        "by_day": by_day,
        "week_rows": {d: _hour_rows(by_day.get(d, [])) for d in days} if ask.view == "week" else {},
        "hours": range(FIRST_HOUR, LAST_HOUR + 1),
        "entries": shown,
        "today": today,
        "zone_name": zone_name,
        "my_zone": mine,
        "company_zone": policy.timezone,
        "title": _title(ask, first, last),
        "prev_query": ask.query(date=_step(ask, False).isoformat()),
        "next_query": ask.query(date=_step(ask, True).isoformat()),
        "today_query": ask.query(date=today.isoformat()),
        "back": ask.query(),
        "legend": sorted(painter.legend.items()),
        "channels": [c.id for c in policy.channels],
        "departments": web.departments(),
        "campaigns": campaign_rows,
        "statuses": statuses,
        "colourings": COLOURINGS,
        "slot_channel": channel,
        "day_label": day_label,
        "notice": "",
        "problem": "",
        "offer": None,
    }


def _title(ask: Ask, first: date, last: date) -> str:
    if (ask.span if ask.view == "list" else ask.view) == "month":
        return f"{ask.day:%B %Y}"
    if first == last:
        return f"{first:%A} {first.day} {first:%B %Y}"
    return f"{day_label(first)} – {day_label(last)} {last:%Y}"


def _render(request: Request, context: dict[str, Any], status_code: int = 200) -> Response:
    web = state(request)
    return web.templates.TemplateResponse(
        request, "calendar.html", context, status_code=status_code
    )


@router.get("", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def calendar_page(
    request: Request, session: DbSession, user: CurrentUser, person: PermitDep
) -> Response:
    """The calendar: ``view`` week, month or list of the period around ``date``, filtered."""
    web = state(request)
    where = localtime.zone(web.policy.person_timezone(user.email))
    today = localtime.local(web.clock(), where).date()
    ask = ask_of(list(request.query_params.multi_items()), today)
    if ask.company_zone:
        today = localtime.local(web.clock(), localtime.zone(web.policy.timezone)).date()
        if "date" not in request.query_params:
            ask = Ask(ask.view, today, ask.span, ask.filters, ask.colour, True)
    return _render(request, page_context(request, session, user, person, ask))


@router.get("/colours.css", dependencies=[allow(Action.VIEW)])
def colours(request: Request) -> Response:
    """The entries' colours, from the palette and the policy's categories."""
    return Response(colours_css(state(request).policy), media_type="text/css")


def _target(post: OutboxPost, day: date, clock: str, where: tzinfo) -> datetime:
    if clock.strip():
        match = _CLOCK.fullmatch(clock.strip())
        if match is None:
            raise FieldError("time", f"Not a time: {clock!r} (expected HH:MM).")
        return localtime.at_local(day, time(int(match[1]), int(match[2])), where)
    current = post.scheduled_at
    if current is None:
        raise FieldError("time", "This post has no time yet: choose one.")
    return localtime.move_to_day(current, day, where)


def _moved_notice(
    session: Session, policy: Policy, result: schedule.Rescheduled, where: tzinfo
) -> str:
    post = result.post
    assert post.scheduled_at is not None
    words = f"Moved to {moment_label(post.scheduled_at, where)}"
    if result.reapproval:
        words += "; it goes back to " + approval_state(session, policy, post).removeprefix(
            "waiting for "
        )
    words += "."
    for warning in result.warnings:
        words += f" Note: {warning.get('why', '')}"
    return words


@router.post("/move", response_class=HTMLResponse, dependencies=[*csrf, allow(Action.VIEW)])
def move(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    person: PermitDep,
    outbox_id: Annotated[str, Form(max_length=20)],
    date: Annotated[str, Form(max_length=20)],
    time: Annotated[str, Form(max_length=8)] = "",
    back: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Move a post to ``date`` (keeping its local time) or to ``date`` at ``time``, in the
    zone the page shows; the calendar comes back with what happened."""
    web = state(request)
    policy = web.policy
    mine = localtime.zone(policy.person_timezone(user.email))
    ask = ask_of(parse_qsl(back), localtime.local(web.clock(), mine).date())
    where = localtime.zone(policy.timezone) if ask.company_zone else mine
    number = as_id(outbox_id)
    if number is None:
        raise FieldError("outbox_id", "must be a post's number.")
    day = _parse_day("date", date)
    post = session.get(OutboxPost, number)
    status, notice, problem, offer = 200, "", "", None
    try:
        if post is None or post.kind not in (OutboxKind.POST, OutboxKind.TAKEOVER):
            raise NotFoundError(f"There is no post #{number} on the calendar.")
        at = _target(post, day, time, where)
        result = schedule.reschedule(session, policy, post, at, user, web.clock())
        notice = _moved_notice(session, policy, result, where)
    except CapBlockedError as blocked:
        session.rollback()
        status, problem = blocked.status_code, blocked.message
        if blocked.next_free is not None:
            wall = localtime.local(blocked.next_free, where)
            offer = {
                "outbox_id": number,
                "date": wall.date().isoformat(),
                "time": wall.strftime("%H:%M"),
                "label": moment_label(blocked.next_free, where),
            }
    except (ConflictError, InputError, NotFoundError, PermissionDeniedError) as refused:
        session.rollback()
        status, problem = refused.status_code, refused.message
    context = page_context(request, session, user, person, ask)
    context.update(notice=notice, problem=problem, offer=offer)
    return _render(request, context, status)
