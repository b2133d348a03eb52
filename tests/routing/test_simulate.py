"""Policy simulation: exact counts and changes between ACME's policy and small edits of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support import NOON, REACH, facts
from townhall.org.policy import Policy
from townhall.routing.rules import route
from townhall.routing.simulate import (
    EXCERPT_CHARS,
    Count,
    SimulatedItem,
    excerpt,
    simulate,
)
from townhall.understand.labels import INTENTS, SENTIMENTS


def edited(policy: Policy, rule_id: str, **then: Any) -> Policy:
    """A copy of ``policy`` whose rule ``rule_id`` has these ``then`` fields instead."""
    data = policy.model_dump(mode="python")
    rules = data["routing"]["rules"]
    (rule,) = [r for r in rules if r["id"] == rule_id]
    rule["then"].update(then)
    return Policy.model_validate(data)


@pytest.fixture(scope="module")
def issues_to_sales(acme_policy: Policy) -> Policy:
    """ACME, except that complaints and questions go to sales instead of customer service."""
    return edited(acme_policy, "customer_issues", lead="sales")


ITEMS = [
    SimulatedItem("m:1", facts(intent="complaint", text="My KettleOne broke after a week")),
    SimulatedItem("m:2", facts(intent="question", text="I can't log in to the shop")),
    SimulatedItem("m:3", facts(intent="purchase_intent", text="Where can I buy 20 kettles?")),
    SimulatedItem("m:4", facts(intent="praise", text="Love my AirFry 5")),
    # Asks something, so it is not chatter that closes at once: the fallback takes it.
    SimulatedItem("m:5", facts(intent="other", actionable=True, text="Nice weather today")),
    SimulatedItem(
        "m:6", facts(intent="complaint", sentiment="negative", reach="macro", text="Awful!")
    ),
    SimulatedItem("m:7", facts(intent="question", text="Does the\n  Blender Pro   crush ice?")),
]


def counts(result_counts: tuple[Count, ...]) -> dict[str, tuple[int, int]]:
    return {c.key: (c.current, c.new) for c in result_counts if c.current or c.new}


def test_moving_customer_issues_to_sales_moves_exactly_those_items(
    acme_policy: Policy, issues_to_sales: Policy
) -> None:
    result = simulate(ITEMS, new=issues_to_sales, current=acme_policy)

    assert result.items == 7
    assert counts(result.departments) == {
        "customer_service": (3, 1),  # m:1, m:5 (fallback), m:7 → only m:5 stays
        "sales": (1, 3),
        "it": (1, 1),
        "marketing": (1, 1),
        "pr": (1, 1),
    }
    assert [c.post_id for c in result.changes] == ["m:1", "m:7"]
    first, second = result.changes
    assert (first.from_department, first.to_department) == ("customer_service", "sales")
    assert (first.from_rule, first.to_rule) == ("customer_issues", "customer_issues")
    assert first.why == (
        "Rule 'customer_issues' (Customers with a problem or a question.): intent is complaint, "
        "so sales leads with back_office supporting."
    )
    assert second.excerpt == "Does the Blender Pro crush ice?"
    assert result.moved == result.changes and result.reprioritised == ()
    (flow,) = result.flows()
    assert (flow.from_department, flow.to_department, flow.items) == (
        "customer_service",
        "sales",
        2,
    )


def test_every_department_of_either_policy_is_listed_even_when_empty(
    acme_policy: Policy, issues_to_sales: Policy
) -> None:
    result = simulate(ITEMS[:1], new=issues_to_sales, current=acme_policy)

    assert [c.key for c in result.departments] == [d.id for d in issues_to_sales.departments]
    assert {c.key: c.delta for c in result.departments if c.delta} == {
        "customer_service": -1,
        "sales": 1,
    }


def test_a_priority_change_is_listed_but_is_not_a_move(acme_policy: Policy) -> None:
    praise_matters = edited(acme_policy, "praise", priority="high")

    result = simulate(ITEMS, new=praise_matters, current=acme_policy)

    assert result.moved == ()
    (change,) = result.reprioritised
    assert (change.post_id, change.from_priority, change.to_priority) == ("m:4", "low", "high")
    assert change.from_department == change.to_department == "marketing"
    assert {c.key: c.delta for c in result.priorities if c.delta} == {"high": 1, "low": -1}


def test_the_new_policy_sees_its_own_facts_when_given(acme_policy: Policy) -> None:
    # The new policy's brand keywords may find other topics in the same text.
    data = acme_policy.model_dump(mode="python")
    data["routing"]["rules"].insert(
        0,
        {
            "id": "rivals",
            "when": {"topics_any": ["competitor:globex"], "intent": ["question"]},
            "then": {"lead": "marketing"},
        },
    )
    watch_rivals = Policy.model_validate(data)
    old = facts(intent="question", text="Is Globex better?")
    item = SimulatedItem("m:9", old, replace(old, topics=("competitor:globex",)))

    (change,) = simulate([item], new=watch_rivals, current=acme_policy).changes
    assert (change.from_department, change.to_department) == ("customer_service", "marketing")
    assert change.to_rule == "rivals"
    assert simulate([replace(item, new_facts=None)], watch_rivals, acme_policy).changes == ()


def test_json_has_counts_flows_and_every_change(
    acme_policy: Policy, issues_to_sales: Policy
) -> None:
    data = simulate(ITEMS, new=issues_to_sales, current=acme_policy).to_json()

    assert (data["items"], data["moved"], data["reprioritised"]) == (7, 2, 0)
    assert {"department": "sales", "current": 1, "new": 3, "delta": 2} in data["departments"]
    assert data["flows"] == [
        {
            "from": {"department": "customer_service", "rule": "customer_issues"},
            "to": {"department": "sales", "rule": "customer_issues"},
            "items": 2,
        }
    ]
    assert data["changes"][0] == {
        "post_id": "m:1",
        "text": "My KettleOne broke after a week",
        "from": {"department": "customer_service", "rule": "customer_issues", "priority": "normal"},
        "to": {"department": "sales", "rule": "customer_issues", "priority": "normal"},
        "why": data["changes"][0]["why"],
    }
    assert data["changes"][0]["why"].startswith("Rule 'customer_issues'")


def test_no_items_gives_zero_counts(acme_policy: Policy, issues_to_sales: Policy) -> None:
    result = simulate([], new=issues_to_sales, current=acme_policy)

    assert result.items == 0 and result.changes == ()
    assert all(c.current == c.new == 0 for c in result.departments)


def test_excerpt_is_one_line_and_cut_with_an_ellipsis() -> None:
    assert excerpt("  a\n\tb  c ") == "a b c"
    long = "word " * 40
    cut = excerpt(long)
    assert len(cut) == EXCERPT_CHARS and cut.endswith("…")
    assert excerpt("x" * EXCERPT_CHARS) == "x" * EXCERPT_CHARS


# --- properties -------------------------------------------------------------------------------

TEXTS = (
    "",
    "I can't log in",
    "checkout is broken",
    "where is my invoice",
    "please unsubscribe me from the newsletter",
    "can't find you on google",
    "lovely day",
)

any_facts = st.builds(
    facts,
    intent=st.sampled_from(sorted(INTENTS)),
    sentiment=st.sampled_from(sorted(SENTIMENTS)),
    actionable=st.booleans(),
    toxicity=st.floats(0, 1),
    reach=st.sampled_from(REACH),
    verified=st.booleans(),
    channel=st.sampled_from(["mastodon", "bluesky", "forum", "rss", "elsewhere"]),
    text=st.sampled_from(TEXTS),
    created_at=st.integers(0, 7 * 24 * 60).map(lambda m: NOON + timedelta(minutes=m)),
)
any_items = st.lists(any_facts, max_size=30).map(
    lambda fs: [SimulatedItem(f"p:{n}", f) for n, f in enumerate(fs)]
)


@settings(max_examples=150, deadline=None)
@given(items=any_items)
def test_a_policy_against_itself_changes_nothing(
    acme_policy: Policy, items: list[SimulatedItem]
) -> None:
    result = simulate(items, new=acme_policy, current=acme_policy)

    assert result.changes == ()
    assert all(c.current == c.new for c in (*result.departments, *result.priorities))
    assert sum(c.current for c in result.departments) == len(items) == result.items
    assert sum(c.current for c in result.priorities) == len(items)


@settings(max_examples=150, deadline=None)
@given(items=any_items)
def test_only_the_edited_rule_moves_items_and_counts_still_add_up(
    acme_policy: Policy, issues_to_sales: Policy, items: list[SimulatedItem]
) -> None:
    result = simulate(items, new=issues_to_sales, current=acme_policy)

    assert sum(c.current for c in result.departments) == len(items)
    assert sum(c.new for c in result.departments) == len(items)
    assert sum(c.delta for c in result.departments) == 0
    expected = [i.post_id for i in items if route(acme_policy, i.facts).rule == "customer_issues"]
    assert [c.post_id for c in result.moved] == expected
    assert all(
        (c.from_department, c.to_department) == ("customer_service", "sales") for c in result.moved
    )
    assert result.reprioritised == ()
