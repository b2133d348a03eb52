"""The radar: consumes enriched posts in time order and raises alerts (burst, viral_post, crisis).

Pure: the clock is the posts' ``created_at`` (or the ``now`` passed in), so the same object runs
a replay as fast as it can and the live pipeline batch by batch. A story is an original post with
every reply and reshare below it; replies and reshares inherit the story's topics (a reply "same
here!" is about the AirFry when its thread is).

Threads about the same product that name the same kind of incident ("melted", "gesmolten",
"fundido" …, ``incidents.py``) within ``incident_gap`` of each other are one **incident**: one
story across channels, languages and the press, whose risk is that of all its threads together.
Alerts are keyed by (incident or story, kind) and by topic for bursts: each is alerted again only
when its severity rises.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from townhall.org.policy import Policy
from townhall.posts import Post
from townhall.radar.alerts import Alert, rank, severity_at_least
from townhall.radar.bursts import BurstDetector, BurstSettings, Severity
from townhall.radar.forecast import CascadeTracker, Forecast, ForecastModel, default_forecaster
from townhall.radar.incidents import incident_kinds
from townhall.radar.risk import INFLUENCER_FOLLOWERS, Risk, StoryFacts, story_risk
from townhall.understand.enrich import Enrichment

MAX_IDS = 20
"""Most post ids listed in one alert (the newest, after the original post)."""

LINK = re.compile(r"https?://[^\s<>\"']+")
"""A link in a post's text (a share of another post, an article)."""


@dataclass(frozen=True)
class RadarSettings:
    """Thresholds of the radar: engagements for "viral", risk and p_viral severity limits."""

    viral_threshold: int = 50  # replies + reshares of a story
    crisis_limits: tuple[float, float, float] = (0.3, 0.5, 0.7)  # risk: watch, warning, critical
    viral_limits: tuple[float, float, float] = (0.5, 0.75, 0.9)  # p_viral
    viral_min_seen: int = 15  # replies + reshares before a viral_post alert
    crisis_min_voices: int = 4  # distinct authors of negative posts (not reshares) a crisis needs
    voices_window: float = 3 * 3600.0  # seconds: … within this long
    incident_gap: float = 3 * 3600.0  # seconds: a thread joins an incident with a post this recent
    burst_quiet: float = 6 * 3600.0  # seconds without a burst before a topic's episode ends
    product_share: float = 0.6  # a brand burst whose posts mostly name one product is about it
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
    voices: dict[str, float] = field(default_factory=dict)  # author → their last negative post
    # (not a reshare, not praise), Unix seconds
    last_seen: float = 0.0
    forecast: Forecast | None = None
    alerted: dict[str, int] = field(default_factory=dict)  # kind → rank alerted
    incident: Incident | None = None

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


@dataclass
class Incident:
    """Threads about one product that name the same kind of incident: one story across channels.

    ``id`` is the first thread's original post; the risk is computed over all threads.
    """

    id: str
    topic: str  # product:<id>
    kinds: set[str]
    stories: list[Story]
    last_seen: float  # Unix seconds of its newest post
    alerted: dict[str, int] = field(default_factory=dict)  # kind → rank alerted

    def facts(self) -> StoryFacts:
        """The facts of all its threads together."""
        each = [s.facts() for s in self.stories]
        return StoryFacts(
            posts=sum(f.posts for f in each),
            negative=sum(f.negative for f in each),
            max_followers=max(f.max_followers for f in each),
            press=any(f.press for f in each),
            influencer=any(f.influencer for f in each),
            channels=len(set().union(*(s.channels for s in self.stories))),
            groups=len(set().union(*(s.groups for s in self.stories))),
            with_media=sum(f.with_media for f in each),
            p_viral=max(f.p_viral for f in each),
        )

    def voices(self, since: float) -> int:
        """Distinct authors of negative posts since ``since`` (Unix seconds), in any thread."""
        return len({a for s in self.stories for a, at in s.voices.items() if at >= since})


REMEMBERED = 200_000
"""How many post ids the radar remembers having counted (about 20 MB)."""


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
        self.incidents: dict[str, Incident] = {}
        self._by_url: dict[str, str] = {}  # an original post's URL → its id
        self._burst_rank: dict[str, int] = {}
        self._burst_seen: dict[str, float] = {}
        self._now = 0.0
        self._next_sweep = 0.0
        # Post ids already counted: a batch that fails after the radar saw it is retried post
        # by post, and must not count its posts twice.
        self._counted: OrderedDict[str, None] = OrderedDict()

    def observe(
        self, batch: Sequence[tuple[Post, Enrichment]], now: datetime | None = None
    ) -> list[Alert]:
        """Take posts (in time order) with their enrichment; the alerts they raise, in order.

        ``now`` (the live clock) closes burst buckets even when no post arrives.
        """
        alerts: list[Alert] = []
        for post, enrichment in batch:
            if post.id in self._counted:
                continue
            self._counted[post.id] = None
            if len(self._counted) > REMEMBERED:
                self._counted.popitem(last=False)
            at = post.created_at.timestamp()
            self._clock(at, alerts)
            alerts.extend(self._post(post, enrichment, at))
        if now is not None:
            self._clock(now.timestamp(), alerts)
        return alerts

    def story_of(self, post_id: str) -> str | None:
        """The story ``post_id`` belongs to (None: not seen): its incident's id when its thread
        is part of one, else its original post's id. Alerts carry the same id as ``story``."""
        root = self._story_of.get(post_id)
        story = self.stories.get(root) if root else None
        if story is not None and story.incident is not None:
            return story.incident.id
        return root

    # -- internals --------------------------------------------------------------------------------
    def _clock(self, at: float, alerts: list[Alert]) -> None:
        if at <= self._now:
            return
        self._now = at
        for burst in self.bursts.advance(at):
            topic = self._burst_topic(burst.topic, burst.post_ids)
            level = rank(burst.severity)
            if level > self._burst_rank.get(topic, 0):
                why = burst.why()
                if topic != burst.topic:
                    why = f"{why}; most of them are about {topic}"
                details: dict[str, object] = {}
                incident = self._active_incident(topic, burst.at)
                if incident is not None:
                    details["incident"] = incident.id
                alerts.append(
                    Alert(
                        at=datetime.fromtimestamp(burst.at, UTC),
                        kind="burst",
                        topic=topic,
                        severity=burst.severity,
                        post_ids=burst.post_ids[-MAX_IDS:],
                        why=why,
                        story=topic,
                        score=burst.p_value,
                        details=details,
                    )
                )
            for key in {topic, burst.topic}:
                self._burst_rank[key] = max(level, self._burst_rank.get(key, 0))
                self._burst_seen[key] = burst.at
        # an episode ends after ``burst_quiet`` without a burst; the next one is alerted afresh
        quiet = self.settings.burst_quiet
        calm = [t for t, seen in self._burst_seen.items() if at - seen > quiet]
        for topic in calm:
            del self._burst_seen[topic]
            self._burst_rank.pop(topic, None)
        if at >= self._next_sweep:
            self._sweep(at)
            self._next_sweep = at + 3600

    def _burst_topic(self, topic: str, post_ids: Sequence[str]) -> str:
        """The product a brand burst is about, when most of its posts name one; else ``topic``."""
        if topic.startswith("product:") or not post_ids:
            return topic
        counts: dict[str, int] = {}
        for post_id in post_ids:
            root = self._story_of.get(post_id)
            story = self.stories.get(root) if root else None
            product = story.topic() if story is not None else None
            if product and product.startswith("product:"):
                counts[product] = counts.get(product, 0) + 1
        if counts:
            product, n = max(counts.items(), key=lambda kv: kv[1])
            if n >= self.settings.product_share * len(post_ids):
                return product
        return topic

    def _active_incident(self, topic: str | None, at: float) -> Incident | None:
        """The newest incident about ``topic`` with a post within ``incident_gap`` of ``at``."""
        found = [
            i
            for i in self.incidents.values()
            if i.topic == topic and at - i.last_seen <= self.settings.incident_gap
        ]
        return max(found, key=lambda i: i.last_seen, default=None)

    def _linked(self, text: str) -> Incident | None:
        """The incident of a post this text links to, if any."""
        for url in LINK.findall(text):
            root = self._by_url.get(url.rstrip(".,;:!?)"))
            story = self.stories.get(root) if root else None
            if story is not None and story.incident is not None:
                return story.incident
        return None

    def _join(self, story: Story, post: Post, at: float) -> None:
        """Put the story in an incident when this post names what went wrong with its product,
        or links to a post of an incident."""
        incident = story.incident
        if incident is not None:
            incident.last_seen = at
            return
        kinds = incident_kinds(post.text)
        linked = self._linked(post.text) if "http" in post.text else None
        if linked is not None and (kinds & linked.kinds or story.topic() == linked.topic):
            self._add(linked, story, kinds, at)
            return
        if not kinds:
            return
        topic = story.topic()
        gap = self.settings.incident_gap
        if topic is None:
            return
        if not topic.startswith("product:"):
            if not topic.startswith("brand:"):
                return  # a competitor's trouble is not ours
            # A brand-level post ("my ACME air fryer melted") joins the one incident it matches.
            matches = [
                i for i in self.incidents.values() if i.kinds & kinds and at - i.last_seen <= gap
            ]
            if len(matches) != 1:
                return
            incident = matches[0]
        else:
            candidates = [
                i
                for i in self.incidents.values()
                if i.topic == topic and i.kinds & kinds and at - i.last_seen <= gap
            ]
            incident = max(candidates, key=lambda i: i.last_seen, default=None)
            if incident is None:
                incident = Incident(story.root, topic, set(kinds), [], at)
                self.incidents[incident.id] = incident
        self._add(incident, story, kinds, at)

    @staticmethod
    def _add(incident: Incident, story: Story, kinds: frozenset[str], at: float) -> None:
        incident.stories.append(story)
        incident.kinds |= kinds
        incident.last_seen = at
        for kind, level in story.alerted.items():  # what the thread was alerted for stands
            incident.alerted[kind] = max(level, incident.alerted.get(kind, 0))
        story.incident = incident
        if incident.topic not in story.topics:
            story.topics.insert(0, incident.topic)

    def _sweep(self, at: float) -> None:
        old = [r for r, s in self.stories.items() if at - s.last_seen > self.settings.forget_after]
        for root in old:
            del self.stories[root]
        forget = self.settings.forget_after
        for key in [k for k, i in self.incidents.items() if at - i.last_seen > forget]:
            del self.incidents[key]
        if old:
            gone = set(old)
            self._story_of = {k: v for k, v in self._story_of.items() if v not in gone}
            self._by_url = {k: v for k, v in self._by_url.items() if v not in gone}

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
        if parent is None and post.url:
            self._by_url[post.url] = post.id
        for topic in enrichment.topics:
            if topic not in story.topics:
                story.topics.append(topic)
        self._join(story, post, at)
        negative = is_negative(enrichment)
        self.bursts.add(at, story.topics, negative, post.id, root)

        story.posts += 1
        story.negative += negative
        if negative and post.reshare_of is None and enrichment.intent != "praise":
            story.voices[post.author.handle] = at
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
        incident = story.incident
        facts = incident.facts() if incident is not None else story.facts()
        since = at - self.settings.voices_window
        voices = (
            incident.voices(since)
            if incident is not None
            else sum(t >= since for t in story.voices.values())
        )
        risk = story_risk(facts)
        severity = severity_at_least(risk.score, self.settings.crisis_limits)
        if voices < self.settings.crisis_min_voices:
            severity = None  # one upset author and their big audience is not a crisis yet
        alerted = incident.alerted if incident is not None else story.alerted
        if self._rises(alerted, "crisis", severity):
            assert severity is not None
            why = self._crisis_why(story, facts, voices, risk)
            alerts.append(self._alert(story, when, "crisis", severity, risk, why))
        forecast = story.forecast
        if forecast is not None and forecast.observed >= self.settings.viral_min_seen:
            viral = severity_at_least(forecast.p_viral, self.settings.viral_limits)
            if self._rises(alerted, "viral_post", viral):
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
    def _rises(alerted: dict[str, int], kind: str, severity: Severity | None) -> bool:
        level = rank(severity)
        if level > alerted.get(kind, 0):
            alerted[kind] = level
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
        incident = story.incident
        post_ids = tuple(story.post_ids)
        if incident is not None:
            details["stories"] = [s.root for s in incident.stories]
            details["incident_kinds"] = sorted(incident.kinds)
            # the incident's first post first, then the newest of the others
            others = [i for s in incident.stories for i in s.post_ids if i != incident.id]
            post_ids = (incident.id, *others[-(MAX_IDS - 1) :])
        return Alert(
            at=when,
            kind="crisis" if kind == "crisis" else "viral_post",
            topic=incident.topic if incident is not None else story.topic(),
            severity=severity,
            post_ids=post_ids,
            why=why,
            story=incident.id if incident is not None else story.root,
            score=risk.score,
            details=details,
        )

    def _crisis_why(self, story: Story, facts: StoryFacts, voices: int, risk: Risk) -> str:
        incident = story.incident
        stories = incident.stories if incident is not None else [story]
        where = ", ".join(sorted(set().union(*(s.groups | s.channels for s in stories))))
        forecast = story.forecast
        outlook = (
            f"; forecast {forecast.predicted_final:.0f} replies/reshares, "
            f"P(> {self.settings.viral_threshold}) = {forecast.p_viral:.0%}"
            if forecast
            else ""
        )
        topic = incident.topic if incident is not None else story.topic()
        what = (
            f" ({', '.join(sorted(incident.kinds))}; {len(stories)} threads)"
            if incident is not None
            else ""
        )
        return (
            f"{facts.negative} of {facts.posts} posts negative about {topic}{what} from "
            f"{voices} authors in the last {self.settings.voices_window / 3600:.0f} h, in {where}"
            f"{outlook}; {risk.why()}"
        )
