"""Simulate a policy change: route the same items by two policies and compare who gets what.

Pure: no clock, no I/O. The caller supplies each item's routing facts (from the models, or from
the enrichment stored with the post); ``route`` decides under each policy, so the simulation
can never disagree with what the running system would do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from townhall.org.policy import Policy
from townhall.routing.rules import RouteDecision, RouteFacts, route

EXCERPT_CHARS = 80
"""Longest text excerpt kept per changed item, in characters."""

PRIORITIES: tuple[str, ...] = ("urgent", "high", "normal", "low")
"""Priorities from most to least urgent (the order of the priority counts)."""


@dataclass(frozen=True, slots=True)
class SimulatedItem:
    """One item to route under both policies.

    ``new_facts`` is set only when the new policy understands the item differently (its brand
    keywords give other topics); otherwise both policies see ``facts``.
    """

    post_id: str
    facts: RouteFacts
    new_facts: RouteFacts | None = None


@dataclass(frozen=True, slots=True)
class Count:
    """How many items one department (or priority) gets under each policy."""

    key: str
    current: int
    new: int

    @property
    def delta(self) -> int:
        """New minus current (positive: the department gets more items)."""
        return self.new - self.current


@dataclass(frozen=True, slots=True)
class Change:
    """An item whose lead department or priority differs between the two policies."""

    post_id: str
    excerpt: str
    from_department: str
    to_department: str
    from_rule: str
    to_rule: str
    from_priority: str
    to_priority: str
    why: str
    """Why the new policy sends the item where it does (the new decision's sentence)."""

    @property
    def moved(self) -> bool:
        """Whether the item changes owner (not only priority)."""
        return self.from_department != self.to_department

    def to_json(self) -> dict[str, Any]:
        """The change as written by ``townhall policy simulate --json``."""
        return {
            "post_id": self.post_id,
            "text": self.excerpt,
            "from": {
                "department": self.from_department,
                "rule": self.from_rule,
                "priority": self.from_priority,
            },
            "to": {
                "department": self.to_department,
                "rule": self.to_rule,
                "priority": self.to_priority,
            },
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class Flow:
    """Items that move between the same two departments by the same two rules."""

    from_department: str
    to_department: str
    from_rule: str
    to_rule: str
    items: int

    def to_json(self) -> dict[str, Any]:
        """The flow as written by ``townhall policy simulate --json``."""
        return {
            "from": {"department": self.from_department, "rule": self.from_rule},
            "to": {"department": self.to_department, "rule": self.to_rule},
            "items": self.items,
        }


@dataclass(frozen=True, slots=True)
class Simulation:
    """The outcome of routing the same items by the current and the new policy."""

    items: int
    departments: tuple[Count, ...]
    """Every department of either policy (new policy's order first), including empty ones."""
    priorities: tuple[Count, ...]
    changes: tuple[Change, ...]
    """Items that change owner or priority, in input order."""

    @property
    def moved(self) -> tuple[Change, ...]:
        """The items that change owner."""
        return tuple(c for c in self.changes if c.moved)

    @property
    def reprioritised(self) -> tuple[Change, ...]:
        """The items that keep their owner but change priority."""
        return tuple(c for c in self.changes if not c.moved)

    def flows(self) -> tuple[Flow, ...]:
        """The moved items grouped by (from, to, old rule, new rule), largest group first."""
        groups = Counter(
            (c.from_department, c.to_department, c.from_rule, c.to_rule) for c in self.moved
        )
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))
        return tuple(Flow(*key, items) for key, items in ordered)

    def to_json(self) -> dict[str, Any]:
        """Counts and the full change list, as printed by ``townhall policy simulate --json``."""
        return {
            "items": self.items,
            "moved": len(self.moved),
            "reprioritised": len(self.reprioritised),
            "departments": [_count_json("department", c) for c in self.departments],
            "priorities": [_count_json("priority", c) for c in self.priorities],
            "flows": [f.to_json() for f in self.flows()],
            "changes": [c.to_json() for c in self.changes],
        }


def _count_json(name: str, count: Count) -> dict[str, Any]:
    return {name: count.key, "current": count.current, "new": count.new, "delta": count.delta}


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The text on one line (whitespace collapsed), cut to ``limit`` characters with '…'."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _counts(keys: Iterable[str], current: Counter[str], new: Counter[str]) -> tuple[Count, ...]:
    ordered = dict.fromkeys([*keys, *sorted(current), *sorted(new)])
    return tuple(Count(key, current[key], new[key]) for key in ordered)


def _change(item: SimulatedItem, old: RouteDecision, new: RouteDecision) -> Change:
    return Change(
        post_id=item.post_id,
        excerpt=excerpt(item.facts.text),
        from_department=old.department,
        to_department=new.department,
        from_rule=old.rule,
        to_rule=new.rule,
        from_priority=old.priority,
        to_priority=new.priority,
        why=new.why,
    )


def simulate(items: Iterable[SimulatedItem], new: Policy, current: Policy) -> Simulation:
    """Route every item by ``current`` and by ``new``: counts per department and priority
    under each, and every item whose owner or priority changes (consumes ``items`` once)."""
    current_departments: Counter[str] = Counter()
    new_departments: Counter[str] = Counter()
    current_priorities: Counter[str] = Counter()
    new_priorities: Counter[str] = Counter()
    changes: list[Change] = []
    total = 0
    for item in items:
        total += 1
        old = route(current, item.facts)
        fresh = route(new, item.new_facts or item.facts)
        current_departments[old.department] += 1
        new_departments[fresh.department] += 1
        current_priorities[old.priority] += 1
        new_priorities[fresh.priority] += 1
        if old.department != fresh.department or old.priority != fresh.priority:
            changes.append(_change(item, old, fresh))
    departments = [d.id for d in new.departments] + [d.id for d in current.departments]
    return Simulation(
        items=total,
        departments=_counts(departments, current_departments, new_departments),
        priorities=_counts(PRIORITIES, current_priorities, new_priorities),
        changes=tuple(changes),
    )


__all__ = [
    "EXCERPT_CHARS",
    "PRIORITIES",
    "Change",
    "Count",
    "Flow",
    "SimulatedItem",
    "Simulation",
    "excerpt",
    "simulate",
]
