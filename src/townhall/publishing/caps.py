"""Frequency caps over a schedule: which caps a post at a given time would break, and the
first time that breaks no blocking cap (the policy's ``planning.caps``, see
``townhall.org.planning`` and docs/caps.md).

- A cap *counts* a post when its channel is among the cap's ``channels`` (all when empty) and
  its category among the cap's ``categories`` (all when empty). Planned e-mail and search
  entries (no channel) are never counted: they take part only through a gap's ``against``.
- ``scope: channel`` compares a post with the posts of its own channel (a planned entry, on no
  channel, is next to every channel); ``scope: company`` with all of them.
- ``max`` + ``per``: at most ``max`` counted posts in a calendar day or week (Monday to Sunday)
  of the company's zone; a day is midnight to midnight local, 23 or 25 hours when the clocks
  change.
- ``max`` + ``within_hours``: no window of that many hours holds more than ``max`` (two posts
  exactly that far apart are in different windows).
- ``min_gap_hours``: a counted post and one of ``against`` (default: the cap's own categories)
  are at least that far apart (exactly that far is fine).

Pure: no database, no clock, no I/O.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from townhall.org.planning import Cap, CapLevel, CapScope, Period
from townhall.publishing import localtime

LISTED = 5
"""How many clashing entries a reason names before it says "and N more"."""


@dataclass(frozen=True)
class Slot:
    """One entry of the schedule: a post on ``channel`` (None: a planned e-mail send or search
    piece) of ``category`` at ``at`` (UTC)."""

    key: str
    at: datetime
    channel: str | None
    category: str | None


@dataclass(frozen=True)
class Names:
    """How category and channel ids read in a reason (an id missing here reads as itself)."""

    categories: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)

    def category(self, category_id: str | None) -> str:
        """The category's name, or "post" without one."""
        if category_id is None:
            return "post"
        return self.categories.get(category_id, category_id.replace("_", " "))

    def channel(self, channel_id: str) -> str:
        """The channel's name."""
        return self.channels.get(channel_id, channel_id)


@dataclass(frozen=True)
class Breach:
    """A cap the candidate would break: at which level, the entries it clashes with, and why."""

    cap: Cap
    level: CapLevel
    clashes: tuple[Slot, ...]
    why: str

    @property
    def blocks(self) -> bool:
        """Whether this breach refuses the slot."""
        return self.level is CapLevel.BLOCK

    def as_json(self) -> dict[str, object]:
        """The breach as JSON: the cap's id, level, reason and the keys it clashes with."""
        return {
            "cap": self.cap.id,
            "level": str(self.level),
            "why": self.why,
            "with": [slot.key for slot in self.clashes],
        }


# -- who a cap compares -------------------------------------------------------------------


def counts(cap: Cap, slot: Slot) -> bool:
    """Whether the cap counts this entry (a post on one of its channels, of its categories)."""
    if slot.channel is None:
        return False
    if cap.channels and slot.channel not in cap.channels:
        return False
    return not cap.categories or slot.category in cap.categories


def _kept_from(cap: Cap, slot: Slot) -> bool:
    """Whether a gap cap keeps its counted posts away from this entry."""
    if not cap.against:
        return counts(cap, slot)
    return slot.category in cap.against


def _same_group(cap: Cap, a: Slot, b: Slot) -> bool:
    if cap.scope is CapScope.COMPANY or a.channel is None or b.channel is None:
        return True
    return a.channel == b.channel


def _relevant(cap: Cap, schedule: Iterable[Slot], candidate: Slot) -> list[Slot]:
    """The entries the candidate is compared with under ``cap``, in time order."""
    others = [s for s in schedule if s.key != candidate.key and _same_group(cap, s, candidate)]
    if cap.min_gap_hours is not None:
        mine, theirs = counts(cap, candidate), _kept_from(cap, candidate)
        found = [s for s in others if (mine and _kept_from(cap, s)) or (theirs and counts(cap, s))]
    elif counts(cap, candidate):
        found = [s for s in others if counts(cap, s)]
    else:
        found = []
    return sorted(found, key=lambda s: (s.at, s.key))


# -- the three kinds of cap ---------------------------------------------------------------


@dataclass(frozen=True)
class _Clash:
    """Why one cap refuses a time: the entries in the way, and the first time after it that
    this same clash cannot hold (a safe jump for ``next_free``)."""

    slots: tuple[Slot, ...]
    clear_at: datetime


class _Rule:
    """One cap compiled against the rest of the schedule, for one candidate's channel and
    category (its time varies)."""

    def __init__(self, cap: Cap, slots: Sequence[Slot], where: tzinfo) -> None:
        self.cap = cap
        self.slots = slots
        self.times = [s.at for s in slots]
        self.where = where

    def clash(self, at: datetime) -> _Clash | None:
        """The clash at ``at``, or None when the cap holds there."""
        if not self.slots:
            return None
        if self.cap.min_gap_hours is not None:
            return self._gap(at, timedelta(hours=self.cap.min_gap_hours))
        assert self.cap.max is not None
        if self.cap.per is not None:
            return self._period(at, self.cap.max, self.cap.per)
        assert self.cap.within_hours is not None
        return self._window(at, self.cap.max, timedelta(hours=self.cap.within_hours))

    def _between(self, start: datetime, end: datetime) -> tuple[int, int]:
        """Indexes of the entries in ``[start, end)``."""
        return bisect_left(self.times, start), bisect_left(self.times, end)

    def _gap(self, at: datetime, gap: timedelta) -> _Clash | None:
        lo, hi = bisect_right(self.times, at - gap), bisect_left(self.times, at + gap)
        if lo >= hi:
            return None
        near = self.slots[lo:hi]
        # Every time up to the last near entry plus the gap is too close to that entry.
        return _Clash(tuple(near), near[-1].at + gap)

    def _period(self, at: datetime, most: int, per: Period) -> _Clash | None:
        start, end = period_bounds(at, per, self.where)
        lo, hi = self._between(start, end)
        if hi - lo < most:
            return None
        return _Clash(tuple(self.slots[lo:hi]), end)

    def _window(self, at: datetime, most: int, length: timedelta) -> _Clash | None:
        lo, hi = bisect_right(self.times, at - length), bisect_left(self.times, at + length)
        worst: tuple[Slot, ...] = ()
        clear_at = at
        # A window of ``most`` consecutive neighbours that, with the candidate, spans less than
        # ``length`` would hold ``most + 1``.
        for first in range(lo, hi - most + 1):
            run = self.slots[first : first + most]
            span = max(at, run[-1].at) - min(at, run[0].at)
            if span < length:
                worst = worst or tuple(run)
                clear_at = max(clear_at, run[0].at + length)
        return _Clash(worst, clear_at) if worst else None


def period_bounds(at: datetime, per: Period, where: tzinfo) -> tuple[datetime, datetime]:
    """The UTC start and end (exclusive) of the local day or Monday-to-Sunday week holding
    ``at`` in ``where``."""
    day = localtime.local(at, where).date()
    if per is Period.DAY:
        return localtime.day_bounds(day, where)
    monday = localtime.week_start(day)
    return localtime.day_bounds(monday, where)[0], localtime.day_bounds(
        monday + timedelta(days=6), where
    )[1]


# -- reasons ------------------------------------------------------------------------------


def _lower_first(label: str) -> str:
    word = label.split(" ", 1)[0]
    if word[:1].isupper() and word[1:].islower():
        return label[0].lower() + label[1:]
    return label


def _duration(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if not hours and not minutes:
        return "under a minute"
    parts = ([f"{hours} h"] if hours else []) + ([f"{minutes} min"] if minutes else [])
    return " ".join(parts)


def _hours(value: float) -> str:
    return f"{value:g} h"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _day(at: datetime, where: tzinfo) -> str:
    wall = localtime.local(at, where)
    return f"{wall:%a} {wall.day} {wall:%b}"


def _when(at: datetime, where: tzinfo, same_day_as: datetime | None = None) -> str:
    """``Mon 7 Dec 09:00`` in ``where`` (only ``09:00`` on the same local day)."""
    wall = localtime.local(at, where)
    if same_day_as is not None and localtime.local(same_day_as, where).date() == wall.date():
        return f"{wall:%H:%M}"
    return f"{_day(at, where)} {wall:%H:%M}"


def _listing(times: Sequence[str]) -> str:
    shown = list(times[:LISTED])
    if len(times) > LISTED:
        shown.append(f"{len(times) - LISTED} more")
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _what(cap: Cap, names: Names) -> str:
    """What the cap counts, as the subject of a sentence: "Press release posts"."""
    if not cap.categories:
        return "Posts"
    labels = [names.category(c) for c in cap.categories]
    first, *rest = labels
    joined = ", ".join([first, *(_lower_first(x) for x in rest)])
    return f"{joined} posts"


def _where(cap: Cap, candidate: Slot, names: Names) -> str:
    if cap.scope is CapScope.CHANNEL and candidate.channel is not None:
        return f"on {names.channel(candidate.channel)}"
    if cap.channels:
        return "on " + _listing([names.channel(c) for c in cap.channels]) + " together"
    return "across all channels"


def _entry_name(slot: Slot, names: Names) -> str:
    label = _lower_first(names.category(slot.category))
    return label if slot.channel is None or slot.category is None else f"{label} post"


def _why(cap: Cap, candidate: Slot, clash: _Clash, where: tzinfo, names: Names) -> str:
    at = candidate.at
    if cap.min_gap_hours is not None:
        nearest = min(clash.slots, key=lambda s: (abs(s.at - at), s.at, s.key))
        other = f"the {_entry_name(nearest, names)} at {_when(nearest.at, where, at)}"
        apart = f"(at least {_hours(cap.min_gap_hours)} apart)"
        if nearest.at == at:
            return f"At the same time as {other} {apart}"
        side = "after" if nearest.at < at else "before"
        return f"Only {_duration(at - nearest.at)} {side} {other} {apart}"
    assert cap.max is not None
    head = f"{_what(cap, names)} {_where(cap, candidate, names)}"
    nth = _ordinal(len(clash.slots) + 1)
    if cap.per is Period.DAY:
        times = [_when(s.at, where, at) for s in clash.slots]
        return f"{head}: this would be the {nth} on {_day(at, where)} (at most {cap.max}: " + (
            f"{_listing(times)})"
        )
    if cap.per is Period.WEEK:
        monday = period_bounds(at, Period.WEEK, where)[0]
        times = [_when(s.at, where) for s in clash.slots]
        return (
            f"{head}: this would be the {nth} in the week of {_day(monday, where)} "
            f"(at most {cap.max}: {_listing(times)})"
        )
    assert cap.within_hours is not None
    times = [_when(s.at, where) for s in clash.slots]
    return (
        f"{head}: this would be the {nth} within {_hours(cap.within_hours)} "
        f"(at most {cap.max}: {_listing(times)})"
    )


# -- the public functions -----------------------------------------------------------------


def _rules(
    caps: Iterable[Cap], schedule: Sequence[Slot], candidate: Slot, where: tzinfo
) -> list[_Rule]:
    return [_Rule(cap, _relevant(cap, schedule, candidate), where) for cap in caps]


def check(
    caps: Iterable[Cap],
    schedule: Sequence[Slot],
    candidate: Slot,
    zone: tzinfo,
    names: Names | None = None,
) -> list[Breach]:
    """The caps the candidate would break against the rest of ``schedule`` (an entry with the
    candidate's key is the candidate itself and ignored), blocking ones first."""
    names = names or Names()
    found: list[Breach] = []
    for rule in _rules(caps, schedule, candidate, zone):
        clash = rule.clash(candidate.at)
        if clash is not None:
            why = _why(rule.cap, candidate, clash, zone, names)
            found.append(Breach(rule.cap, rule.cap.level, clash.slots, why))
    return sorted(found, key=lambda b: not b.blocks)


def blocking(breaches: Iterable[Breach]) -> list[Breach]:
    """The breaches that refuse a slot."""
    return [b for b in breaches if b.blocks]


def next_free(
    caps: Iterable[Cap],
    schedule: Sequence[Slot],
    candidate: Slot,
    zone: tzinfo,
    *,
    step: timedelta = timedelta(minutes=15),
    horizon: timedelta = timedelta(days=60),
) -> datetime | None:
    """The first time at or after the candidate's, on a grid of ``step`` from it and at most
    ``horizon`` later, that breaks no blocking cap; None when there is none.

    A blocked time jumps straight past what blocks it (the end of the day or week, the end of
    the gap or window) instead of trying every step."""
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    rules = _rules([c for c in caps if c.level is CapLevel.BLOCK], schedule, candidate, zone)
    start, last = candidate.at, candidate.at + horizon
    at = start
    while at <= last:
        clashes = [c for c in (rule.clash(at) for rule in rules) if c is not None]
        if not clashes:
            return at
        clear = max(c.clear_at for c in clashes)
        # Every jump moves forward by at least one step, so the search always ends.
        at = max(at + step, start + _steps_until(clear - start, step) * step)
    return None


def _steps_until(delta: timedelta, step: timedelta) -> int:
    """The fewest steps that reach at least ``delta``."""
    return -(-delta // step)
