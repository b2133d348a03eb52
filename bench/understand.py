"""Understanding and routing throughput: 50,000 posts on one core with the default models.

Prints posts/s for each stage and for the whole enrichment — on the simulated stream and on its
distinct texts only (every post a new text: the harder case, since the text models run once per
distinct text of a batch) — the ratio to a parse-only pass over the same JSONL in the same run,
and peak RSS. The posts are simulated ACME days (several seeds).
Run: `.venv/bin/python bench/understand.py [N]` after `make install` (the intent model).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the target says
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from townhall.org.loader import load_policy
from townhall.posts import Post, parse_post
from townhall.routing.rules import router_for
from townhall.understand.enrich import Enrichment, Understander
from townhall.understand.geo import country_from_location
from townhall.understand.language import detect_language
from townhall.understand.sentiment import score_many
from townhall.understand.toxicity import toxicity

ROOT = Path(__file__).resolve().parents[1]


def simulated_lines(n: int) -> list[bytes]:
    """N lines of simulated ACME days, generated in a child process so that the generator's
    memory does not count in this process's peak RSS."""
    script = (
        "import sys, orjson\n"
        "from townhall.connectors.simulator import generate_day\n"
        "n, seed, out = int(sys.argv[1]), 1, sys.stdout.buffer\n"
        "while n > 0:\n"
        "    for post in generate_day(seed=seed)[:n]:\n"
        "        out.write(orjson.dumps(post.to_json()) + b'\\n')\n"
        "        n -= 1\n"
        "    seed += 1\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(n)], check=True, capture_output=True)
    return result.stdout.splitlines()


def timed(label: str, n: int, work: Callable[[], object], repeat: int = 1) -> float:
    """Run ``work`` ``repeat`` times; print and return the best time (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    print(f"{label:<36} {n / best:>10,.0f} posts/s")
    return best


def stages(label: str, posts: list[Post]) -> None:
    """Posts/s of each text stage alone, one call per 1,000 posts."""
    texts = [p.text for p in posts]
    n = len(texts)
    print(label)
    timed("  sentiment", n, lambda: score_many(texts))
    timed("  toxicity", n, lambda: [toxicity(texts[i : i + 1_000]) for i in range(0, n, 1_000)])
    timed("  language", n, lambda: [detect_language(t) for t in texts])
    timed("  country", n, lambda: [country_from_location(p.author.location) for p in posts])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    lines = simulated_lines(n)
    policy = load_policy(ROOT / "examples/acme/policy.yaml")
    understander = Understander.from_policy(policy)
    posts: list[Post] = []
    parse_s = timed("parse only", n, lambda: posts.extend(parse_post(raw) for raw in lines))
    unique = list({p.text: p for p in posts}.values())
    print(f"distinct texts {len(unique):,} of {n:,} ({len(unique) / n:.0%}; the rest are text-less")
    print("reshares and repeats, which the text models score once per batch)")
    stages(f"stages, all {n:,} posts", posts)
    stages(f"stages, {len(unique):,} distinct texts", unique)
    batch = 1_000
    enrichments: list[Enrichment] = []

    def enrich_stream() -> None:
        for i in range(0, n, batch):
            enrichments.extend(understander.enrich(posts[i : i + batch]))

    enrich_s = timed("enrich, simulated stream", n, enrich_stream)
    router = router_for(policy)
    route_s = timed(
        "route (ACME's rules)",
        n,
        lambda: [router(p, e) for p, e in zip(posts, enrichments, strict=True)],
    )
    print(f"routing / enrichment time            {route_s / enrich_s:10.1%} (target < 20%)")
    distinct_s = timed(
        "enrich, distinct texts (best of 3)",
        len(unique),
        lambda: [understander.enrich(unique[i : i + batch]) for i in range(0, len(unique), batch)],
        repeat=3,
    )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"enrich / parse time ratio            {enrich_s / parse_s:10.1f}x")
    print(f"parse + enrich, simulated stream     {n / (parse_s + enrich_s):10,.0f} posts/s")
    print("summary (targets: >= 5,000 posts/s on one core, < 600 MB)")
    print(f"  DISTINCT texts, enrich             {len(unique) / distinct_s:10,.0f} posts/s")
    print(f"  simulated stream, enrich           {n / enrich_s:10,.0f} posts/s")
    print(f"  peak RSS                           {rss_mb:10,.0f} MB")


if __name__ == "__main__":
    main()
