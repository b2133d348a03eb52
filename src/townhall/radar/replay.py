"""The radar: consumes enriched posts in time order and raises alerts (burst, viral_post, crisis).

Pure: the clock is the posts' ``created_at`` (or the ``now`` passed in), so the same object runs
a replay as fast as it can and the live pipeline batch by batch. A story is an original post with
every reply and reshare below it; replies and reshares inherit the story's topics (a reply "same
here!" is about the AirFry when its thread is). Alerts are de-duplicated: a story or topic is
alerted again only when its severity rises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from townhall.org.policy import Policy
from townhall.posts import Post
from townhall.radar.alerts import Alert, rank, severity_at_least
from townhall.radar.bursts import BurstDetector, BurstSettings, Severity
from townhall.radar.forecast import CascadeTracker, Forecast, ForecastModel, default_forecaster
from townhall.radar.risk import INFLUENCER_FOLLOWERS, Risk, StoryFacts, story_risk
from townhall.understand.enrich import Enrichment

MAX_IDS = 20
"""Most post ids listed in one alert (the newest, after the original post)."""


@dataclass(frozen=True)
class RadarSettings:
    """Thresholds of the radar: engagements for "viral", risk and p_viral severity limits."""

    viral_threshold: int = 50  # replies + reshares of a story
    crisis_limits: tuple[float, float, float] = (0.3, 0.5, 0.7)  # risk: watch, warning, critical
    viral_limits: tuple[float, float, float] = (0.5, 0.75, 0.9)  # p_viral
    viral_min_seen: int = 5  # replies + reshares before a viral_post alert
    forget_after: float = 3 * 86400.0  # seconds without activity before a story is dropped
    bursts: BurstSettings = field(default_factory=BurstSettings)


def is_negative(enrichment: Enrichment) -> bool:
    """Counts towards negative volume: negative sentiment, or a complaint that is not positive."""
    return enrichment.sentiment_label == "negative" or (
        enrichment.intent == "complaint" and enrichment.sentiment_label != "positive"
    )


@dataclass
class Story:
    """An original post and everything below it, as far as the radar has seen."""

    root: str
    started: float  # Unix seconds
    tracker: CascadeTracker
    topics: list[str] = field(default_factory=list)
    post_ids: list[str] = field(default_factory=list)
    posts: int = 0
    negative: int = 0
    max_followers: int = 0
    press: bool = False
    influencer: bool = False
    channels: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    with_media: int = 0
    last_seen: float = 0.0
    forecast: Forecast | None = None
    alerted: dict[str, int] = field(default_factory=dict)  # kind → rank alerted

    def facts(self) -> StoryFacts:
        """The facts risk is computed from."""
        return StoryFacts(
            posts=self.posts,
            negative=self.negative,
            max_followers=self.max_followers,
            press=self.press,
            influencer=self.influencer,
            channels=len(self.channels),
            groups=len(self.groups),
            with_media=self.with_media,
            p_viral=self.forecast.p_viral if self.forecast else 0.0,
        )

    def topic(self) -> str | None:
        """The most specific topic: a product before a competitor before the brand."""
        for prefix in ("product:", "competitor:", "brand:"):
            for topic in self.topics:
                if topic.startswith(prefix):
                    return topic
        return self.topics[0] if self.topics else None


class Radar:
    """Online radar over enriched posts; ``observe`` a batch, get the new alerts."""

    def __init__(
        self,
        policy: Policy | None = None,
        settings: RadarSettings = RadarSettings(),
        forecaster: ForecastModel | None = None,
    ) -> None:
        tz: tzinfo = ZoneInfo(str(policy.timezone)) if policy is not None else UTC
        self.settings = settings
        self.forecaster = forecaster or default_forecaster()
        self.bursts = BurstDetector(settings.bursts, tz)
        self.stories: dict[str, Story] = {}
        self._story_of: dict[str, str] = {}
        self._burst_rank: dict[str, int] = {}
        self._burst_seen: dict[str, float] = {}
        self._now = 0.0
        self._next_sweep = 0.0

    def observe(
        self, batch: Sequence[tuple[Post, Enrichment]], now: datetime | None = None
    ) -> list[Alert]:
        """Take posts (in time order) with their enrichment; the alerts they raise, in order.

        ``now`` (the live clock) closes burst buckets even when no post arrives.
        """
        alerts: list[Alert] = []
        for post, enrichment in batch:
            at = post.created_at.timestamp()
            self._clock(at, alerts)
            alerts.extend(self._post(post, enrichment, at))
        if now is not None:
            self._clock(now.timestamp(), alerts)
        return alerts

    def story_of(self, post_id: str) -> str | None:
        """The id of the original post whose story ``post_id`` belongs to (None: not seen)."""
        return self._story_of.get(post_id)

    # -- internals --------------------------------------------------------------------------------
    def _clock(self, at: float, alerts: list[Alert]) -> None:
        if at <= self._now:
            return
        self._now = at
        for burst in self.bursts.advance(at):
            level = rank(burst.severity)
            if level > self._burst_rank.get(burst.topic, 0):
                alerts.append(
                    Alert(
                        at=datetime.fromtimestamp(burst.at, UTC),
                        kind="burst",
                        topic=burst.topic,
                        severity=burst.severity,
                        post_ids=burst.post_ids[-MAX_IDS:],
                        why=burst.why(),
                        story=burst.topic,
                        score=burst.p_value,
                    )
                )
            self._burst_rank[burst.topic] = max(level, self._burst_rank.get(burst.topic, 0))
            self._burst_seen[burst.topic] = burst.at
        # an episode ends after an hour without a burst; the next one is alerted afresh
        calm = [t for t, seen in self._burst_seen.items() if at - seen > 3600]
        for topic in calm:
            del self._burst_seen[topic]
            self._burst_rank.pop(topic, None)
        if at >= self._next_sweep:
            self._sweep(at)
            self._next_sweep = at + 3600

    def _sweep(self, at: float) -> None:
        old = [r for r, s in self.stories.items() if at - s.last_seen > self.settings.forget_after]
        for root in old:
            del self.stories[root]
        if old:
            gone = set(old)
            self._story_of = {k: v for k, v in self._story_of.items() if v not in gone}

    def _post(self, post: Post, enrichment: Enrichment, at: float) -> list[Alert]:
        parent = post.reshare_of or post.reply_to
        root = self._story_of.get(parent, parent) if parent else post.id
        story = self.stories.get(root)
        if story is None:
            followers = post.author.followers if parent is None else 0
            tracker = self.forecaster.tracker(followers, self.settings.viral_threshold)
            story = Story(root, at, tracker)
            self.stories[root] = story
        self._story_of[post.id] = root
        for topic in enrichment.topics:
            if topic not in story.topics:
                story.topics.append(topic)
        negative = is_negative(enrichment)
        self.bursts.add(at, story.topics, negative, post.id, root)

        story.posts += 1
        story.negative += negative
        story.max_followers = max(story.max_followers, post.author.followers)
        story.press |= (
            enrichment.intent == "press_inquiry" or post.channel == "rss" or post.author.verified
        )
        story.influencer |= post.author.followers >= INFLUENCER_FOLLOWERS
        story.channels.add(post.channel)
        if post.group:
            story.groups.add(post.group)
        story.with_media += bool(post.media)
        story.last_seen = at
        if len(story.post_ids) < MAX_IDS or post.id == root:
            story.post_ids.append(post.id)
        else:
            story.post_ids[1 + (story.posts % (MAX_IDS - 1))] = post.id
        if parent is not None:
            story.forecast = story.tracker.add_reshare(at - story.started, post.author.followers)
        if not story.topics:
            return []
        return self._story_alerts(story, at)

    def _story_alerts(self, story: Story, at: float) -> list[Alert]:
        alerts: list[Alert] = []
        when = datetime.fromtimestamp(at, UTC)
        risk = story_risk(story.facts())
        severity = severity_at_least(risk.score, self.settings.crisis_limits)
        if self._rises(story, "crisis", severity):
            assert severity is not None
            alerts.append(
                self._alert(story, when, "crisis", severity, risk, self._crisis_why(story, risk))
            )
        forecast = story.forecast
        if forecast is not None and forecast.observed >= self.settings.viral_min_seen:
            viral = severity_at_least(forecast.p_viral, self.settings.viral_limits)
            if self._rises(story, "viral_post", viral):
                assert viral is not None
                lo, hi = forecast.interval
                why = (
                    f"{forecast.observed} replies/reshares so far; forecast "
                    f"{forecast.predicted_final:.0f} (80%: {lo:.0f}–{hi:.0f}), "
                    f"P(> {self.settings.viral_threshold}) = {forecast.p_viral:.0%}"
                )
                alerts.append(self._alert(story, when, "viral_post", viral, risk, why))
        return alerts

    @staticmethod
    def _rises(story: Story, kind: str, severity: Severity | None) -> bool:
        level = rank(severity)
        if level > story.alerted.get(kind, 0):
            story.alerted[kind] = level
            return True
        return False

    def _alert(
        self, story: Story, when: datetime, kind: str, severity: Severity, risk: Risk, why: str
    ) -> Alert:
        forecast = story.forecast
        details: dict[str, object] = {}
        if forecast is not None:
            lo, hi = forecast.interval
            details["forecast"] = {
                "observed": forecast.observed,
                "predicted_final": round(forecast.predicted_final, 1),
                "lo": round(lo, 1),
                "hi": round(hi, 1),
                "p_viral": round(forecast.p_viral, 4),
                "threshold": self.settings.viral_threshold,
            }
        return Alert(
            at=when,
            kind="crisis" if kind == "crisis" else "viral_post",
            topic=story.topic(),
            severity=severity,
            post_ids=tuple(story.post_ids),
            why=why,
            story=story.root,
            score=risk.score,
            details=details,
        )

    def _crisis_why(self, story: Story, risk: Risk) -> str:
        where = ", ".join(sorted(story.groups | story.channels))
        forecast = story.forecast
        outlook = (
            f"; forecast {forecast.predicted_final:.0f} replies/reshares, "
            f"P(> {self.settings.viral_threshold}) = {forecast.p_viral:.0%}"
            if forecast
            else ""
        )
        return (
            f"{story.negative} of {story.posts} posts negative about {story.topic()} in {where}"
            f"{outlook}; {risk.why()}"
        )
