"""The code of conduct checker: drafts/s on one core, and the latency of one draft.

Builds N drafts (default 20,000) from the 200-odd hand-written drafts of the tests
(``tests/data/conduct/drafts.jsonl``: realistic replies, posts, private messages and takeover
posts, about 60% clean), each with a greeting and a name of its own so no two are alike, and
checks every one against ACME's code of conduct (``examples/acme/policy.yaml``) with its
channel, kind and author. The process is pinned to one CPU. Prints drafts/s, p50/p99/max per
draft, the time to compile the policy's rules (once per policy object), and two baselines over
the same texts in the same run:

* a plain ``re`` scan: one case-insensitive alternation of every phrase, word and term of the
  policy (what a naive checker would do, without any of the checks that need thought);
* the toxicity model called the usual way, ``townhall.understand.toxicity.toxicity([text])``
  per draft (what the checker would cost if it called scikit-learn for each draft).

Run: `.venv/bin/python bench/conduct.py [N]`. Target: >= 2,000 drafts/s.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from townhall.models.user import Role
from townhall.org.approvals import DraftKind
from townhall.org.policy import Policy, load_policy
from townhall.publishing.conduct import Context, check, compiled_conduct
from townhall.understand.toxicity import toxicity

ROOT = Path(__file__).resolve().parents[1]
ACME_POLICY = ROOT / "examples" / "acme" / "policy.yaml"
DRAFTS = ROOT / "tests" / "data" / "conduct" / "drafts.jsonl"
NAMES = ["Sam", "Priya", "Jo", "Omar", "Aoife", "Lucy", "Ben", "Ana", "Kai", "Maria", "Tom"]
GREETINGS = ["Hi {}, ", "Hello {}! ", "Thanks {}. ", "{}, ", ""]


def drafts(n: int, seed: int = 7) -> list[tuple[str, Context]]:
    """``n`` drafts with their contexts, varied from the test corpus."""
    rows = [json.loads(line) for line in DRAFTS.read_text("utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        row = rows[i % len(rows)]
        author = row.get("author", {})
        greeting = rng.choice(GREETINGS).format(rng.choice(NAMES))
        context = Context(
            channel=row["channel"],
            kind=DraftKind(row["kind"]),
            author_department=author.get("department", ""),
            author_role=Role(author.get("role", "member")),
            paid=row.get("paid", False),
        )
        out.append((greeting + row["text"], context))
    return out


def naive_scan(policy: Policy) -> Callable[[str], int]:
    """One alternation of every phrase the policy lists, with ``re``: the baseline."""
    words = {
        w
        for rule in policy.conduct
        for w in (*rule.words, *rule.phrases, *rule.terms, *rule.prefer, *rule.disclosures)
    }
    pattern = re.compile(
        r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")(?!\w)",
        re.IGNORECASE,
    )
    return lambda text: len(pattern.findall(text))


def timed(
    label: str, items: list[tuple[str, Context]], one: Callable[[str, Context], object]
) -> float:
    """Run ``one`` on every item; print drafts/s and per-draft percentiles; return seconds."""
    latencies = []
    clock = time.perf_counter
    start = clock()
    for text, context in items:
        t0 = clock()
        one(text, context)
        latencies.append(clock() - t0)
    total = clock() - start
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1e6
    p99 = latencies[int(len(latencies) * 0.99)] * 1e6
    print(
        f"{label:<34} {len(items) / total:>9,.0f} drafts/s   p50 {p50:7,.0f} µs   "
        f"p99 {p99:7,.0f} µs   max {latencies[-1] * 1e6:8,.0f} µs"
    )
    return total


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    policy = load_policy(ACME_POLICY)
    items = drafts(n)
    t0 = time.perf_counter()
    compiled_conduct(policy)
    compile_ms = (time.perf_counter() - t0) * 1e3
    print(f"compile ACME's {len(policy.conduct)} rules {compile_ms:23.1f} ms (once per policy)")
    check(policy, items[0][0], items[0][1])  # load the toxicity model's weights
    warm = items[: min(len(items), 2_000)]
    for text, context in warm:
        check(policy, text, context)

    findings = sum(len(check(policy, t, c)) for t, c in items[:2_000])
    clean = sum(1 for t, c in items[:2_000] if not check(policy, t, c))
    print(f"drafts {n:,}; in the first 2,000: {clean:,} clean, {findings:,} findings")
    scan = naive_scan(policy)
    checker_s = timed("conduct check (ACME)", items, lambda t, c: check(policy, t, c))
    scan_s = timed("baseline: one re alternation", items, lambda t, c: scan(t))
    some = items[: max(1, n // 10)]
    model_s = timed("baseline: toxicity([text]) each", some, lambda t, c: toxicity([t]))
    print(f"checker / re scan time               {checker_s / scan_s:9.1f}x")
    print(f"checker / toxicity model per draft   {checker_s / n / (model_s / len(some)):9.2f}x")
    print(f"summary (target >= 2,000 drafts/s on one core): {n / checker_s:,.0f} drafts/s")


if __name__ == "__main__":
    main()
