"""Understanding and routing throughput: 50,000 posts on one core with the default models.

Prints posts/s for each stage and for the whole enrichment, the ratio to a parse-only pass over
the same JSONL in the same run, and peak RSS. The posts are simulated ACME days (several seeds).
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


def timed(label: str, n: int, work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    print(f"{label:<28} {n / seconds:>10,.0f} posts/s")
    return seconds


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    lines = simulated_lines(n)
    policy = load_policy(ROOT / "examples/acme/policy.yaml")
    understander = Understander.from_policy(policy)
    posts: list[Post] = []
    parse_s = timed("parse only", n, lambda: posts.extend(parse_post(raw) for raw in lines))
    texts = [p.text for p in posts]
    distinct = len(set(texts))
    print(f"distinct texts               {distinct:10,} of {n:,} ({distinct / n:.0%}; the rest are")
    print("                             text-less reshares and repeats, scored once per batch)")
    timed("  sentiment", n, lambda: score_many(texts))
    timed("  toxicity", n, lambda: toxicity(texts))
    timed("  language", n, lambda: [detect_language(t) for t in texts])
    timed("  country", n, lambda: [country_from_location(p.author.location) for p in posts])
    batch = 1_000
    enrichments: list[Enrichment] = []
    enrich_s = timed(
        "enrich (all, 1,000/batch)",
        n,
        lambda: [
            enrichments.extend(understander.enrich(posts[i : i + batch]))
            for i in range(0, n, batch)
        ],
    )
    router = router_for(policy)
    route_s = timed(
        "route (ACME's rules)",
        n,
        lambda: [router(p, e) for p, e in zip(posts, enrichments, strict=True)],
    )
    print(f"routing / enrichment time    {route_s / enrich_s:10.1%} (target < 20%)")
    unique = list({p.text: p for p in posts}.values())
    timed(
        f"enrich ({len(unique):,} distinct texts)",
        len(unique),
        lambda: [understander.enrich(unique[i : i + batch]) for i in range(0, len(unique), batch)],
    )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"enrich / parse time ratio    {enrich_s / parse_s:10.1f}x")
    print(f"parse + enrich               {n / (parse_s + enrich_s):10,.0f} posts/s (target 5,000)")
    print(f"peak RSS                     {rss_mb:10,.0f} MB (target < 600)")


if __name__ == "__main__":
    main()
