"""The radar on simulated multi-day streams: crises caught, named, repeated; false alarms.

Run: `.venv/bin/python bench/radar_streams.py [seeds…]` (default seeds 0–4; ≈ 10 s a seed).
Prints figures, asserts nothing. Each seed is a 3-day stream of three simulated days, in an
order the seed picks: a day without a crisis, a day with the simulator's AirFry 5 crisis, and a
day with the same kind of crisis moved to the KettleOne (product names swapped in the crisis
posts only), each crisis at an hour the seed picks. Post ids get a per-day suffix so days never
share an id. Every post is understood with the default `Understander` and replayed through
`Radar` in post time; the same enriched stream feeds the mean + 3σ rule (`NaiveDetector`, on
each post's story topics, negative posts per 60 min).

Per crisis: the delay from its first post to the first alert about it, and whether that alert
names the product. An alert is *about* a crisis when a third of its posts belong to it (the
simulator's `sim_story`, kept for evaluation only, never shown to the radar), or when it is a
burst on the crisis's product or the brand within 12 h of the start. *Repeats* are alerts about
a crisis of a kind and severity already alerted for it; *false alarms* are alerts about no
crisis.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import random
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from townhall.connectors.simulator import generate_day
from townhall.org.loader import load_policy
from townhall.posts import Post
from townhall.radar.alerts import Alert
from townhall.radar.bursts import NaiveDetector
from townhall.radar.replay import Radar, RadarSettings, is_negative
from townhall.understand.enrich import Enrichment, Understander

START = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday
DAYS = 3
WINDOW = 12 * 3600.0
"""A burst on the crisis's product or the brand this soon after its start is about it."""
CAUGHT = 2 * 3600.0
SWAPS = (
    (re.compile(r"#?AirFry ?5", re.IGNORECASE), "KettleOne"),
    (re.compile(r"air ?fryer", re.IGNORECASE), "kettle"),
)
"""Moves the simulator's crisis to another product (crisis posts only)."""


@dataclass(frozen=True)
class Crisis:
    """One crisis of a stream: its story label, product topic and first post's time."""

    story: str
    product: str
    start: float


def _rename(post: Post, day: int, swap: bool) -> Post:
    def rid(value: str | None) -> str | None:
        return f"{value}~d{day}" if value else value

    data = post.model_dump(mode="json")
    data["id"] = rid(post.id)
    data["reply_to"] = rid(post.reply_to)
    data["reshare_of"] = rid(post.reshare_of)
    extra = dict(post.extra)
    if "sim_story" in extra:
        extra["sim_story"] = f"{extra['sim_story']}~d{day}"
        if swap:
            text = post.text
            for pattern, name in SWAPS:
                text = pattern.sub(name, text)
            data["text"] = text
    data["extra"] = extra
    return Post.model_validate(data)


def stream(seed: int) -> tuple[list[Post], list[Crisis]]:
    """A 3-day stream for ``seed`` and its crises."""
    rng = random.Random(f"radar-streams:{seed}")
    plan: list[tuple[str | None, bool]] = [(None, False), ("product:airfry_5", False)]
    plan.append(("product:kettleone", True))
    rng.shuffle(plan)
    posts: list[Post] = []
    crises: list[Crisis] = []
    for day, (product, swap) in enumerate(plan):
        at = rng.uniform(7.0, 15.0) if product else None
        begin = START + timedelta(days=day)
        found = generate_day(seed=1000 * seed + day, start=begin, crisis_at_hours=at)
        posts += [_rename(p, day, swap) for p in found]
        if product and at is not None:
            story = f"airfry5-melted-basket~d{day}"
            crises.append(Crisis(story, product, begin.timestamp() + at * 3600))
    posts.sort(key=lambda p: p.created_at)
    return posts, crises


def _about(alert: Alert, crisis: Crisis, stories: dict[str, str]) -> bool:
    ids = alert.post_ids
    if ids and sum(stories.get(i) == crisis.story for i in ids) * 3 >= len(ids):
        return True
    at = alert.at.timestamp()
    return (
        alert.kind == "burst"
        and alert.topic in (crisis.product, "brand:acme")
        and crisis.start <= at <= crisis.start + WINDOW
    )


@dataclass
class Outcome:
    """One seed's figures."""

    delays: list[float | None]  # minutes to the first alert, per crisis
    named: list[bool]  # the first alert names the product
    product_delays: list[float | None]  # minutes to the first alert under the product
    about: int  # alerts about a crisis
    repeats: int
    false: list[Alert]
    naive_delays: list[float | None]
    naive_false: int


def evaluate(
    posts: list[Post], enriched: list[Enrichment], crises: list[Crisis], radar: Radar
) -> Outcome:
    """Replay the stream through ``radar`` and the mean + 3σ rule; the figures."""
    stories = {p.id: str(p.extra["sim_story"]) for p in posts if "sim_story" in p.extra}
    pairs = list(zip(posts, enriched, strict=True))
    alerts: list[Alert] = []
    for k in range(0, len(pairs), 100):
        alerts += radar.observe(pairs[k : k + 100])
    delays: list[float | None] = []
    product_delays: list[float | None] = []
    named: list[bool] = []
    about = repeats = 0
    related: set[int] = set()
    for crisis in crises:
        mine = [a for a in alerts if _about(a, crisis, stories)]
        related |= {id(a) for a in mine}
        about += len(mine)
        seen: set[tuple[str, str]] = set()
        for a in mine:
            key = (a.kind, a.severity)
            repeats += key in seen
            seen.add(key)
        first = mine[0] if mine else None
        delays.append((first.at.timestamp() - crisis.start) / 60 if first else None)
        named.append(first is not None and first.topic == crisis.product)
        by_product = [a for a in mine if a.topic == crisis.product]
        product_delays.append(
            (by_product[0].at.timestamp() - crisis.start) / 60 if by_product else None
        )
    false = [a for a in alerts if id(a) not in related]
    # the mean + 3σ rule on the same posts: each post counts for its story's topics
    naive = NaiveDetector()
    story_topics: dict[str, list[str]] = {}
    alarms: list[tuple[str, float]] = []
    for post, e in pairs:
        parent = post.reshare_of or post.reply_to
        topics = story_topics.get(parent, []) if parent else []
        topics = list(dict.fromkeys([*topics, *e.topics]))
        story_topics[post.id] = topics
        at = post.created_at.timestamp()
        alarms += naive.advance(at)
        naive.add(at, topics, is_negative(e))
    episodes: list[tuple[str, float]] = []
    last: dict[str, float] = {}
    warm = posts[0].created_at.timestamp() + 2 * 3600  # the rule's own history
    for topic, at in alarms:
        if at >= warm and at - last.get(topic, -1e18) > 3600:
            episodes.append((topic, at))
        last[topic] = at
    naive_delays: list[float | None] = []
    used: set[int] = set()
    for crisis in crises:
        hits = [
            (n, at)
            for n, (topic, at) in enumerate(episodes)
            if topic in (crisis.product, "brand:acme")
            and crisis.start <= at <= crisis.start + WINDOW
        ]
        used |= {n for n, _ in hits}
        product_hits = [at for n, at in hits if episodes[n][0] == crisis.product]
        naive_delays.append((product_hits[0] - crisis.start) / 60 if product_hits else None)
    naive_false = len(episodes) - len(used)
    return Outcome(delays, named, product_delays, about, repeats, false, naive_delays, naive_false)


def _minutes(values: list[float | None]) -> str:
    return " ".join("miss" if v is None else f"{v:.0f}" for v in values)


def main(seeds: list[int]) -> None:
    """Print the per-seed table and the totals."""
    started = time.perf_counter()
    policy = load_policy(Path("examples/acme/policy.yaml"))
    understander = Understander.from_policy(policy)
    settings = RadarSettings(viral_threshold=policy.crisis.viral_threshold)
    print(f"## Radar on simulated {DAYS}-day streams (two product crises each)")
    print(
        f"{'seed':>4} {'posts':>6} {'first alert, min':>17} {'named':>7} {'product, min':>13} "
        f"{'about':>5} {'repeats':>7} {'false':>5} {'3σ, min':>9} {'3σ false':>8}"
    )
    all_delays: list[float] = []
    naive_all: list[float] = []
    caught = named = total = repeats = false = naive_false = 0
    for seed in seeds:
        posts, crises = stream(seed)
        enriched = understander.enrich(posts)
        out = evaluate(posts, enriched, crises, Radar(policy, settings))
        total += len(crises)
        caught += sum(
            d is not None and d <= CAUGHT / 60 and n
            for d, n in zip(out.delays, out.named, strict=True)
        )
        named += sum(out.named)
        all_delays += [d for d in out.delays if d is not None]
        naive_all += [d for d in out.naive_delays if d is not None]
        repeats += out.repeats
        false += len(out.false)
        naive_false += out.naive_false
        print(
            f"{seed:>4} {len(posts):>6} {_minutes(out.delays):>17} "
            f"{sum(out.named)}/{len(crises):<5} {_minutes(out.product_delays):>13} "
            f"{out.about:>5} {out.repeats:>7} {len(out.false):>5} "
            f"{_minutes(out.naive_delays):>9} {out.naive_false:>8}"
        )
        for a in out.false:
            print(f"      false: {a.at:%a %H:%M} {a.kind} {a.severity} {a.topic} — {a.why[:90]}")
    days = len(seeds) * DAYS
    median = statistics.median(all_delays) if all_delays else float("nan")
    naive_median = statistics.median(naive_all) if naive_all else float("nan")
    print(
        f"caught within 2 h under the product: {caught}/{total}; first alert named the product: "
        f"{named}/{total}; median delay {median:.0f} min (mean + 3σ on the product: "
        f"{naive_median:.0f} min, {len(naive_all)}/{total} found); repeats {repeats}; "
        f"false alarms {false} ({false / days:.2f}/day; mean + 3σ {naive_false / days:.2f}/day)"
    )
    print(f"(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or list(range(5)))
