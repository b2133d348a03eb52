"""Ingestion throughput: parse-only vs parse + dedup + route + store on SQLite, in one run.

Prints posts/s for each, their ratio, the time per batch (p50/p99) and peak RSS.
Run: `.venv/bin/python bench/ingest.py [N]` (default 50,000 posts).
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

from townhall.db import make_engine, migrate, session_factory
from townhall.org.policy import load_policy
from townhall.pipeline.runner import Pipeline
from townhall.posts import Post, now_utc, parse_post

ACME_POLICY = Path(__file__).resolve().parents[1] / "examples" / "acme" / "policy.yaml"

CHANNELS = ("mastodon", "bluesky", "forum", "rss")


def make_lines(n: int) -> list[bytes]:
    """N distinct Post JSONL lines of realistic size (every tenth a reshare)."""
    lines = []
    for i in range(n):
        channel = CHANNELS[i % 4]
        lines.append(
            orjson.dumps(
                {
                    "id": f"{channel}:{i}",
                    "channel": channel,
                    "created_at": f"2026-11-20T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:00Z",
                    "text": ""
                    if i % 10 == 0
                    else f"my ACME KettleOne #{i} leaks again 😤 any fix?",
                    "author": {
                        "handle": f"@user{i % 5000}@example.social",
                        "followers": i % 9000,
                        "location": "Leeds, UK",
                    },
                    "reshare_of": f"{channel}:{i - 1}" if i % 10 == 0 and i else None,
                }
            )
        )
    return lines


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    lines = make_lines(n)

    t0 = time.perf_counter()
    posts: list[Post] = [parse_post(raw) for raw in lines]
    parse_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        pipeline = Pipeline(session_factory(engine), load_policy(ACME_POLICY))
        batch_times = []
        t0 = time.perf_counter()
        for start in range(0, n, 500):
            b0 = time.perf_counter()
            pipeline.process_batch(posts[start : start + 500], now_utc())
            batch_times.append(time.perf_counter() - b0)
        store_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        dup = sum(
            pipeline.process_batch(posts[s : s + 500], now_utc()).duplicates
            for s in range(0, n, 500)
        )
        dup_s = time.perf_counter() - t0
        engine.dispose()

    batch_times.sort()
    p99 = batch_times[min(len(batch_times) - 1, int(len(batch_times) * 0.99))]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"posts                       {n:,}")
    print(f"parse only                  {n / parse_s:,.0f} posts/s")
    print(f"parse+store (SQLite, 500/batch) {n / (parse_s + store_s):,.0f} posts/s")
    print(f"store / parse time ratio    {store_s / parse_s:.2f}x")
    print(f"re-ingest (all duplicates)  {n / dup_s:,.0f} posts/s ({dup:,} duplicates)")
    print(
        f"batch of 500: p50 {statistics.median(batch_times) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )
    print(f"peak RSS                    {rss_mb:,.0f} MB")


if __name__ == "__main__":
    main()
