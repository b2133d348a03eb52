"""The policy's ``routing`` section: its models, and every problem reported as FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from townhall.errors import PolicyError
from townhall.org.loader import load_policy
from townhall.org.policy import REQUIRED_ACTIVITIES
from townhall.org.routing import RuleConditions, covers

# Line numbers below refer to this text plus a routing section starting on line ROUTING_LINE.
BASE = """\
version: 1
timezone: Europe/London
brand:
  name: Tiny
  products:
    - {id: kettle, name: Tiny Kettle, qa_owner: ops}
channels:
  - {id: mastodon, kind: mastodon, account: "@tiny@mastodon.example", default_owner: ops}
  - {id: forum, kind: forum, account: forum.example, default_owner: ops, groups: [Fans]}
departments:
  - {id: ops, name: Operations}
  - {id: pr, name: Press}
people:
  - {name: Ada, email: ada@tiny.example, department: ops, role: admin}
  - {name: Bo, email: bo@tiny.example, department: pr}
ownership:
""" + "".join(f"  - {{id: {a}, lead: [ops]}}\n" for a in REQUIRED_ACTIVITIES)
ROUTING_LINE = BASE.count("\n") + 1


def problems(tmp_path: Path, routing: str) -> list[str]:
    path = tmp_path / "policy.yaml"
    path.write_text(BASE + routing, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    prefix = f"{path}:"
    assert all(p.startswith(prefix) for p in caught.value.problems)
    return [p.removeprefix(prefix) for p in caught.value.problems]


def line(n: int) -> int:
    """The file line of the n-th line (1-based) of the routing text."""
    return ROUTING_LINE + n - 1


def test_a_valid_routing_section_loads(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        BASE
        + """\
routing:
  rules:
    - id: press
      when: {intent: press_inquiry, channel: [mastodon], topics_any: [product:kettle]}
      then:
        lead: pr
        supporting: [ops]
        priority: high
        sla_minutes: {first_response: 5, resolution: 60}
    - id: fans
      when: {group: [fans], hours: "22:00-06:00", weekdays: [sat, sun]}
      then: {lead: ops}
  fallback: {lead: ops}
""",
        encoding="utf-8",
    )
    policy = load_policy(path)
    assert policy.timezone == "Europe/London"
    assert policy.routing is not None
    press = policy.routing.rules[0]
    assert press.when.intent == ["press_inquiry"]  # one value reads as a list of one
    assert press.then.sla_minutes is not None and press.then.sla_minutes.first_response == 5
    assert policy.routing.fallback.priority == "normal"


def test_unknown_department_lists_the_valid_ones(tmp_path: Path) -> None:
    routing = """\
routing:
  rules:
    - id: press
      when: {intent: [press_inquiry]}
      then:
        lead: legal
        supporting: [pr]
  fallback: {lead: ops}
"""
    assert problems(tmp_path, routing) == [
        f"{line(6)}: routing.rules[0].then.lead: unknown department 'legal' (valid: ops, pr)"
    ]


def test_unknown_intent_lists_the_valid_ones(tmp_path: Path) -> None:
    routing = """\
routing:
  rules:
    - id: press
      when:
        intent: [press_inquiry, gossip]
      then: {lead: pr}
  fallback: {lead: ops}
"""
    assert problems(tmp_path, routing) == [
        f"{line(5)}: routing.rules[0].when.intent[1]: invalid value 'gossip' (valid: "
        "'complaint', 'question', 'praise', 'purchase_intent', 'press_inquiry', 'partnership', "
        "'job', 'outage', 'spam' or 'other')"
    ]


def test_unreachable_rule_names_the_rule_that_hides_it(tmp_path: Path) -> None:
    routing = """\
routing:
  rules:
    - id: press
      when: {intent: [press_inquiry]}
      then: {lead: pr}
    - id: complaints
      when: {intent: [complaint, question]}
      then: {lead: ops}
    - id: complaints_2
      when: {intent: [complaint], sentiment: [negative]}
      then: {lead: pr}
  fallback: {lead: ops}
"""
    assert problems(tmp_path, routing) == [
        f"{line(9)}: routing.rules[2]: rule 'complaints_2' can never match: rule 'complaints' "
        "(rules[1]) matches everything it does"
    ]


def test_every_rule_after_an_empty_when_is_unreachable(tmp_path: Path) -> None:
    routing = """\
routing:
  rules:
    - id: everything
      then: {lead: ops}
    - id: press
      when: {intent: [press_inquiry]}
      then: {lead: pr}
  fallback: {lead: ops}
"""
    assert problems(tmp_path, routing) == [
        f"{line(5)}: routing.rules[1]: rule 'press' can never match: rule 'everything' "
        "(rules[0]) matches everything it does"
    ]


def test_duplicate_rule_id(tmp_path: Path) -> None:
    routing = """\
routing:
  rules:
    - id: press
      when: {intent: [press_inquiry]}
      then: {lead: pr}
    - id: press
      when: {intent: [job]}
      then: {lead: ops}
  fallback: {lead: ops}
"""
    assert problems(tmp_path, routing) == [
        f"{line(6)}: routing.rules[1].id: duplicate id 'press' (first at rules[0])"
    ]


def test_lead_also_supporting(tmp_path: Path) -> None:
    routing = """\
routing:
  rules:
    - id: press
      when: {intent: [press_inquiry]}
      then:
        lead: pr
        supporting: [ops, pr]
  fallback: {lead: ops}
"""
    assert problems(tmp_path, routing) == [
        f"{line(7)}: routing.rules[0].then.supporting[1]: 'pr' is already the lead"
    ]


def test_missing_fallback(tmp_path: Path) -> None:
    routing = """\
routing:
  rules:
    - id: press
      when: {intent: [press_inquiry]}
      then: {lead: pr}
"""
    assert problems(tmp_path, routing) == [f"{line(1)}: routing.fallback: missing required field"]


def test_unknown_fields_channels_topics_groups_and_bad_times(tmp_path: Path) -> None:
    routing = """\
routing:
  rules:
    - id: press
      when:
        intnet: [press_inquiry]
        channel: [twitter]
        topics_any: [product:toaster]
        group: [Haters]
        reach: [giga]
        hours: "9-17"
        weekdays: [monday]
        toxicity_at_least: 2
      then: {lead: pr, priority: asap}
  fallback: {lead: ops, colour: red}
"""
    assert problems(tmp_path, routing) == [
        f"{line(5)}: routing.rules[0].when.intnet: unknown field (valid fields: intent, "
        "sentiment, actionable, toxicity_at_least, topics_any, language, country, reach, "
        "verified, channel, group, keywords_any, keywords_all, keywords_none, max_words, hours, "
        "weekdays)",
        f"{line(6)}: routing.rules[0].when.channel[0]: unknown channel 'twitter' "
        "(valid: forum, mastodon)",
        f"{line(7)}: routing.rules[0].when.topics_any[0]: unknown topic 'product:toaster' "
        "(valid: brand:tiny, product:kettle)",
        f"{line(8)}: routing.rules[0].when.group[0]: unknown group 'Haters' "
        "(not in any channel's groups)",
        f"{line(9)}: routing.rules[0].when.reach[0]: invalid value 'giga' "
        "(valid: 'nano', 'micro', 'mid', 'macro' or 'mega')",
        f"{line(10)}: routing.rules[0].when.hours: invalid hours '9-17' "
        "(expected HH:MM-HH:MM, e.g. 09:00-17:00)",
        f"{line(11)}: routing.rules[0].when.weekdays[0]: invalid value 'monday' "
        "(valid: 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun')",
        f"{line(12)}: routing.rules[0].when.toxicity_at_least: Input should be less than or "
        "equal to 1, got 2",
        f"{line(13)}: routing.rules[0].then.priority: invalid value 'asap' "
        "(valid: 'low', 'normal', 'high' or 'urgent')",
        f"{line(14)}: routing.fallback.colour: unknown field (valid fields: lead, supporting, "
        "priority, sla_minutes, tags, escalate, activity, close)",
    ]


@pytest.mark.parametrize(
    ("earlier", "later", "expected"),
    [
        ({}, {"intent": ["job"]}, True),
        ({"intent": ["job", "spam"]}, {"intent": ["job"], "channel": ["rss"]}, True),
        ({"intent": ["job"]}, {"intent": ["job", "spam"]}, False),
        ({"intent": ["job"], "channel": ["rss"]}, {"intent": ["job"]}, False),
        ({"verified": True}, {"verified": False}, False),
        ({"toxicity_at_least": 0.5}, {"toxicity_at_least": 0.8}, True),
        ({"toxicity_at_least": 0.8}, {"toxicity_at_least": 0.5}, False),
        ({"hours": "08:00-20:00"}, {"hours": "09:00-17:00"}, True),
        ({"hours": "22:00-06:00"}, {"hours": "23:00-01:00"}, True),
        ({"hours": "09:00-17:00"}, {"hours": "22:00-06:00"}, False),
        ({"keywords_any": ["Invoice", "VAT"]}, {"keywords_any": ["invoice"]}, True),
        ({"country": ["gb"]}, {"country": ["GB"]}, True),
    ],
)
def test_covers(earlier: dict[str, object], later: dict[str, object], expected: bool) -> None:
    first = RuleConditions.model_validate(earlier)
    second = RuleConditions.model_validate(later)
    assert covers(first, second) is expected
