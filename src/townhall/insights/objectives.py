"""Progress of key results against their targets: the value now, the straight line from the
start value to the target by its date, and a status in words.

The rule: a key result with nothing measured has **no data**; one whose value has reached its
target (at least it for ``up``, at most it for ``down``) is **achieved**; otherwise it is **on
track** when the value is on the right side of the line today (at or above it going up, at or
below it going down) and **behind** when not, or when the date has passed.

The queries hand back a ``Tally`` per week (what the week adds up: hits over a total, a count,
minutes, readings); tallies add, so a ``total`` window is the running sum of the weeks.
Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from townhall.insights.charts import median_minutes
from townhall.org.objectives import COUNTS, SHARES, Aggregate, Direction, Kpi, Metric, Window


@dataclass(frozen=True)
class Tally:
    """What one period of a key result adds up to.

    ``hits`` over ``total`` for shares (negative posts over posts), ``hits`` alone for counts
    and summed readings, ``minutes`` (whole minutes → items) for reply times, ``latest`` (day,
    value) for the last reading; ``rows`` is how many rows were counted."""

    hits: float = 0.0
    total: int = 0
    minutes: Mapping[int, int] = field(default_factory=dict)
    latest: tuple[date, float] | None = None
    rows: int = 0

    def __add__(self, other: Tally) -> Tally:
        minutes = Counter(self.minutes)
        minutes.update(other.minutes)
        latest = self.latest
        if other.latest is not None and (latest is None or other.latest[0] >= latest[0]):
            latest = other.latest
        return Tally(
            self.hits + other.hits,
            self.total + other.total,
            dict(minutes),
            latest,
            self.rows + other.rows,
        )


def value_of(kpi: Kpi, tally: Tally) -> float | None:
    """The key result's value for a tally, or None when it measured nothing."""
    metric = kpi.measure
    if metric in SHARES:
        return tally.hits / tally.total if tally.total else None
    if metric is Metric.FIRST_REPLY_MINUTES:
        return median_minutes(dict(tally.minutes)) if tally.minutes else None
    if metric is Metric.READING:
        if kpi.total is Aggregate.LATEST:
            return tally.latest[1] if tally.latest else None
        return tally.hits if tally.rows else None
    return tally.hits


def cumulative(kpi: Kpi) -> bool:
    """Whether a week's value includes every week before it (``total`` windows, and the last
    reading, which stands until the next one)."""
    if kpi.measure is Metric.READING and kpi.total is Aggregate.LATEST:
        return True
    return kpi.span is Window.TOTAL


def series(kpi: Kpi, tallies: Sequence[Tally]) -> list[float | None]:
    """The value per week: each week alone, or running since the start."""
    if not cumulative(kpi):
        return [value_of(kpi, t) for t in tallies]
    out: list[float | None] = []
    running = Tally()
    for tally in tallies:
        running = running + tally
        out.append(value_of(kpi, running))
    return out


class Status(StrEnum):
    """Where a key result stands."""

    ACHIEVED = "achieved"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    NO_DATA = "no_data"


STATUS_WORDS = {
    Status.ACHIEVED: "Achieved",
    Status.ON_TRACK: "On track",
    Status.BEHIND: "Behind",
    Status.NO_DATA: "No data",
}


def line_at(starts: date, start_value: float, by: date, target: float, day: date) -> float:
    """The straight line from ``start_value`` on ``starts`` to ``target`` on ``by``, read on
    ``day`` (held at the ends before ``starts`` and after ``by``)."""
    span = (by - starts).days
    if span <= 0:
        return target
    share = min(max((day - starts).days / span, 0.0), 1.0)
    return start_value + (target - start_value) * share


def start_value(kpi: Kpi, values: Sequence[float | None]) -> float | None:
    """Where the line starts: the policy's ``baseline``, else 0 for a running count, else the
    first value measured."""
    if kpi.baseline is not None:
        return kpi.baseline
    counting = kpi.measure in COUNTS or (
        kpi.measure is Metric.READING and kpi.total is Aggregate.SUM
    )
    if counting and kpi.span is Window.TOTAL:
        return 0.0
    return next((v for v in values if v is not None), None)


def reached(kpi: Kpi, value: float) -> bool:
    """Whether ``value`` meets the target."""
    if kpi.heading is Direction.UP:
        return value >= kpi.target
    return value <= kpi.target


def ahead_of(kpi: Kpi, value: float, line: float) -> bool:
    """Whether ``value`` is on the right side of the line (on it counts)."""
    if kpi.heading is Direction.UP:
        return value >= line
    return value <= line


# -- words ------------------------------------------------------------------------------------
NOUNS = {
    Metric.NEGATIVE_SHARE: "negative",
    Metric.POSITIVE_SHARE: "positive",
    Metric.BRAND_HEALTH: "brand health",
    Metric.SLA_COMPLIANCE: "answered within the SLA",
    Metric.MENTIONS: "mentions",
    Metric.FIRST_REPLY_MINUTES: "to a first reply",
    Metric.REPLIES_SENT: "replies sent",
    Metric.POSTS_PUBLISHED: "posts published",
}


def day_words(day: date) -> str:
    """``31 Mar 2027``."""
    return f"{day.day} {day:%b %Y}"


def amount(kpi: Kpi, value: float) -> str:
    """A value as a person reads it, without its noun: ``21%``, ``1 h 05 min``, ``1,200``."""
    metric = kpi.measure
    if metric in SHARES:
        return f"{value:.0%}"
    if metric is Metric.FIRST_REPLY_MINUTES:
        minutes = round(value)
        if minutes < 60:
            return f"{value:.0f} min" if value >= 1 or value == 0 else f"{value:.1f} min"
        return f"{minutes // 60} h {minutes % 60:02d} min"
    if float(value).is_integer() or abs(value) >= 100:
        return f"{round(value):,}"  # a decimal on thousands of clicks is noise
    return f"{value:,.1f}"


def described(kpi: Kpi, value: float) -> str:
    """A value with its noun: ``21% negative``, ``42 min to a first reply``, ``310 clicks``."""
    noun = kpi.unit if kpi.measure is Metric.READING else NOUNS[kpi.measure]
    return f"{amount(kpi, value)} {noun}".strip()


def target_words(kpi: Kpi) -> str:
    """``at most 15% by 31 Mar 2027``."""
    side = "at least" if kpi.heading is Direction.UP else "at most"
    return f"{side} {amount(kpi, kpi.target)} by {day_words(kpi.by)}"


@dataclass(frozen=True)
class Verdict:
    """A key result's status, the line's value today, and the sentence that explains both."""

    status: Status
    line: float | None
    words: str


def judge(
    kpi: Kpi,
    *,
    starts: date,
    today: date,
    value: float | None,
    first: float | None,
) -> Verdict:
    """The status of a key result whose value now is ``value`` and whose line starts at
    ``first`` on ``starts`` (see the module's rule)."""
    if today < starts:
        return Verdict(Status.NO_DATA, None, f"No data: it starts on {day_words(starts)}.")
    if value is None:
        what = "no reading recorded" if kpi.measure is Metric.READING else "nothing measured"
        return Verdict(Status.NO_DATA, None, f"No data: {what} since {day_words(starts)}.")
    now = described(kpi, value)
    if reached(kpi, value):
        return Verdict(
            Status.ACHIEVED, None, f"Achieved: {now}; the target is {target_words(kpi)}."
        )
    if today > kpi.by:
        return Verdict(
            Status.BEHIND, kpi.target, f"Behind: {now}; the target was {target_words(kpi)}."
        )
    line = line_at(starts, value if first is None else first, kpi.by, kpi.target, today)
    status = Status.ON_TRACK if ahead_of(kpi, value, line) else Status.BEHIND
    words = (
        f"{STATUS_WORDS[status]}: {now}, the line to {amount(kpi, kpi.target)} by "
        f"{day_words(kpi.by)} is at {amount(kpi, line)} today."
    )
    return Verdict(status, line, words)
