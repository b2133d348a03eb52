"""Bursts of negative volume per topic, against a baseline that knows the hour of the week.

Times are Unix seconds; counts are posts. Posts fall in 5-minute buckets. A topic's count in a
bucket is its *new negative voices*: stories with a negative post in the bucket and none in the
hour before, so one busy thread is one voice. Each closed bucket is compared with its expectation
``μ = level × season(bucket) × bucket hours``:

* ``season`` — the hour-of-week shape of *all* traffic (168 slots, mean 1), learned online from
  every post with a generic daily profile as prior (quiet nights, busy days), so it works from a
  cold start and learns the normal daily peak;
* ``level`` — the topic's new negative voices per hour at season 1: a Gamma(α, β) posterior,
  started from a prior of 0.5/hour worth 6 hours, updated with buckets that are not in a burst nor
  elevated, and forgotten with a 3-day half-life; μ uses a cautious upper estimate of it while
  the posterior is still wide;
* ``campaign`` — when the topic's non-negative volume is high (a positive campaign), negatives
  are expected to rise with it: μ is at least the topic's negative odds × its non-negative posts.

Evidence accumulates over consecutive buckets in a Poisson CUSUM (a sequential likelihood-ratio
test) of "μ" against "μ + surge" (``surge_rate`` extra voices per hour, at least ``surge_ratio``
× the usual rate): ``S = max(0, S + min(cap, x ln(1 + surge/μ) − surge))`` in nats. The cap per
bucket means a handful posted at once cannot reach the threshold alone (at the default, 6 nats
take 4 buckets of evidence): it must keep coming, it grows. A burst needs ``S ≥ cusum_threshold``
(the sensitivity: lower is sooner and more false alarms), an excess of at least ``min_excess``
voices over the run (the buckets since S was last 0, at most 2 h) and negatives being at least
``min_negative_share`` of the topic's new voices in the run. Severity rises with the run's
Poisson tail and excess; ``p_value`` is that tail, for people. ``NaiveDetector`` is the
mean + 3σ rule, for comparison.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Literal

from scipy.stats import poisson

Severity = Literal["watch", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("watch", "warning", "critical")
"""Severity levels, lowest first."""

BUCKET = 300.0
"""Bucket length in seconds."""

MAX_CATCHUP = 2 * 7 * 288
"""Most empty buckets closed one by one after a gap in post time (two weeks of 5-minute
buckets: the hour-of-week profile and the 3-day forgetting see a quiet fortnight as it was);
a longer gap skips the rest, keeping the state as the last of them left it."""

RUN = 24
"""Most buckets (2 h) a run, and so a burst's window, spans."""

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
    """Thresholds and learning rates of the burst detector (counts are posts, S in nats)."""

    prior_rate: float = 0.5  # new negative voices per hour per topic at season 1
    prior_hours: float = 6.0
    half_life_hours: float = 72.0
    season_prior_posts: float = 200.0  # per slot, in units of the slot's mean traffic share
    caution: float = 0.5  # μ uses level + caution × its posterior sd
    prior_negative_share: float = 0.1  # of a topic's voices, worth prior_share_voices
    prior_share_voices: float = 20.0
    surge_rate: float = 6.0  # the alternative: extra voices per hour …
    surge_ratio: float = 1.0  # … or this many times the expected rate, if more
    cap: float = 1.5  # most evidence one bucket adds (nats): 6 nats need ≥ 4 buckets of it
    # The sensitivity: the CUSUM evidence (nats) a burst needs. Lower fires sooner and falsely
    # more often; on the bench streams (seeds 0–19, tuned on 100–119) 6 gives a median delay of
    # 110 min at 0 false alarms/day, 5 → 92 min at 0.06/day, 4 → 82 min at 0.22/day.
    cusum_threshold: float = 6.0
    max_s: float = 10.0  # S is held below this, so it falls back soon after a surge ends
    warning_p: float = 1e-5  # Poisson tail of the run's count for warning, critical
    critical_p: float = 1e-8
    min_excess: tuple[float, float, float] = (4.0, 8.0, 16.0)  # watch, warning, critical
    min_negative_share: float = 0.1
    learn_s: float = 3.0  # buckets with S above this are not learned from

    def __post_init__(self) -> None:
        if not 0 < self.cusum_threshold <= self.max_s:
            raise ValueError(
                f"cusum_threshold must be in (0, max_s = {self.max_s}], not {self.cusum_threshold}"
            )


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
    """One topic's baseline and its recent buckets (newest last)."""

    alpha: float  # Gamma posterior of the level (voices/hour at season 1)
    beta: float
    negative_voices: float  # decayed voice counts, for the negative odds
    other_voices: float
    seen: deque[set[str]] = field(default_factory=lambda: deque(maxlen=12))  # negative stories
    voices: deque[int] = field(default_factory=lambda: deque(maxlen=RUN))  # new negative voices
    total: deque[int] = field(default_factory=lambda: deque(maxlen=RUN))  # new voices, any
    expected: deque[float] = field(default_factory=lambda: deque(maxlen=RUN))
    ids: deque[list[str]] = field(default_factory=lambda: deque(maxlen=RUN))
    all_seen: deque[set[str]] = field(default_factory=lambda: deque(maxlen=12))
    score: float = 0.0  # CUSUM S, nats
    run: int = 0  # buckets since S was last 0
    in_burst: bool = False


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
        self._keep = 0.5 ** (BUCKET / 3600 / settings.half_life_hours)

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
        # A gap in post time (a quiet week, a post dated years ahead) closes at most
        # MAX_CATCHUP empty buckets, then jumps: the work is bounded, whatever the gap.
        self._bucket = max(self._bucket, target - MAX_CATCHUP)
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
        for name in set(self._topics) | set(self._total):
            topic = self._topics.get(name)
            if topic is None:
                share = s.prior_negative_share * s.prior_share_voices
                topic = _Topic(
                    s.prior_rate * s.prior_hours, s.prior_hours, share, s.prior_share_voices - share
                )
                self._topics[name] = topic
            burst = self._step(name, topic, season * hours, start + BUCKET)
            if burst is not None:
                found.append(burst)
        self._negative.clear()
        self._total.clear()
        self._ids.clear()
        return found

    def _step(self, name: str, topic: _Topic, exposure: float, at: float) -> Burst | None:
        """Close one bucket of ``exposure`` season-hours for a topic; its burst, if any."""
        s = self.settings
        negative = self._negative.get(name, set())
        everyone = self._total.get(name, set())
        known = set().union(*topic.seen)
        new_negative = negative - known
        voices = len(new_negative)
        # a story that turns negative is a new voice in both counts, so voices ≤ total
        total = len((everyone - set().union(*topic.all_seen)) | new_negative)
        topic.seen.append(negative)
        topic.all_seen.append(everyone)
        # expected voices: the level, cautious while the posterior is wide …
        level = (topic.alpha + s.caution * math.sqrt(topic.alpha)) / topic.beta
        mu = level * exposure
        # … and, in a flood of non-negative posts (a campaign), the topic's usual share of it
        odds = topic.negative_voices / max(topic.other_voices, 1e-9)
        mu = max(mu, odds * (total - voices))
        surge = max(s.surge_rate * BUCKET / 3600, s.surge_ratio * mu)
        gain = voices * math.log1p(surge / mu) - surge
        topic.score = min(s.max_s, max(0.0, topic.score + min(s.cap, gain)))
        topic.run = topic.run + 1 if topic.score > 0 else 0
        topic.voices.append(voices)
        topic.total.append(total)
        topic.expected.append(mu)
        topic.ids.append(self._ids.get(name, []))
        burst = self._test(name, topic, at)
        topic.in_burst = burst is not None
        # learn the level from calm buckets only, with forgetting: a slowly building surge must
        # not become the baseline (a cold start learns from everything, as it cannot tell)
        keep = self._keep
        topic.alpha *= keep
        topic.beta *= keep
        topic.negative_voices *= keep
        topic.other_voices *= keep
        warm = topic.beta >= s.prior_hours + 6
        if not warm or (not topic.in_burst and topic.score < s.learn_s):
            topic.alpha += voices
            topic.beta += exposure
            topic.negative_voices += voices
            topic.other_voices += total - voices
        return burst

    def _test(self, name: str, topic: _Topic, at: float) -> Burst | None:
        s = self.settings
        if topic.score < s.cusum_threshold or topic.run == 0:
            return None
        run = min(topic.run, RUN)
        count = sum(list(topic.voices)[-run:])
        volume = sum(list(topic.total)[-run:])
        expected = sum(list(topic.expected)[-run:])
        if volume and count / volume < s.min_negative_share:
            return None
        if count - expected < s.min_excess[0]:
            return None
        p = float(poisson.sf(count - 1, expected))
        level = 0
        for n, (limit, excess) in enumerate(
            zip((s.warning_p, s.critical_p), s.min_excess[1:], strict=True), start=1
        ):
            if p <= limit and count - expected >= excess:
                level = n
        ids = tuple(i for bucket in list(topic.ids)[-run:] for i in bucket)
        return Burst(name, at, SEVERITIES[level], count, expected, p, run * BUCKET, ids)


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
        self._bucket = max(self._bucket, target - MAX_CATCHUP)
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
