"""Bursts of negative volume per topic, against a baseline that knows the hour of the week.

Times are Unix seconds; counts are posts. Posts fall in 5-minute buckets. When a bucket closes,
each topic's negative count over the last 15 and 60 minutes is compared with its expectation
``level × Σ season(bucket) × bucket hours``:

* ``season`` — the hour-of-week shape of *all* traffic (168 slots, mean 1), learned online from
  every post with a generic daily profile as prior (quiet nights, busy days), so it works from a
  cold start and learns the normal daily peak;
* ``level`` — the topic's negative posts per hour at season 1: a Gamma(α, β) posterior, started
  from a prior of 0.5 stories/hour worth 6 hours, updated with buckets that are not in a burst nor
  elevated (60-minute tail p < 0.01), and forgotten with a 3-day half-life.

The surprise is the negative-binomial tail ``P(X ≥ count)`` (the Gamma-Poisson predictive).
A burst needs the tail below ``watch_p`` in its window and over the last hour, at two bucket
closes in a row with at least 2 new negative stories in
the latest bucket (it grows), *and* an excess of at least ``min_excess`` posts *and*
negatives being at least ``min_negative_share`` of the topic's posts in the window, so a positive
campaign (many posts, few negative), a handful of complaints that do not grow, or the daily
peak (in the season) do not fire. ``NaiveDetector`` is the mean + 3σ rule, for comparison.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Literal

from scipy.stats import nbinom

Severity = Literal["watch", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("watch", "warning", "critical")
"""Severity levels, lowest first."""

BUCKET = 300.0
"""Bucket length in seconds."""

# generic hourly activity shape (local time), mean 1: quiet at night, late morning and evening peaks
_DAY = (0.25, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 1.0, 1.3, 1.4, 1.5, 1.5,
        1.4, 1.35, 1.3, 1.3, 1.35, 1.45, 1.55, 1.6, 1.5, 1.2, 0.8, 0.5)  # fmt: skip


def prior_season(slot: int) -> float:
    """Prior relative traffic (mean ≈ 1) for hour-of-week ``slot`` (0 = Monday 00:00)."""
    day, hour = divmod(slot, 24)
    weekend = 0.85 if day >= 5 else 1.0
    return _DAY[hour] * weekend / (sum(_DAY) / 24)


@dataclass(frozen=True)
class BurstSettings:
    """Thresholds and learning rates of the burst detector (counts are posts)."""

    windows: tuple[int, ...] = (3, 12)  # in buckets: 15 and 60 minutes
    prior_rate: float = 0.5  # negative posts per hour per topic at season 1
    prior_hours: float = 6.0
    half_life_hours: float = 72.0
    season_prior_posts: float = 200.0  # per slot, in units of the slot's mean traffic share
    watch_p: float = 1e-3
    warning_p: float = 1e-5
    critical_p: float = 1e-8
    min_excess: tuple[float, float, float] = (4.0, 8.0, 16.0)  # watch, warning, critical
    min_negative_share: float = 0.1
    learn_p: float = 0.01  # buckets whose hour is this surprising are not learned from


@dataclass(frozen=True)
class Burst:
    """A topic whose negative volume is surprising: ``count`` vs ``expected`` over ``window`` s."""

    topic: str
    at: float
    severity: Severity
    count: int
    expected: float
    p_value: float
    window: float
    post_ids: tuple[str, ...]

    def why(self) -> str:
        """One sentence for people."""
        return (
            f"{self.count} negative posts about {self.topic} in {self.window / 60:.0f} min, "
            f"{self.expected:.1f} expected at this hour of the week (p = {self.p_value:.1e})"
        )


@dataclass
class _Topic:
    alpha: float
    beta: float
    negative: deque[set[str]] = field(default_factory=lambda: deque(maxlen=12))
    total: deque[set[str]] = field(default_factory=lambda: deque(maxlen=12))
    season: deque[float] = field(default_factory=lambda: deque(maxlen=12))
    ids: deque[list[str]] = field(default_factory=lambda: deque(maxlen=12))
    in_burst: bool = False
    pending: bool = False  # surprising at the previous close, not yet confirmed


class BurstDetector:
    """Online per-topic burst detection; feed posts with ``add`` and close buckets with
    ``advance(now)``, which returns the bursts found (every closed bucket is checked)."""

    def __init__(self, settings: BurstSettings = BurstSettings(), tz: tzinfo = UTC) -> None:
        self.settings = settings
        self.tz = tz
        self._topics: dict[str, _Topic] = {}
        self._bucket: int | None = None  # index of the open bucket
        self._negative: dict[str, set[str]] = {}
        self._total: dict[str, set[str]] = {}
        self._ids: dict[str, list[str]] = {}
        self._traffic = 0
        # per hour-of-week slot: posts seen, hours seen (decayed sums)
        self._slot_posts = [0.0] * 168
        self._slot_hours = [0.0] * 168
        self._all_posts = 0.0
        self._all_hours = 0.0
        keep = 0.5 ** (BUCKET / 3600 / settings.half_life_hours)
        self._keep = keep

    def slot(self, at: float) -> int:
        """Hour-of-week slot (0 = Monday 00:00 local time) of a Unix time."""
        local = datetime.fromtimestamp(at, self.tz)
        return local.weekday() * 24 + local.hour

    def season(self, slot: int) -> float:
        """Relative traffic of a slot (≈ 1 on average): learned, starting from the prior."""
        mean_rate = self._all_posts / self._all_hours if self._all_hours > 0 else 0.0
        w = self.settings.season_prior_posts
        if mean_rate <= 0:
            return prior_season(slot)
        learned = self._slot_posts[slot] / mean_rate
        return (w * prior_season(slot) + learned) / (w + self._slot_hours[slot])

    def add(
        self, at: float, topics: Iterable[str], negative: bool, post_id: str, story: str = ""
    ) -> None:
        """Count one post (every post, for the traffic profile) at Unix time ``at``.

        Volume counts distinct stories (``story``, default the post itself), so one busy thread
        is not a burst: that is the story risk's job.
        """
        bucket = int(at // BUCKET)
        if self._bucket is None:
            self._bucket = bucket
        self._traffic += 1
        key = story or post_id
        for topic in topics:
            self._total.setdefault(topic, set()).add(key)
            if negative:
                self._negative.setdefault(topic, set()).add(key)
                self._ids.setdefault(topic, []).append(post_id)

    def in_burst(self, topic: str) -> bool:
        """Whether the topic's last closed bucket was part of a burst."""
        state = self._topics.get(topic)
        return state is not None and state.in_burst

    def advance(self, now: float) -> list[Burst]:
        """Close every bucket that ended by ``now``; the bursts found, oldest first."""
        found: list[Burst] = []
        target = int(now // BUCKET)
        if self._bucket is None:
            self._bucket = target
            return found
        while self._bucket < target:
            found.extend(self._close(self._bucket))
            self._bucket += 1
        return found

    def _close(self, bucket: int) -> list[Burst]:
        s = self.settings
        start = bucket * BUCKET
        slot = self.slot(start)
        hours = BUCKET / 3600
        season = self.season(slot)
        # traffic profile (decayed)
        self._slot_posts = [p * self._keep for p in self._slot_posts]
        self._slot_hours = [h * self._keep for h in self._slot_hours]
        self._slot_posts[slot] += self._traffic
        self._slot_hours[slot] += hours
        self._all_posts = self._all_posts * self._keep + self._traffic
        self._all_hours = self._all_hours * self._keep + hours
        self._traffic = 0
        found: list[Burst] = []
        names = set(self._topics) | set(self._total)
        for name in names:
            topic = self._topics.get(name)
            if topic is None:
                topic = _Topic(s.prior_rate * s.prior_hours, s.prior_hours)
                self._topics[name] = topic
            negative = self._negative.get(name, set())
            topic.negative.append(negative)
            topic.total.append(self._total.get(name, set()))
            topic.season.append(season * hours)
            topic.ids.append(self._ids.get(name, []))
            burst = self._test(name, topic, start + BUCKET)
            # growth check: surprising at two closes in a row, with ≥ 2 new negatives in the last
            # bucket, so a handful posted at once and then silence is not a burst
            confirmed = (
                burst is not None and (topic.pending or topic.in_burst) and len(negative) >= 2
            )
            topic.pending = burst is not None and not confirmed
            if confirmed and burst is not None:
                found.append(burst)
            elif topic.in_burst and burst is not None:
                confirmed = True  # an ongoing burst stays one while surprising
            topic.in_burst = confirmed
            # learn the level from calm buckets only, with forgetting
            topic.alpha *= self._keep
            topic.beta *= self._keep
            warm = topic.beta >= s.prior_hours + 6  # cold start: learn from everything
            # elevated hours are not learned from: a slowly building surge must not become
            # the baseline
            if not topic.in_burst and not (warm and self._elevated(topic, s.learn_p)):
                topic.alpha += len(negative)
                topic.beta += season * hours
        self._negative.clear()
        self._total.clear()
        self._ids.clear()
        return found

    def _elevated(self, topic: _Topic, limit: float) -> bool:
        """Whether the longest window is above its expectation at p < ``limit``."""
        window = max(self.settings.windows)
        count = len(set().union(*list(topic.negative)[-window:]))
        exposure = sum(list(topic.season)[-window:])
        expected = topic.alpha / topic.beta * exposure
        if count <= expected + 1:
            return False
        p = float(nbinom.sf(count - 1, topic.alpha, topic.beta / (topic.beta + exposure)))
        return p < limit

    def _test(self, name: str, topic: _Topic, at: float) -> Burst | None:
        s = self.settings
        best: Burst | None = None
        # the hour must be surprising too, so a handful at once is not a burst
        if not self._elevated(topic, s.learn_p):
            return None
        for window in s.windows:
            count = len(set().union(*list(topic.negative)[-window:]))
            if count < s.min_excess[0]:
                continue
            volume = len(set().union(*list(topic.total)[-window:]))
            if volume and count / volume < s.min_negative_share:
                continue
            exposure = sum(list(topic.season)[-window:])
            expected = topic.alpha / topic.beta * exposure
            if count - expected < s.min_excess[0]:
                continue
            # Gamma(α, β) × Poisson(exposure) predictive is NB(α, β / (β + exposure))
            p = float(nbinom.sf(count - 1, topic.alpha, topic.beta / (topic.beta + exposure)))
            level = -1
            for n, (limit, excess) in enumerate(
                zip((s.watch_p, s.warning_p, s.critical_p), s.min_excess, strict=True)
            ):
                if p <= limit and count - expected >= excess:
                    level = n
            if level < 0:
                continue
            if best is None or level > SEVERITIES.index(best.severity):
                ids = tuple(i for bucket in list(topic.ids)[-window:] for i in bucket)
                best = Burst(name, at, SEVERITIES[level], count, expected, p, window * BUCKET, ids)
        return best


class NaiveDetector:
    """The mean + 3σ rule on each topic's negative count per window (60 min), over the last
    ``history`` buckets (default 7 days); for comparison with ``BurstDetector``."""

    def __init__(self, window: int = 12, history: int = 7 * 288, sigmas: float = 3.0) -> None:
        self.window = window
        self.sigmas = sigmas
        self._size = history
        self._recent: dict[str, deque[int]] = {}
        self._sums: dict[str, deque[int]] = {}
        self._moments: dict[str, list[float]] = {}  # running Σx, Σx² of the window sums
        self._counts: dict[str, int] = {}
        self._bucket: int | None = None

    def add(self, at: float, topics: Iterable[str], negative: bool) -> None:
        """Count one post at Unix time ``at``."""
        if self._bucket is None:
            self._bucket = int(at // BUCKET)
        if negative:
            for topic in topics:
                self._counts[topic] = self._counts.get(topic, 0) + 1

    def advance(self, now: float) -> list[tuple[str, float]]:
        """Close buckets up to ``now``; (topic, time) of each alarm."""
        alarms: list[tuple[str, float]] = []
        target = int(now // BUCKET)
        if self._bucket is None:
            self._bucket = target
        while self._bucket < target:
            for topic in set(self._recent) | set(self._counts):
                recent = self._recent.setdefault(topic, deque(maxlen=self.window))
                sums = self._sums.setdefault(topic, deque())
                moments = self._moments.setdefault(topic, [0.0, 0.0])
                recent.append(self._counts.get(topic, 0))
                current = sum(recent)
                if len(sums) >= 2 * self.window:
                    n = len(sums)
                    mean = moments[0] / n
                    sd = math.sqrt(max(moments[1] / n - mean * mean, 0.0))
                    if current > mean + self.sigmas * sd:
                        alarms.append((topic, (self._bucket + 1) * BUCKET))
                sums.append(current)
                moments[0] += current
                moments[1] += current * current
                if len(sums) > self._size:
                    old = sums.popleft()
                    moments[0] -= old
                    moments[1] -= old * old
            self._counts.clear()
            self._bucket += 1
        return alarms
