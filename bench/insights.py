"""Dashboard speed: every insights panel over a year of generated posts, against a plain
``SELECT count(*)`` over the same rows, in one run.

Prints p50/p95 per panel (default period: the last 30 days, and a year; with and without a
channel filter), each as a ratio to the count's p50 measured in the same run, and peak RSS.

Needs a database (nothing is started for you). For PostgreSQL:

    eval "$(bash scripts/services.sh start /tmp/pg_bench)"
    .venv/bin/python bench/insights.py --database-url "$TOWNHALL_TEST_POSTGRES_URL"
    bash scripts/services.sh stop /tmp/pg_bench

``--quick`` loads 20,000 posts (a smoke test); ``--reuse`` keeps the posts a previous run
loaded into the same database (and refills the rollups from them, unless ``--keep-rollups``
says they are already current).
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.progress import Progress
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from townhall.db import make_engine, migrate, session_factory
from townhall.insights import dashboard, metrics, rollups
from townhall.insights.metrics import Visibility
from townhall.insights.periods import last_days
from townhall.models import Item, PostRecord
from townhall.org.policy import load_policy

ACME_POLICY = Path(__file__).resolve().parents[1] / "examples" / "acme" / "policy.yaml"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/London")
CHANNELS = ("mastodon", "bluesky", "forum", "rss", "reddit", "instagram")
CHANNEL_WEIGHTS = (40, 25, 12, 5, 10, 8)
SENTIMENTS = ("positive", "neutral", "negative")
INTENTS = [
    "complaint",
    "question",
    "praise",
    "purchase_intent",
    "press_inquiry",
    "partnership",
    "job",
    "outage",
    "spam",
    "other",
]
INTENT_WEIGHTS = (18, 22, 15, 8, 1, 1, 2, 3, 5, 25)
DEPARTMENTS = ("customer_service", "marketing", "pr", "sales", "it", "hr", "back_office")
COUNTRIES = [
    "GB",
    "US",
    "DE",
    "FR",
    "NL",
    "ES",
    "IT",
    "IE",
    "BE",
    "PT",
    "SE",
    "NO",
    "DK",
    "FI",
    "PL",
    "AT",
    "CH",
    "CA",
    "AU",
    "NZ",
    "IN",
    "JP",
    "BR",
    "MX",
    "ZA",
    "NG",
    "KE",
    "AR",
    "CL",
    "TR",
]
TOPICS = (
    ["brand:acme", "competitor:globex"]
    + [f"product:{p}" for p in ("blender_pro", "kettleone", "airfry_5", "smartscale")]
    + [f"keyword:{w}" for w in range(34)]
)


def _zipf(n: int, s: float = 1.1) -> list[float]:
    """Cumulative Zipf weights of ``n`` ranks (for ``random.choices(cum_weights=...)``)."""
    return list(itertools.accumulate(1 / (k + 1) ** s for k in range(n)))


def generate(session: Session, posts: int, seed: int = 17) -> None:
    """Insert ``posts`` posts over the year before ``NOW`` (skewed: weekdays, evenings, a few
    loud days, a few prolific authors), and an item for about one post in eight."""
    rng = random.Random(seed)
    authors = [f"@user{i}@example.social" for i in range(max(posts // 20, 50))]
    author_w = _zipf(len(authors), 0.9)
    loud = {rng.randrange(365) for _ in range(8)}
    day_w = [
        (3.0 if d in loud else 1.0) * (0.7 if (NOW - timedelta(days=d)).weekday() >= 5 else 1.0)
        for d in range(365)
    ]
    topic_w = _zipf(len(TOPICS))
    country_w = _zipf(len(COUNTRIES), 1.3)
    department_w = _zipf(len(DEPARTMENTS))
    chunk = 20_000
    next_item = 0
    with Progress(transient=True) as bar:
        task = bar.add_task("posts", total=posts)
        for start in range(0, posts, chunk):
            n = min(chunk, posts - start)
            days = rng.choices(range(365), day_w, k=n)
            rows: list[dict[str, Any]] = []
            items: list[dict[str, Any]] = []
            for i in range(n):
                pk = start + i + 1
                channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
                at = NOW - timedelta(days=days[i], seconds=rng.randrange(86_400))
                author = rng.choices(authors, cum_weights=author_w)[0]
                ntopics = rng.choices((0, 1, 2, 3), (20, 55, 20, 5))[0]
                rows.append(
                    {
                        "id": pk,
                        "post_id": f"{channel}:bench{pk}",
                        "channel": channel,
                        "external_id": f"bench{pk}",
                        "created_at": at,
                        "ingested_at": at,
                        "text": "",
                        "author_handle": author,
                        "author_name": author.split("@")[1].title(),
                        "author_followers": int(rng.paretovariate(1.2) * 40),
                        "author_verified": False,
                        "media": [],
                        "extra": {},
                        "sentiment_label": rng.choices(SENTIMENTS, cum_weights=(30, 75, 100))[0],
                        "sentiment_score": 0.0,
                        "intent": rng.choices(INTENTS, INTENT_WEIGHTS)[0],
                        "country": rng.choices(COUNTRIES, cum_weights=country_w)[0]
                        if rng.random() < 0.7
                        else None,
                        "topics": sorted(set(rng.choices(TOPICS, cum_weights=topic_w, k=ntopics))),
                    }
                )
                if rng.random() < 0.125:
                    next_item += 1
                    answered = at + timedelta(minutes=rng.expovariate(1 / 45))
                    items.append(
                        {
                            "id": next_item,
                            "post_pk": pk,
                            "department": rng.choices(DEPARTMENTS, cum_weights=department_w)[0],
                            "status": "closed",
                            "rule": "bench",
                            "why": "A benchmark item.",
                            "priority": "normal",
                            "supporting": [],
                            "tags": [],
                            "matched": {},
                            "escalation_level": 0,
                            "first_response_due_at": at + timedelta(hours=1),
                            "resolution_due_at": at + timedelta(days=1),
                            "first_responded_at": answered if rng.random() < 0.9 else None,
                            "resolved_at": answered + timedelta(hours=rng.expovariate(1 / 6)),
                            "created_at": at,
                            "updated_at": at,
                        }
                    )
            session.execute(insert(PostRecord), rows)
            if items:
                session.execute(insert(Item), items)
            session.commit()
            bar.advance(task, n)


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm the caches (the page is opened more than once a day)
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _p95(times: list[float]) -> float:
    return sorted(times)[max(0, round(0.95 * len(times)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 posts, 3 repetitions")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per panel")
    parser.add_argument("--reuse", action="store_true", help="keep the posts already loaded")
    parser.add_argument(
        "--keep-rollups", action="store_true", help="with --reuse: the rollups are current"
    )
    parser.add_argument(
        "--without-rollups", action="store_true", help="every panel reads the posts (the before)"
    )
    args = parser.parse_args()
    if args.without_rollups:
        metrics._rolled = lambda flt: False  # type: ignore[assignment]  # the figures before
    posts, repeat = (20_000, 3) if args.quick else (args.posts, args.repeat)

    engine = make_engine(args.database_url)
    migrate(engine)
    sessions = session_factory(engine)
    policy = load_policy(ACME_POLICY)
    with sessions() as session:
        have = session.scalar(select(func.count(PostRecord.id))) or 0
        if have and not args.reuse:
            sys.exit(f"the database holds {have:,} posts: use an empty one, or --reuse")
        t0 = time.perf_counter()
        if not have:
            generate(session, posts)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        if not (args.reuse and args.keep_rollups):
            rollups.rebuild(session)
            session.commit()
        rebuild_s = time.perf_counter() - t0
        if engine.dialect.name == "postgresql":
            session.connection().exec_driver_sql("ANALYZE")
            session.commit()
        have = session.scalar(select(func.count(PostRecord.id))) or 0

    print(
        f"{have:,} posts ({engine.dialect.name}); load {load_s:.1f} s, rollups {rebuild_s:.1f} s"
        + (" (not read)" if args.without_rollups else "")
    )
    print(f"{'panel':<22}{'period':>7}{'channel':>10}{'p50 ms':>9}{'p95 ms':>9}{'×count':>8}")
    worst = 0.0
    with sessions() as session:
        for days in (30, 365):
            period = last_days(NOW.astimezone(ZONE).date(), days, ZONE)
            for channel in (None, "mastodon"):
                ask = dashboard.Ask(
                    policy, period, channel, None, Visibility(frozenset(), everything=True), NOW
                )
                flt = ask.filter()
                count = select(func.count()).where(
                    PostRecord.created_at >= flt.start, PostRecord.created_at < flt.end
                )
                if channel:
                    count = count.where(PostRecord.channel == channel)
                base = statistics.median(_timed(lambda q=count: session.scalar(q), repeat))
                print(f"{'count(*)':<22}{days:>6}d{channel or '-':>10}{base * 1e3:>9.1f}")
                panels: dict[str, Callable[[Session, dashboard.Ask], object]] = {
                    "headline": dashboard.headline,
                    **dashboard.PANELS,
                }
                for name, panel in panels.items():
                    times = _timed(lambda p=panel, a=ask: p(session, a), repeat)  # type: ignore[misc]
                    p50, p95 = statistics.median(times), _p95(times)
                    worst = max(worst, p95)
                    print(
                        f"{name:<22}{days:>6}d{channel or '-':>10}"
                        f"{p50 * 1e3:>9.1f}{p95 * 1e3:>9.1f}{p50 / base:>8.2f}"
                    )
    engine.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"slowest panel p95 {worst * 1e3:,.0f} ms (target < 300 ms) · peak RSS {rss_mb:,.0f} MB")


if __name__ == "__main__":
    main()
