"""The agenda of the cross-team social meeting, generated from a period: the numbers, open
crises, breached SLAs by department, the cards teams shared and what was done with them, the
next seven days of the calendar and the next step of every open communication plan.

Company-wide: the numbers are counts that reveal no item, a crisis appears by its title, lead
and risk (as on the crises list everyone sees), the calendar is the shared plan everyone sees.
``render.agenda_markdown`` writes it as Markdown; the /agenda page renders the same ``Agenda``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townhall.errors import InputError
from townhall.insights.figures import (
    CardLine,
    CrisisLine,
    ItemFigures,
    aware,
    card_line,
    cards_published,
    crises_during,
    item_figures,
    still_open,
)
from townhall.models import (
    CardReceipt,
    CardStatus,
    CommunicationPlan,
    InsightCard,
    PlanStatus,
    PostRecord,
    SlaBreach,
)
from townhall.org.policy import Policy
from townhall.publishing import localtime
from townhall.publishing.calendar import Entry, entries

AHEAD = timedelta(days=7)
"""How far ahead the agenda reads the calendar."""
SINCE_PATTERN = re.compile(r"^(\d{1,4})([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_since(text: str) -> timedelta:
    """``7d``, ``36h`` or ``2w`` as a duration; ``InputError`` otherwise (at most a year)."""
    match = SINCE_PATTERN.match(text.strip().lower())
    if match is None:
        raise InputError(f"not a period: {text!r} (e.g. 7d, 36h, 2w)")
    span = int(match.group(1)) * _UNITS[match.group(2)]
    if span <= timedelta(0) or span > timedelta(days=366):
        raise InputError(f"the period must be between 1 hour and a year (got {text!r})")
    return span


def until_of(day: date, zone_name: str) -> datetime:
    """The end of ``day`` (the next midnight) in that zone, in UTC: ``--until`` is inclusive."""
    return localtime.at_local(day + timedelta(days=1), time(0), localtime.zone(zone_name))


def period_start(end: datetime, span: timedelta, zone_name: str) -> datetime:
    """``span`` before ``end`` on the zone's wall clock (14 days back across a clock change
    still starts at the same time of day), in UTC."""
    wall = localtime.local(end, localtime.zone(zone_name)) - span
    return localtime.at_local(wall.date(), wall.time(), localtime.zone(zone_name))


@dataclass(frozen=True)
class Receipt:
    """What one person did with a card."""

    who: str
    department: str
    action: str
    acted_at: datetime


@dataclass(frozen=True)
class SharedCard:
    """A card shared in the period, how many saw it and what was done with it."""

    card: CardLine
    seen: int
    acted: list[Receipt]


@dataclass(frozen=True)
class NextStep:
    """The next step of an open communication plan."""

    plan_id: int
    plan_name: str
    title: str
    owner_department: str
    due_at: datetime


@dataclass(frozen=True)
class Agenda:
    """Everything the meeting's agenda says."""

    company: str
    zone: str
    start: datetime
    end: datetime
    posts: int
    post_sentiment: dict[str, int]
    items: ItemFigures
    crises: list[CrisisLine]
    breaches: list[tuple[str, int]]
    """(department id, SLA clocks that ran out), most first."""
    cards: list[SharedCard]
    coming_up: list[tuple[date, list[Entry]]]
    """The next seven days from ``end``, by local day (days with nothing are left out)."""
    next_steps: list[NextStep]


def _posts(session: Session, start: datetime, end: datetime) -> tuple[int, dict[str, int]]:
    label = func.coalesce(PostRecord.sentiment_label, "unknown")
    rows = session.execute(
        select(label, func.count(PostRecord.id))
        .where(PostRecord.created_at >= start, PostRecord.created_at < end)
        .group_by(label)
    )
    mix = {str(k): int(n) for k, n in rows}
    return sum(mix.values()), mix


def breaches_by_department(
    session: Session, start: datetime, end: datetime
) -> list[tuple[str, int]]:
    """SLA clocks that ran out in ``[start, end)`` per department, most first."""
    count = func.count(SlaBreach.id)
    rows = session.execute(
        select(SlaBreach.department, count)
        .where(SlaBreach.breached_at >= start, SlaBreach.breached_at < end)
        .group_by(SlaBreach.department)
    )
    return sorted(((str(d), int(n)) for d, n in rows), key=lambda r: (-r[1], r[0]))


def shared_cards(session: Session, start: datetime, end: datetime) -> list[SharedCard]:
    """Cards published in the period, and older ones someone acted on in it, with receipts."""
    cards = cards_published(session, start, end)
    known = {c.id for c in cards}
    acted_on = session.scalars(
        select(CardReceipt.card_id)
        .join(InsightCard, InsightCard.id == CardReceipt.card_id)
        .where(
            CardReceipt.acted_at >= start,
            CardReceipt.acted_at < end,
            InsightCard.status == CardStatus.PUBLISHED,
        )
        .distinct()
    )
    older = set(acted_on) - known
    if older:
        cards += cards_published_by_id(session, older)
    if not cards:
        return []
    ids = [c.id for c in cards]
    rows = session.execute(
        select(CardReceipt.card_id, func.count(CardReceipt.id))
        .where(CardReceipt.card_id.in_(ids))
        .group_by(CardReceipt.card_id)
    )
    seen = {int(card_id): int(count) for card_id, count in rows}
    acted: dict[int, list[Receipt]] = defaultdict(list)
    receipts = session.scalars(
        select(CardReceipt)
        .where(CardReceipt.card_id.in_(ids), CardReceipt.acted_at.is_not(None))
        .order_by(CardReceipt.acted_at, CardReceipt.id)
    )
    for r in receipts:
        assert r.acted_at is not None
        acted[r.card_id].append(
            Receipt(r.user.name, r.user.department, r.action, aware(r.acted_at))
        )
    return [SharedCard(c, int(seen.get(c.id, 0)), acted[c.id]) for c in cards]


def cards_published_by_id(session: Session, ids: set[int]) -> list[CardLine]:
    """These cards, oldest published first."""
    rows = session.scalars(
        select(InsightCard)
        .where(InsightCard.id.in_(ids))
        .order_by(InsightCard.published_at, InsightCard.id)
    )
    return [card_line(card) for card in rows]


def next_steps(session: Session) -> list[NextStep]:
    """The first step not done of every open communication plan, soonest due first."""
    plans = session.scalars(
        select(CommunicationPlan).where(CommunicationPlan.status == PlanStatus.OPEN)
    )
    found = []
    for plan in plans:
        todo = [s for s in plan.steps if s.done_at is None]
        if not todo:
            continue
        step = min(todo, key=lambda s: (aware(s.due_at), s.position))
        found.append(
            NextStep(plan.id, plan.name, step.title, step.owner_department, aware(step.due_at))
        )
    return sorted(found, key=lambda s: (s.due_at, s.plan_id))


def by_day(found: list[Entry], zone_name: str) -> list[tuple[date, list[Entry]]]:
    """Calendar entries grouped by their local day, in order."""
    where = localtime.zone(zone_name)
    days: dict[date, list[Entry]] = defaultdict(list)
    for entry in found:
        days[localtime.local(aware(entry.starts_at), where).date()].append(entry)
    return sorted(days.items())


def build_agenda(
    session: Session, policy: Policy, start: datetime, end: datetime, now: datetime
) -> Agenda:
    """The agenda for ``[start, end)``; the calendar is read for the seven days from ``end``."""
    if start >= end:
        raise InputError("the period is empty: its start is not before its end")
    posts, mix = _posts(session, start, end)
    return Agenda(
        company=policy.brand.name,
        zone=policy.timezone,
        start=start,
        end=end,
        posts=posts,
        post_sentiment=mix,
        items=item_figures(session, start, end, now),
        crises=[r for r in crises_during(session, start, end) if still_open(r)],
        breaches=breaches_by_department(session, start, end),
        cards=shared_cards(session, start, end),
        coming_up=by_day(entries(session, policy, end, end + AHEAD), policy.timezone),
        next_steps=next_steps(session),
    )
