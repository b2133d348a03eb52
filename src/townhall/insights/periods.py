"""Date ranges for the dashboards: days in a zone, the period before, and day or week buckets.

A period is a run of whole days on a zone's wall calendar (``first`` to ``last``, both
included). Its bounds in UTC follow the zone, so a day is 23 or 25 hours long when the clocks
change. Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from townhall.publishing.localtime import day_bounds, week_start

PRESETS = (7, 30, 90)
"""The lengths (days) the page offers as one-click ranges."""

MAX_DAYS = 366
"""The longest range the dashboards accept (days)."""


class Grain(StrEnum):
    """How a chart's time axis is cut."""

    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True)
class Period:
    """Whole days ``first``..``last`` (both included) on the wall calendar of ``where``."""

    first: date
    last: date
    where: tzinfo

    @property
    def days(self) -> int:
        """How many days the period has."""
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        """The UTC instant the first day starts."""
        return day_bounds(self.first, self.where)[0]

    @property
    def end(self) -> datetime:
        """The UTC instant after the last day ends (exclusive)."""
        return day_bounds(self.last, self.where)[1]

    def previous(self) -> Period:
        """The period of equal length that ends the day before this one starts."""
        last = self.first - timedelta(days=1)
        return Period(last - timedelta(days=self.days - 1), last, self.where)

    def buckets(self, grain: Grain = Grain.DAY) -> list[Bucket]:
        """The period cut in days, or in Monday-to-Sunday weeks (the first and last week
        clipped to the period)."""
        if grain is Grain.DAY:
            return [self._bucket(d, d) for d in _days(self.first, self.last)]
        out: list[Bucket] = []
        monday = week_start(self.first)
        while monday <= self.last:
            out.append(self._bucket(max(monday, self.first), min(monday + timedelta(6), self.last)))
            monday += timedelta(days=7)
        return out

    def _bucket(self, first: date, last: date) -> Bucket:
        return Bucket(
            first, last, day_bounds(first, self.where)[0], day_bounds(last, self.where)[1]
        )


@dataclass(frozen=True)
class Bucket:
    """One slice of a period: days ``first``..``last`` and their UTC bounds (end exclusive)."""

    first: date
    last: date
    start: datetime
    end: datetime


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def last_days(today: date, days: int, where: tzinfo) -> Period:
    """The ``days`` days up to and including ``today``."""
    return Period(today - timedelta(days=days - 1), today, where)


def choose(
    today: date, where: tzinfo, first: date | None, last: date | None, days: int = PRESETS[0]
) -> Period:
    """The period a person asked for: ``first``..``last`` when given (swapped when reversed,
    clipped to ``MAX_DAYS``), else the last ``days`` days to ``today``."""
    if first is None and last is None:
        return last_days(today, days, where)
    last = last or today
    first = first or last - timedelta(days=days - 1)
    if first > last:
        first, last = last, first
    if (last - first).days + 1 > MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    return Period(first, last, where)


def grain_for(period: Period) -> Grain:
    """Days for up to 92 days, weeks beyond (a chart of 300 bars reads as noise)."""
    return Grain.DAY if period.days <= 92 else Grain.WEEK


def change(current: float, before: float) -> float | None:
    """The relative change from ``before`` to ``current`` (0.18 for +18%), or None when there
    was nothing before to compare with."""
    if before == 0:
        return None
    return (current - before) / before
