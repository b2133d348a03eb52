"""A department's weekly digest: its figures for one ISO week, each next to the week before.

A week is Monday 00:00 to the next Monday 00:00 on the department's wall clock (its zone, else
the company's). The figures come from ``townhall.insights.figures``; items belong to the
department they are in now. ``render`` turns a ``Digest`` into text, HTML and an e-mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townhall.errors import InputError
from townhall.insights.figures import (
    BreachLine,
    CardLine,
    CrisisFigures,
    CrisisLine,
    ItemFigures,
    cards_published,
    crises_during,
    crisis_figures,
    item_figures,
    worst_breaches,
)
from townhall.insights.objective_report import ObjectiveLine, digest_lines
from townhall.models import Item
from townhall.org.policy import Policy
from townhall.publishing import localtime
from townhall.publishing.calendar import Entry, Filters, entries

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


# -- ISO weeks ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IsoWeek:
    """One ISO week (``2026-W47``)."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2026-W47`` as a week; ``InputError`` when it is not one."""
        match = WEEK_PATTERN.match(text.strip())
        if match is None:
            raise InputError(f"not an ISO week: {text!r} (e.g. 2026-W47)")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise InputError(f"{year} has no week {week}") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        """The ISO week ``day`` is in."""
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @property
    def monday(self) -> date:
        """Its first day."""
        return date.fromisocalendar(self.year, self.week, 1)

    def shifted(self, weeks: int) -> IsoWeek:
        """The week ``weeks`` later (earlier when negative)."""
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    def bounds(self, zone_name: str) -> tuple[datetime, datetime]:
        """Its UTC start and end (exclusive): Monday 00:00 to the next Monday in that zone."""
        where = localtime.zone(zone_name)
        start = localtime.at_local(self.monday, time(0), where)
        return start, localtime.at_local(self.monday + timedelta(weeks=1), time(0), where)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


def last_complete_week(now: datetime, zone_name: str) -> IsoWeek:
    """The last ISO week that has ended at ``now`` on that zone's wall clock."""
    today = localtime.local(now, localtime.zone(zone_name)).date()
    return IsoWeek.of(today).shifted(-1)


# -- the digest -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Digest:
    """Everything a department's weekly digest says."""

    company: str
    department: str
    department_name: str
    week: IsoWeek
    zone: str
    start: datetime
    end: datetime
    items: ItemFigures
    items_before: ItemFigures
    """The same figures for the week before."""
    open_now: int
    crises: CrisisFigures
    crises_before: CrisisFigures
    crisis_rooms: list[CrisisLine]
    breaches: list[BreachLine]
    coming_up: list[Entry]
    """The department's calendar for the week after."""
    cards: list[CardLine]
    cards_before: int
    generated_at: datetime
    objectives: list[ObjectiveLine] = field(default_factory=list)
    """The key results of the objectives it owns or counts in, at the week's end."""

    @property
    def subject(self) -> str:
        """The e-mail subject: "ACME weekly digest: Public relations, week 47"."""
        return f"{self.company} weekly digest: {self.department_name}, week {self.week.week}"


def open_items(session: Session, department: str) -> int:
    """The department's items not done now."""
    count = session.scalar(
        select(func.count(Item.id)).where(Item.department == department, Item.resolved_at.is_(None))
    )
    return int(count or 0)


def build_digest(
    session: Session, policy: Policy, department: str, week: IsoWeek, now: datetime
) -> Digest:
    """The digest of ``department`` for ``week`` (``KeyError`` for an unknown department)."""
    name = policy.department(department).name
    zone = policy.department_timezone(department)
    start, end = week.bounds(zone)
    before_start, _ = week.shifted(-1).bounds(zone)
    _, next_end = week.shifted(1).bounds(zone)
    rooms = crises_during(session, before_start, end, department)
    this_week = [r for r in rooms if r.resolved_at is None or r.resolved_at >= start]
    calendar = entries(session, policy, end, next_end, Filters(departments=frozenset({department})))
    return Digest(
        company=policy.brand.name,
        department=department,
        department_name=name,
        week=week,
        zone=zone,
        start=start,
        end=end,
        items=item_figures(session, start, end, now, department),
        items_before=item_figures(session, before_start, start, now, department),
        open_now=open_items(session, department),
        crises=crisis_figures(rooms, start, end),
        crises_before=crisis_figures(rooms, before_start, start),
        crisis_rooms=this_week,
        breaches=worst_breaches(session, start, end, now, department),
        coming_up=calendar,
        cards=cards_published(session, start, end, department),
        cards_before=len(cards_published(session, before_start, start, department)),
        generated_at=now,
        objectives=digest_lines(
            session, policy, department, min(now, end - timedelta(microseconds=1))
        ),
    )
