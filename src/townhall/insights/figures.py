"""What one period says, counted in SQL: items (opened, done, open at the end, first-reply
median, first-response SLA compliance, breaches, sentiment of their posts), the SLA breaches
that ran furthest past due, the crisis rooms open in it, the insight cards published in it.

The weekly digest reads them per department, the meeting agenda company-wide. Two reads come
back as rows because they are small by nature and need arithmetic both backends do not share:
the first-reply times of one period's items (for the median), and the period's SLA breaches
(ranked by how far past their due time they ran). Everything else is ``GROUP BY`` and
conditional sums that SQLite and PostgreSQL both run.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from townhall.models import (
    CardStatus,
    CrisisRoom,
    CrisisStatus,
    InsightCard,
    Item,
    PostRecord,
    SlaBreach,
)

WORST_BREACHES = 5
"""How many SLA breaches the digest names (the rest are counted)."""


# -- pure arithmetic ------------------------------------------------------------------------------
def median(values: Iterable[float]) -> float | None:
    """The median of ``values`` (None when there are none)."""
    found = list(values)
    return statistics.median(found) if found else None


def compliance(met: int, due: int) -> float | None:
    """The share (0..1) of SLA clocks met among those decided (None when none were)."""
    return met / due if due else None


def aware(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (rows read back are aware; inputs may not be)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- what one period says -------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemFigures:
    """Items of one department (or all) over one period."""

    new: int = 0
    """Routed to it in the period."""
    done: int = 0
    """Resolved in the period."""
    open_at_end: int = 0
    """Not resolved when the period ended."""
    first_reply_median: float | None = None
    """Seconds from an item's opening to its first reply, for items opened in the period."""
    sla_due: int = 0
    """Items opened in the period whose first-response clock is decided (answered or due)."""
    sla_met: int = 0
    """Of those, answered by the due time."""
    breaches: int = 0
    """SLA clocks (first response or resolution) that ran out in the period."""
    sentiment: dict[str, int] = field(default_factory=dict)
    """The items' posts by sentiment label (``unknown`` for posts not understood)."""

    @property
    def sla_compliance(self) -> float | None:
        """The share (0..1) of first-response SLAs met."""
        return compliance(self.sla_met, self.sla_due)


def item_figures(
    session: Session,
    start: datetime,
    end: datetime,
    now: datetime,
    department: str | None = None,
) -> ItemFigures:
    """The items' figures for ``[start, end)``; ``department`` None counts every department.
    A first-response clock counts once it was answered or its due time is past ``min(end,
    now)``."""
    decided_by = min(end, now)
    mine = [Item.department == department] if department is not None else []
    opened = and_(Item.created_at >= start, Item.created_at < end, *mine)
    answered = Item.first_responded_at.is_not(None)
    has_sla = Item.first_response_due_at.is_not(None)
    row = session.execute(
        select(
            func.count(Item.id),
            func.coalesce(
                func.sum(
                    case((and_(has_sla, or_(answered, Item.first_response_due_at < decided_by)), 1))
                ),
                0,
            ),
            func.coalesce(
                func.sum(
                    case(
                        (
                            and_(
                                has_sla,
                                answered,
                                Item.first_responded_at <= Item.first_response_due_at,
                            ),
                            1,
                        )
                    )
                ),
                0,
            ),
        ).where(opened)
    ).one()
    done = session.scalar(
        select(func.count(Item.id)).where(Item.resolved_at >= start, Item.resolved_at < end, *mine)
    )
    still_open = session.scalar(
        select(func.count(Item.id)).where(
            Item.created_at < end,
            or_(Item.resolved_at.is_(None), Item.resolved_at >= end),
            *mine,
        )
    )
    replies = session.execute(
        select(Item.created_at, Item.first_responded_at).where(opened, answered)
    )
    breach_mine = [SlaBreach.department == department] if department is not None else []
    breaches = session.scalar(
        select(func.count(SlaBreach.id)).where(
            SlaBreach.breached_at >= start, SlaBreach.breached_at < end, *breach_mine
        )
    )
    label = func.coalesce(PostRecord.sentiment_label, "unknown")
    sentiment = session.execute(
        select(label, func.count(Item.id))
        .join(PostRecord, PostRecord.id == Item.post_pk)
        .where(opened)
        .group_by(label)
    )
    return ItemFigures(
        new=int(row[0]),
        done=int(done or 0),
        open_at_end=int(still_open or 0),
        first_reply_median=median(
            max(0.0, (aware(r.first_responded_at) - aware(r.created_at)).total_seconds())
            for r in replies
        ),
        sla_due=int(row[1]),
        sla_met=int(row[2]),
        breaches=int(breaches or 0),
        sentiment={str(k): int(n) for k, n in sentiment},
    )


@dataclass(frozen=True)
class BreachLine:
    """One SLA clock that ran out, with the item it belongs to."""

    item_id: int
    clock: str
    """``first_response`` or ``resolution``."""
    title: str
    """The start of the item's post (attacker controlled: escape it)."""
    author: str
    due_at: datetime
    overrun: float
    """Seconds past the due time until the clock was met (or until the period ended)."""
    met: bool


def worst_breaches(
    session: Session,
    start: datetime,
    end: datetime,
    now: datetime,
    department: str | None = None,
    limit: int = WORST_BREACHES,
) -> list[BreachLine]:
    """The period's SLA breaches that ran furthest past their due time, worst first."""
    until = min(end, now)
    mine = [SlaBreach.department == department] if department is not None else []
    rows = session.execute(
        select(
            SlaBreach.item_id,
            SlaBreach.clock,
            SlaBreach.due_at,
            Item.first_responded_at,
            Item.resolved_at,
            PostRecord.text,
            PostRecord.author_name,
            PostRecord.author_handle,
        )
        .join(Item, Item.id == SlaBreach.item_id)
        .join(PostRecord, PostRecord.id == Item.post_pk)
        .where(SlaBreach.breached_at >= start, SlaBreach.breached_at < end, *mine)
    )
    lines = []
    for row in rows:
        met_at = row.first_responded_at if row.clock == "first_response" else row.resolved_at
        due = aware(row.due_at)
        stop = aware(met_at) if met_at is not None else until
        lines.append(
            BreachLine(
                item_id=row.item_id,
                clock=row.clock,
                title=" ".join((row.text or "").split())[:120],
                author=row.author_name or row.author_handle,
                due_at=due,
                overrun=max(0.0, (stop - due).total_seconds()),
                met=met_at is not None,
            )
        )
    lines.sort(key=lambda b: (-b.overrun, b.item_id, b.clock))
    return lines[:limit]


@dataclass(frozen=True)
class CrisisLine:
    """A crisis room as the digest and the agenda tell it."""

    id: int
    title: str
    status: str
    lead_department: str
    departments: tuple[str, ...]
    risk: float
    opened_at: datetime
    resolved_at: datetime | None


def crises_during(
    session: Session, start: datetime, end: datetime, department: str | None = None
) -> list[CrisisLine]:
    """Crisis rooms open at some time in ``[start, end)`` that ``department`` led or helped
    (every room when None), oldest first."""
    rows = session.scalars(
        select(CrisisRoom)
        .where(
            CrisisRoom.opened_at < end,
            or_(CrisisRoom.resolved_at.is_(None), CrisisRoom.resolved_at >= start),
        )
        .order_by(CrisisRoom.opened_at, CrisisRoom.id)
    )
    found = []
    for room in rows:
        helping = tuple(room.departments or ())
        if department is not None and department not in (room.lead_department, *helping):
            continue
        found.append(
            CrisisLine(
                id=room.id,
                title=room.title,
                status=str(room.status),
                lead_department=room.lead_department,
                departments=helping,
                risk=room.risk,
                opened_at=aware(room.opened_at),
                resolved_at=aware(room.resolved_at) if room.resolved_at else None,
            )
        )
    return found


@dataclass(frozen=True)
class CrisisFigures:
    """How many crisis rooms a period saw open (at its end), opened and resolved."""

    open_at_end: int
    opened: int
    resolved: int


def crisis_figures(rooms: Sequence[CrisisLine], start: datetime, end: datetime) -> CrisisFigures:
    """Count ``rooms`` (those of ``crises_during``) for ``[start, end)``."""
    return CrisisFigures(
        open_at_end=sum(
            1
            for r in rooms
            if r.opened_at < end and (r.resolved_at is None or r.resolved_at >= end)
        ),
        opened=sum(1 for r in rooms if start <= r.opened_at < end),
        resolved=sum(
            1 for r in rooms if r.resolved_at is not None and start <= r.resolved_at < end
        ),
    )


def still_open(room: CrisisLine) -> bool:
    """Whether the room has not been resolved."""
    return room.status != CrisisStatus.RESOLVED


@dataclass(frozen=True)
class CardLine:
    """An insight card published to other teams."""

    id: int
    title: str
    body: str
    from_department: str
    for_departments: tuple[str, ...]
    published_at: datetime
    link: str | None
    figures: tuple[tuple[str, str], ...] = ()


def cards_published(
    session: Session, start: datetime, end: datetime, department: str | None = None
) -> list[CardLine]:
    """Cards published in ``[start, end)`` for ``department`` (every card when None)."""
    rows = session.scalars(
        select(InsightCard)
        .where(
            InsightCard.status == CardStatus.PUBLISHED,
            InsightCard.published_at >= start,
            InsightCard.published_at < end,
        )
        .order_by(InsightCard.published_at, InsightCard.id)
    )
    found = []
    for card in rows:
        line = card_line(card)
        if department is None or department in line.for_departments:
            found.append(line)
    return found


def card_line(card: InsightCard) -> CardLine:
    """A published card as the digest and the agenda tell it."""
    return CardLine(
        id=card.id,
        title=card.title,
        body=card.body,
        from_department=card.from_department,
        for_departments=tuple(card.for_departments or ()),
        published_at=aware(card.published_at or card.created_at),
        link=card.link,
        figures=_figures(card.evidence),
    )


def _figures(evidence: Any) -> tuple[tuple[str, str], ...]:
    figures = evidence.get("figures") if isinstance(evidence, dict) else None
    if not isinstance(figures, list):
        return ()
    return tuple(
        (str(f.get("label", "")), str(f.get("value", ""))) for f in figures if isinstance(f, dict)
    )
