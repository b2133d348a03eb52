"""A simulated day of social traffic around ACME, with the crisis of the demo story.

Pure: ``generate_day`` draws everything from a ``random.Random`` seeded with ``seed`` and returns
validated ``Post`` objects sorted by time. The wall clock is read only when ``start`` is omitted.
"""

from __future__ import annotations

import math
import random
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from townhall.connectors.simulator import process
from townhall.connectors.simulator.authors import Persona, Population, make_population
from townhall.connectors.simulator.bank import LANGS, Bank, Template, fill, load_bank
from townhall.posts import Post, now_utc

CHANNEL_WEIGHTS = {"mastodon": 0.37, "bluesky": 0.42, "forum": 0.195, "rss": 0.015}
"""Share of spontaneous (immigrant) posts per channel."""

CATEGORY_WEIGHTS = {
    "complaint/product": 0.13,
    "question/product": 0.13,
    "praise/product": 0.12,
    "purchase_intent/sales": 0.07,
    "press_inquiry/press": 0.012,
    "partnership/influencer": 0.025,
    "job/hr": 0.025,
    "outage/it": 0.04,
    "question/procedure": 0.035,
    "complaint/procedure": 0.008,
    "complaint/search": 0.02,
    "other/search": 0.008,
    "complaint/email": 0.02,
    "praise/email": 0.008,
    "question/email": 0.008,
    "spam/spam": 0.06,
    "other/chatter": 0.17,
    "complaint/competitor": 0.02,
    "praise/competitor": 0.015,
    "question/competitor": 0.02,
}
"""Traffic mix of spontaneous posts over ``intent/topic`` categories of the bank."""

FORUM_HOST = "https://community.acme.example"
CRISIS_PEAK = 16.0
"""Posts/hour about the crisis (before their own cascades) once the story has broken out."""
MAX_CASCADE = 400
"""Most posts one cascade (a post and all its descendants) may grow to."""


@dataclass
class _Node:
    """A post before it has an id: what, who, when (hours after start) and its parent."""

    t: float
    channel: str
    persona: Persona
    kind: str  # post | reply | reshare
    text: str
    intent: str
    sentiment: str
    topic: str
    lang: str | None
    parent: _Node | None = None
    group: str | None = None
    media: list[dict[str, str]] = field(default_factory=list)
    title: str | None = None
    story: str | None = None
    boost: float = 1.0
    root: _Node | None = None
    url: str | None = None
    topic_id: int = 0
    external: str = ""
    size: int = 1  # cascade size, kept on the root
    template_lang: str = "en"


def _slug(text: str, words: int = 7) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower())[:words]) or "post"


def _user(persona: Persona) -> str:
    return persona.handle.lstrip("@").split("@")[0].split(".bsky.social")[0]


class _Day:
    """Builds one day's posts; holds the random stream and the id counters."""

    def __init__(self, seed: int, start: datetime, hours: float, bank: Bank) -> None:
        self.rng = random.Random(f"townhall-simulator:{seed}")
        self.start = start
        self.hours = hours
        self.bank = bank
        self.pop: Population = make_population(random.Random(f"townhall-authors:{seed}"))
        self.nodes: list[_Node] = []
        self.queue: deque[_Node] = deque()
        self.topic_seq = 20_000 + self.rng.randrange(5_000)
        self.article_urls: set[str] = set()
        self.categories = [c for c in CATEGORY_WEIGHTS if c in bank.by_category]

    # -- adding posts -------------------------------------------------------------------------
    def add(self, node: _Node) -> _Node | None:
        """Keep ``node`` if it falls inside the day; queue it to grow its own cascade."""
        if not 0.0 <= node.t < self.hours:
            return None
        if node.kind == "post":
            node.root = node
            if node.channel == "forum":
                self.topic_seq += 1
                node.topic_id = self.topic_seq
                node.url = f"{FORUM_HOST}/t/{_slug(node.text)}/{node.topic_id}"
            if node.channel == "rss" and node.title:
                day = self.start + timedelta(hours=node.t)
                url = f"{node.persona.site}/{day:%Y/%m/%d}/{_slug(node.title, 9)}"
                n = 1
                while f"{url}/" in self.article_urls:  # one address per article
                    n += 1
                    url = f"{url.rsplit('-', 1)[0] if n > 2 else url}-{n}"
                node.url = f"{url}/"
                self.article_urls.add(node.url)
        self.nodes.append(node)
        self.queue.append(node)
        return node

    def template(self, persona: Persona) -> Template:
        """A spontaneous post's template, in the persona's language when the bank has one."""
        weights = [CATEGORY_WEIGHTS[c] for c in self.categories]
        category = self.rng.choices(self.categories, weights)[0]
        pool = self.bank.by_category[category]
        own = [t for t in pool if t.lang == persona.lang]
        if persona.lang != "en" and own and self.rng.random() < 0.9:
            return self.rng.choice(own)
        english = [t for t in pool if t.lang == "en"] or list(pool)
        return self.rng.choice(english)

    def spontaneous(self, t: float) -> None:
        """One immigrant post at ``t`` hours: channel, author and text drawn from the mix."""
        channels = list(CHANNEL_WEIGHTS)
        channel = self.rng.choices(channels, [CHANNEL_WEIGHTS[c] for c in channels])[0]
        persona = self.pop.pick(self.rng, channel)
        if channel == "rss":
            own = [a for a in self.bank.articles if a.lang == persona.lang]
            art = self.rng.choice(own or [a for a in self.bank.articles if a.lang == "en"])
            self.add(self._from_template(t, "rss", persona, art))
            return
        node = self._from_template(t, channel, persona, self.template(persona))
        node.text = _vary(self.rng, node.text, node.sentiment)
        self.add(node)

    def _from_template(
        self, t: float, channel: str, persona: Persona, tpl: Template, **slots: str
    ) -> _Node:
        text = fill(tpl.text, self.rng, tpl.lang, slots)
        title = fill(tpl.title, self.rng, tpl.lang, slots) if tpl.title else None
        node = _Node(
            t=t,
            channel=channel,
            persona=persona,
            kind="post",
            text=text,
            intent=tpl.intent,
            sentiment=tpl.sentiment,
            topic=tpl.topic,
            lang=tpl.lang if channel != "forum" else None,
            template_lang=tpl.lang,
            title=title,
        )
        if channel == "forum":
            node.group = self._forum_group(tpl, persona, text)
        return node

    def _forum_group(self, tpl: Template, persona: Persona, text: str) -> str:
        low = text.lower()
        if tpl.lang != "en":
            return "International kitchen"
        if tpl.intent == "purchase_intent" or tpl.intent == "spam":
            return "Deals & coupons"
        if "airfry" in low and self.rng.random() < 0.6:
            return "AirFry 5 owners"
        if "blender" in low and self.rng.random() < 0.5:
            return "Blender nerds"
        loc = (persona.location or "").lower()
        if any(k in loc for k in ("uk", "leeds", "london", "glasgow", "bristol")) and (
            self.rng.random() < 0.5
        ):
            return "Home cooks UK"
        return "ACME owners club"

    # -- cascades -----------------------------------------------------------------------------
    def grow(self) -> None:
        """Give every queued post its children (cluster representation of the Hawkes process)."""
        while self.queue:
            self._children(self.queue.popleft())

    def _children(self, node: _Node) -> None:
        root = node.root or node
        target = node.parent if node.kind == "reshare" and node.parent else node
        m = process.branching_ratio(
            node.persona.followers, node.sentiment, node.channel, boost=node.boost
        )
        if node.intent == "spam":
            m *= 0.15
        if node.kind == "reply":
            m *= 0.35
        scale, alpha = (0.5, 1.4) if node.channel in ("forum", "rss") else (0.15, 1.5)
        room = MAX_CASCADE - root.size
        for delay in process.children_delays(self.rng, m, scale, alpha, limit=min(60, room)):
            child = self._child(node, target, node.t + delay)
            if self.add(child) is not None:
                root.size += 1

    def _child(self, node: _Node, target: _Node, t: float) -> _Node:
        boost = 1.0 + (node.boost - 1.0) * 0.75  # a running story's pull fades by generation
        if target.channel == "rss":
            channel = self.rng.choice(("mastodon", "bluesky"))
            persona = self.pop.pick(self.rng, channel)
            comment = self.rng.choice(
                ("", "", "Good read: ", "🧵 ", "via @" + target.persona.handle + " ")
            )
            return self._reshare(t, persona, target, f"{comment}{target.title} {target.url}", boost)
        channel = target.channel
        persona = self.pop.pick(self.rng, channel)
        p_reshare = 0.0 if channel == "forum" else 0.3 if target.intent == "question" else 0.65
        if node.kind == "reply":
            p_reshare *= 0.3
        if self.rng.random() < p_reshare:
            text = ""
            if self.rng.random() < 0.25:
                mood = (
                    target.sentiment if target.sentiment in ("negative", "positive") else "neutral"
                )
                text = self.rng.choice(self.bank.reshare_comments[mood])
            return self._reshare(t, persona, target, text, boost)
        parent = node if node.kind != "reshare" else target
        return self._reply(t, persona, parent, boost)

    def _reshare(self, t: float, persona: Persona, target: _Node, text: str, boost: float) -> _Node:
        return _Node(
            t=t,
            channel=persona.channel,
            persona=persona,
            kind="reshare",
            text=text,
            intent=target.intent,
            sentiment=target.sentiment,
            topic=target.topic,
            lang=None,
            parent=target,
            story=target.story,
            boost=boost,
            root=target.root or target,
        )

    def _reply(self, t: float, persona: Persona, parent: _Node, boost: float) -> _Node:
        lang = parent.lang or "en"
        if lang not in LANGS or self.rng.random() < 0.15:
            lang = persona.lang
        crisis = self.bank.crisis
        tpl: Template
        if parent.story and parent.channel == "forum" and self.rng.random() < 0.5:
            tpl = self.rng.choice(crisis.group_replies)
        else:
            mood = {"negative": "negative", "positive": "positive"}.get(parent.sentiment, "neutral")
            if parent.intent == "question":
                mood = "neutral"
            pool = self.bank.replies[mood]
            tpl = self.rng.choice([r for r in pool if r.lang == lang] or pool)
        text = fill(tpl.text, self.rng, tpl.lang, {"parent": _user(parent.persona)})
        if parent.channel == "mastodon" and not text.startswith("@"):
            text = f"@{_user(parent.persona)} {text}"
        return _Node(
            t=t,
            channel=parent.channel,
            persona=persona,
            kind="reply",
            text=text,
            intent=tpl.intent,
            sentiment=tpl.sentiment,
            topic=parent.topic,
            lang=tpl.lang if parent.channel != "forum" else None,
            template_lang=tpl.lang,
            parent=parent,
            group=parent.group,
            story=parent.story,
            boost=boost,
            root=parent.root or parent,
        )

    # -- the crisis -----------------------------------------------------------------------------
    def crisis(self, at: float) -> None:
        """The melted AirFry 5 basket: a forum post that grows into a cross-channel story."""
        c = self.bank.crisis
        rng = self.rng
        origin = _Node(
            t=at,
            channel="forum",
            persona=self.pop.customer,
            kind="post",
            text=fill(c.origin.text, rng, "en", {"days": "9"}),
            intent=c.origin.intent,
            sentiment=c.origin.sentiment,
            topic="product",
            lang=None,
            group=c.group,
            media=[{"type": "image", "url": c.media_url, "alt": c.alt}],
            story=c.story,
            boost=1.3,
        )
        if self.add(origin) is None:
            return
        link = origin.url or FORUM_HOST
        # a few group members reply with similar stories, within the group, in the first 90 min
        for n, (delay, tpl) in enumerate(
            zip(
                sorted(rng.uniform(0.08, 1.5) for _ in range(8)),
                rng.sample(c.group_replies, 8),
                strict=True,
            )
        ):
            member = self.pop.pick(rng, "forum")
            reply = _Node(
                t=at + delay,
                channel="forum",
                persona=member,
                kind="reply",
                text=tpl.text,
                intent=tpl.intent,
                sentiment=tpl.sentiment,
                topic="product",
                lang=None,
                parent=origin,
                group=c.group,
                story=c.story,
                boost=1.2,
                root=origin,
            )
            if n % 2 == 0:
                reply.media = [
                    {
                        "type": "image",
                        "url": f"{FORUM_HOST}/uploads/owners-club/airfry5-basket-{n + 2}.jpg",
                        "alt": "Another AirFry 5 basket with a warped rim and a crack in the base.",
                    }
                ]
            if self.add(reply) is not None:
                origin.size += 1

        # then it leaks out: related posts at a rate that grows logistically with time
        def rate(tau: float) -> float:
            return 0.0 if tau < 0.75 else CRISIS_PEAK / (1.0 + math.exp(-(tau - 3.5) / 1.0))

        for tau in process.thinning(rng, rate, CRISIS_PEAK, self.hours - at):
            self._related(at + tau, tau, origin, link)
        # the named cast
        inf = self.pop.influencer
        self._scripted(at + 3.0, inf, c.influencer, link, boost=2.2)
        self._scripted(at + 4.5, self.pop.journalist, c.journalist, link, boost=1.6)
        self._scripted(at + 6.5, self.pop.crisis_blog, c.blog, link, boost=1.5)

    def _related(self, t: float, tau: float, origin: _Node, link: str) -> None:
        c, rng = self.bank.crisis, self.rng
        channel = rng.choices(("mastodon", "bluesky", "forum"), (0.45, 0.45, 0.10))[0]
        persona = self.pop.pick(rng, channel)
        if channel != "forum" and rng.random() < 0.2:
            comment = rng.choice(self.bank.reshare_comments["negative"])
            node = self._reshare(t, persona, origin, f"{comment} {link}", boost=1.3)
            if self.add(node) is not None:
                origin.size += 1
            return
        own = [tpl for tpl in c.late if tpl.lang == persona.lang and tpl.lang != "en"]
        if own:
            tpl = own[0]
        elif tau < 4.0 or rng.random() < 0.5:
            tpl = rng.choice(c.spread)
        else:
            tpl = rng.choice([x for x in c.late if x.lang == "en"])
        node = self._from_template(t, channel, persona, tpl, link=link)
        node.story, node.boost = c.story, 1.4
        if channel == "forum":
            node.group = "AirFry 5 owners"
            node.lang = None
        self.add(node)

    def _scripted(self, t: float, persona: Persona, tpl: Template, link: str, boost: float) -> None:
        node = self._from_template(t, persona.channel, persona, tpl, link=link)
        node.story, node.boost = self.bank.crisis.story, boost
        self.add(node)

    # -- ids and Posts ------------------------------------------------------------------------
    def posts(self, max_posts: int) -> list[Post]:
        """Sort by time, give every node a channel-plausible id, and build validated Posts."""
        nodes = sorted(self.nodes, key=lambda n: n.t)[:max_posts]
        seq = self.rng.randrange(1 << 12)
        post_no = 480_000 + self.rng.randrange(20_000)
        per_topic: dict[int, int] = {}
        out: list[Post] = []
        for node in nodes:
            seq += 1
            at = self.start + timedelta(seconds=round(node.t * 3600))
            self._assign_id(node, at, seq, post_no + seq, per_topic)
            out.append(self._post(node, at))
        return out

    def _assign_id(
        self, node: _Node, at: datetime, seq: int, post_no: int, per_topic: dict[int, int]
    ) -> None:
        p = node.persona
        if node.channel == "mastodon":
            node.external = str((int(at.timestamp() * 1000) << 16) + (seq & 0xFFFF))
            if node.kind == "reshare" and node.parent is not None:
                node.url = node.parent.url
            else:
                instance = p.handle.rsplit("@", 1)[-1]
                node.url = f"https://{instance}/@{_user(p)}/{node.external}"
        elif node.channel == "bluesky":
            rkey = _tid(int(at.timestamp() * 1_000_000), seq)
            kind = "repost" if node.kind == "reshare" else "post"
            node.external = f"at://{p.did}/app.bsky.feed.{kind}/{rkey}"
            if node.kind == "reshare" and node.parent is not None:
                node.url = node.parent.url
            else:
                node.url = f"https://bsky.app/profile/{p.handle}/post/{rkey}"
        elif node.channel == "forum":
            node.external = str(post_no)
            root = node.root or node
            if node.kind == "post":
                node.topic_id = node.topic_id or root.topic_id
            topic = root.topic_id
            per_topic[topic] = per_topic.get(topic, 0) + 1
            base = root.url or f"{FORUM_HOST}/t/{topic}"
            node.url = base if node.kind == "post" else f"{base}/{per_topic[topic]}"
        else:
            node.external = node.url or f"{p.site}/?p={post_no}"

    def _post(self, node: _Node, at: datetime) -> Post:
        extra: dict[str, Any] = {
            "sim_intent": node.intent,
            "sim_sentiment": node.sentiment,
            "sim_topic": node.topic,
        }
        if node.text:
            extra["sim_lang"] = node.template_lang
        if node.story:
            extra["sim_story"] = node.story
        if node.title:
            extra["title"] = node.title
        text = f"{node.title}\n\n{node.text}" if node.title and node.channel == "rss" else node.text
        parent_id = f"{node.parent.channel}:{node.parent.external}" if node.parent else None
        return Post(
            id=f"{node.channel}:{node.external}",
            channel=node.channel,
            created_at=at,
            text=text,
            lang=node.lang if node.text else None,
            url=node.url,
            author=node.persona.author(),
            reply_to=parent_id if node.kind == "reply" else None,
            reshare_of=parent_id if node.kind == "reshare" else None,
            group=node.group,
            media=list(node.media),
            extra=extra,
        )


_EMOJI = {"negative": ("😤", "🙄", "😡", "😩", "🤦"), "positive": ("😍", "🙌", "✨", "👌", "😊")}


def _vary(rng: random.Random, text: str, sentiment: str) -> str:
    """Small human noise so a template used twice is rarely the same string: case, a typo, emoji."""
    r = rng.random()
    if r < 0.12 and text[:1].isupper():
        text = text[0].lower() + text[1:]
    elif r < 0.18:
        text = text.rstrip(".!")
    elif r < 0.26:
        words = text.split(" ")
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 4 and w.isalpha():
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
            text = " ".join(words)
    if sentiment in _EMOJI and rng.random() < 0.12:
        text = f"{text} {rng.choice(_EMOJI[sentiment])}"
    return text


_B32 = "234567abcdefghijklmnopqrstuvwxyz"


def _tid(micros: int, clock: int) -> str:
    """An AT Protocol record key (TID): 13 base32-sortable chars of time and a clock id."""
    value = (micros << 10) | (clock & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_B32[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def default_start() -> datetime:
    """Today at 00:00 UTC (the one place the simulator reads the clock)."""
    return now_utc().replace(hour=0, minute=0, second=0, microsecond=0)


def generate_day(
    seed: int = 7,
    start: datetime | None = None,
    hours: float = 24.0,
    base_rate_per_hour: float = 60.0,
    crisis_at_hours: float | None = 9.5,
    *,
    max_posts: int = 20_000,
) -> list[Post]:
    """A simulated day of ACME traffic: Posts sorted by ``created_at``, deterministic per seed.

    ``base_rate_per_hour`` is the mean rate of spontaneous posts (posts/hour, before reshares
    and replies); ``crisis_at_hours`` places the melted-basket crisis (None: no crisis).
    """
    if start is None:
        start = default_start()
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware, e.g. 2026-11-20T00:00:00+00:00")
    if hours <= 0 or base_rate_per_hour < 0:
        raise ValueError("hours must be positive and base_rate_per_hour not negative")
    start = start.astimezone(UTC)
    day = _Day(seed, start, hours, load_bank())
    start_hour = start.hour + start.minute / 60 + start.second / 3600

    def rate(t: float) -> float:
        return base_rate_per_hour * process.day_profile(start_hour + t)

    for t in process.thinning(day.rng, rate, base_rate_per_hour * process.PROFILE_MAX, hours):
        day.spontaneous(t)
    if crisis_at_hours is not None:
        day.crisis(crisis_at_hours)
    day.grow()
    return day.posts(max_posts)
