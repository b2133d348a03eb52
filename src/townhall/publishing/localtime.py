"""Wall-clock time done right: a post planned for 09:00 Europe/London is at 09:00 in London
whatever the offset is that day, and moving it to another day keeps 09:00 local.

Times are stored in UTC; these helpers go between a zone's wall clock and UTC. A wall time
that does not exist (the hour skipped when clocks go forward) moves forward by the gap; one
that happens twice (clocks go back) means its first occurrence.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

EARLIEST = date(1970, 1, 1)
LATEST = date(9998, 12, 31)
"""The days a date typed by a person may name: far enough from ``date.min`` and ``date.max``
that a week, a month or a zone offset around it is still a date."""
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` as a date between ``EARLIEST`` and ``LATEST``; ``ValueError`` with a
    sentence a person can read otherwise."""
    value = text.strip()
    try:
        day = date.fromisoformat(value) if _DAY.fullmatch(value) else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError(f"not a date: {text[:32]!r} (expected YYYY-MM-DD)")
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"{day.isoformat()} is out of range ({EARLIEST.year} to {LATEST.year})")
    return day


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (the policy has validated it)."""
    return ZoneInfo(name)


def at_local(day: date, clock: time, where: tzinfo) -> datetime:
    """The UTC instant of ``clock`` on ``day`` in ``where``: a skipped wall time moves forward
    by the gap, a repeated one means its first occurrence."""
    # PEP 495: with fold=0 a skipped wall time takes the offset before the gap (so it lands
    # the gap later on the wall clock) and a repeated one its first occurrence.
    wall = datetime.combine(day, clock.replace(tzinfo=None), tzinfo=where).replace(fold=0)
    return wall.astimezone(UTC)


def local(moment: datetime, where: tzinfo) -> datetime:
    """``moment`` (aware) on the wall clock of ``where``."""
    return moment.astimezone(where)


def move_to_day(moment: datetime, day: date, where: tzinfo) -> datetime:
    """``moment`` moved to ``day`` keeping its wall-clock time in ``where`` (in UTC)."""
    return at_local(day, local(moment, where).time(), where)


def day_bounds(day: date, where: tzinfo) -> tuple[datetime, datetime]:
    """The UTC start and end (exclusive) of ``day`` in ``where`` (23 or 25 hours on the days
    the clocks change)."""
    return at_local(day, time(0), where), at_local(day + timedelta(days=1), time(0), where)


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def month_grid(day: date) -> tuple[date, date]:
    """The first and last day (inclusive) of the Monday-to-Sunday weeks covering ``day``'s
    month, as a month view lays them out."""
    first = day.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    last = next_month - timedelta(days=1)
    return week_start(first), week_start(last) + timedelta(days=6)
