"""Routing accuracy on the hand-written cases of ``tests/data/routing/cases.jsonl``.

Each case is a post someone might write to ACME, the department that should lead it under
ACME's ownership split, and the half it belongs to. The halves were split by theme before any
rule was tuned: rules were tuned on half A only, so half B is held out.

Every case goes through the same path as ``townhall route``: the default models understand it,
then ACME's routing rules decide. Run it as a script to print the figures per half and per
department, and each miss:

    .venv/bin/python tests/routing/measure.py [--misses] [--policy FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests/data/routing/cases.jsonl"
ACME_POLICY = ROOT / "examples/acme/policy.yaml"
HALVES = ("A", "B")
"""Half A was used to tune the rules; half B was not (held out)."""


@dataclass(frozen=True)
class Case:
    """One hand-written post and where it should go."""

    text: str
    channel: str
    department: str
    half: str
    theme: str
    lang: str
    note: str


@dataclass(frozen=True)
class Outcome:
    """Where a case went, and by which rule."""

    case: Case
    department: str
    rule: str
    intent: str

    @property
    def right(self) -> bool:
        """Whether the lead department is the expected one."""
        return self.department == self.case.department


def load_cases(path: Path = CASES) -> list[Case]:
    """The cases, in file order."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            cases.append(Case(**{k: data[k] for k in Case.__dataclass_fields__}))
    return cases


def route_cases(cases: list[Case], policy_path: Path = ACME_POLICY) -> list[Outcome]:
    """Understand and route every case with the default models and the policy's rules."""
    from townhall.org.loader import load_policy
    from townhall.posts import Post
    from townhall.routing.rules import router_for
    from townhall.understand.enrich import Understander

    policy = load_policy(policy_path)
    understander = Understander.from_policy(policy)
    router = router_for(policy)
    posts = [
        Post.model_validate(
            {
                "id": f"{case.channel}:{n}",
                "channel": case.channel,
                "created_at": "2026-11-20T11:00:00Z",
                "text": case.text,
                "author": {"handle": f"@person{n}@example.social", "followers": 180},
            }
        )
        for n, case in enumerate(cases)
    ]
    outcomes = []
    for case, post, enrichment in zip(cases, posts, understander.enrich(posts), strict=True):
        decision = router(post, enrichment)
        outcomes.append(Outcome(case, decision.department, decision.rule, enrichment.intent))
    return outcomes


def accuracy(outcomes: list[Outcome], half: str | None = None) -> float:
    """Share of cases (of one half, or all) whose lead department is right."""
    chosen = [o for o in outcomes if half is None or o.case.half == half]
    return sum(o.right for o in chosen) / len(chosen)


def report(outcomes: list[Outcome], misses: bool) -> str:
    """The figures per half and per department, as text."""
    lines = []
    for half in HALVES:
        chosen = [o for o in outcomes if o.case.half == half]
        label = "tuned" if half == "A" else "held out"
        right = sum(o.right for o in chosen)
        lines.append(
            f"half {half} ({label}): {right}/{len(chosen)} right ({right / len(chosen):.1%})"
        )
        totals = Counter(o.case.department for o in chosen)
        good = Counter(o.case.department for o in chosen if o.right)
        lines.append("  " + ", ".join(f"{d} {good[d]}/{totals[d]}" for d in sorted(totals)))
    if misses:
        for o in outcomes:
            if not o.right:
                lines.append(
                    f"miss [{o.case.half}] {o.case.department} → {o.department} "
                    f"(rule {o.rule}, intent {o.intent}): {o.case.text}"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the routing accuracy of the cases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--policy", type=Path, default=ACME_POLICY)
    args = parser.parse_args(argv)
    print(report(route_cases(load_cases(), args.policy), args.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
