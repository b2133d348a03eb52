"""The routing section of the policy: ordered rules (conditions → action) and a fallback, and
the checks that rules refer to real departments, channels, topics and groups and can match.

Pure: no I/O. ``townhall.routing.rules`` evaluates these rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import Field

from townhall.org.fields import (
    Id,
    IntentList,
    Loc,
    PolicyModel,
    Priority,
    ReachList,
    SentimentList,
    Sla,
    StrList,
    TimeWindow,
    WeekdayList,
    fold_keyword,
    in_window,
    items_of,
    one_or_many,
    strings_of,
    unique_ids,
    window_minutes,
)


class RuleConditions(PolicyModel):
    """When a routing rule applies: every condition set must hold; a list means "any of"."""

    intent: IntentList | None = None
    sentiment: SentimentList | None = None
    actionable: bool | None = None
    toxicity_at_least: float | None = Field(default=None, ge=0.0, le=1.0)
    topics_any: StrList | None = None
    language: StrList | None = None
    country: StrList | None = None
    reach: ReachList | None = None
    verified: bool | None = None
    channel: StrList | None = None
    group: StrList | None = None
    keywords_any: StrList | None = None
    """Whole words or phrases, any of which is in the text; ``refund*`` also matches words
    that start with ``refund``."""
    keywords_all: list[StrList] | None = None
    """Lists of keywords (as in ``keywords_any``): the text has one of each list."""
    keywords_none: StrList | None = None
    """Keywords (as in ``keywords_any``) none of which may be in the text."""
    max_words: int | None = Field(default=None, ge=1)
    """The text has at most this many words (@mentions and links not counted)."""
    hours: TimeWindow | None = None
    weekdays: WeekdayList | None = None

    def set_conditions(self) -> dict[str, Any]:
        """The conditions this rule sets, in field order."""
        return {k: v for k, v in self if v is not None}


class RuleAction(PolicyModel):
    """What a routing rule decides: who leads, who supports, how urgent, which SLA."""

    lead: str
    supporting: list[str] = []
    priority: Priority = "normal"
    sla_minutes: Sla | None = None
    tags: list[str] = []
    escalate: bool = False
    """Start the item one step up its escalation chain (with the department's approver)."""
    activity: str | None = None
    """The ownership activity this work belongs to; its lead is the last escalation step."""
    close: bool = False
    """The item is closed as soon as it opens, with the rule's reason (no queue, no SLA):
    spam, or chatter that asks for nothing."""


class RoutingRule(PolicyModel):
    """One ordered routing rule: the first whose ``when`` matches decides."""

    id: Id
    description: str = ""
    when: RuleConditions = RuleConditions()
    then: RuleAction


class Routing(PolicyModel):
    """The routing section: ordered rules, and the action when none matches."""

    rules: list[RoutingRule] = []
    fallback: RuleAction


def normalized_conditions(when: RuleConditions) -> dict[str, Any]:
    """The conditions a rule sets, with list values as sets compared the way routing does."""
    out: dict[str, Any] = {}
    for key, value in when.set_conditions().items():
        if key == "language":
            out[key] = frozenset(v.lower() for v in value)
        elif key == "country":
            out[key] = frozenset(v.upper() for v in value)
        elif key in ("keywords_any", "keywords_none", "group"):
            out[key] = frozenset(fold_keyword(v) for v in value)
        elif key == "keywords_all":
            out[key] = tuple(frozenset(fold_keyword(v) for v in group) for group in value)
        elif key == "hours":
            out[key] = window_minutes(value)
        elif isinstance(value, list):
            out[key] = frozenset(value)
        else:
            out[key] = value
    return out


def covers(earlier: RuleConditions, later: RuleConditions) -> bool:
    """Whether every item ``later`` matches is also matched by ``earlier`` (so ``later`` is dead).

    True when each condition ``earlier`` sets is set by ``later`` too, with a subset of values
    (lists), the same value (booleans), an equal or higher threshold, or a window inside it;
    ``keywords_none`` the other way round (``later`` excludes at least as much), and
    ``keywords_all`` when each of ``earlier``'s lists holds one of ``later``'s. A ``*`` prefix
    keyword is compared as written, so a rule it makes dead may go unreported (never the
    reverse).
    """
    return covers_normalized(normalized_conditions(earlier), normalized_conditions(later))


def covers_normalized(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """``covers`` over conditions already put through ``normalized_conditions``."""
    for key, value in first.items():
        if key not in second:
            return False
        other = second[key]
        if key == "toxicity_at_least":
            ok = other >= value
        elif key == "max_words":
            ok = other <= value
        elif key == "keywords_none":
            ok = value <= other  # later excludes at least what earlier excludes
        elif key == "keywords_all":
            ok = all(any(theirs <= ours for theirs in other) for ours in value)
        elif key == "hours":
            ok = all(in_window(m, value) for m in range(1440) if in_window(m, other))
        elif isinstance(value, frozenset):
            ok = other <= value
        else:
            ok = other == value
        if not ok:
            return False
    return True


def keyword_problem(keyword: str) -> str | None:
    """Why a routing keyword cannot work as written, or None when it can."""
    stem = fold_keyword(keyword).removesuffix("*")
    if not stem:
        return "an empty keyword matches nothing"
    if "*" in stem:
        return f"{keyword!r}: '*' may only end a keyword (a prefix: 'refund*')"
    if keyword.endswith("*") and len(stem) < 3:
        return f"{keyword!r}: a prefix needs at least 3 characters before the '*'"
    return None


def routing_problems(
    data: Mapping[str, Any], routing: Mapping[str, Any], check_ref: Callable[[Loc, Any], None]
) -> list[tuple[Loc, str]]:
    """Problems of the ``routing`` section of raw policy data, each with its location."""
    from townhall.understand.topics import topic_slug  # deferred: keeps this module light

    problems: list[tuple[Loc, str]] = []
    channel_ids = sorted(
        c["id"] for _, c in items_of(data, "channels") if isinstance(c.get("id"), str)
    )
    groups = {
        fold_keyword(g)
        for _, c in items_of(data, "channels")
        for _, g in strings_of(c.get("groups"))
    }
    brand = data.get("brand") if isinstance(data.get("brand"), Mapping) else {}
    assert isinstance(brand, Mapping)
    topics = set()
    if isinstance(brand.get("name"), str):
        topics.add(f"brand:{topic_slug(brand['name'])}")
    topics |= {
        f"product:{p['id']}" for _, p in items_of(brand, "products") if isinstance(p.get("id"), str)
    }
    topics |= {
        f"competitor:{topic_slug(c['name'])}"
        for _, c in items_of(brand, "competitors")
        if isinstance(c.get("name"), str)
    }

    activities = sorted(
        a["id"] for _, a in items_of(data, "ownership") if isinstance(a.get("id"), str)
    )

    def check_action(loc: Loc, action: Any) -> None:
        if not isinstance(action, Mapping):
            return
        lead = action.get("lead")
        check_ref((*loc, "lead"), lead)
        activity = action.get("activity")
        if isinstance(activity, str) and activity not in activities:
            problems.append(
                (
                    (*loc, "activity"),
                    f"unknown activity {activity!r} (valid: {', '.join(activities)})",
                )
            )
        seen: set[str] = set()
        for j, dept in strings_of(action.get("supporting")):
            check_ref((*loc, "supporting", j), dept)
            if dept == lead:
                problems.append(((*loc, "supporting", j), f"{dept!r} is already the lead"))
            elif dept in seen:
                problems.append(((*loc, "supporting", j), f"{dept!r} is listed twice"))
            seen.add(dept)

    rules = items_of(routing, "rules")
    problems += [(("routing", *loc), msg) for loc, msg in unique_ids("rules", rules)]
    parsed: list[tuple[int, str, dict[str, Any]]] = []
    for i, rule in rules:
        loc: Loc = ("routing", "rules", i)
        check_action((*loc, "then"), rule.get("then"))
        when = rule.get("when")
        if when is None:
            when = {}
        if not isinstance(when, Mapping):
            continue
        for j, channel in strings_of(one_or_many(when.get("channel"))):
            if channel not in channel_ids:
                problems.append(
                    (
                        (*loc, "when", "channel", j),
                        f"unknown channel {channel!r} (valid: {', '.join(channel_ids)})",
                    )
                )
        for j, topic in strings_of(one_or_many(when.get("topics_any"))):
            # Without a valid brand its own problem is reported; topics cannot be told then.
            if topic not in topics and brand:
                problems.append(
                    (
                        (*loc, "when", "topics_any", j),
                        f"unknown topic {topic!r} (valid: {', '.join(sorted(topics))})",
                    )
                )
        for field in ("keywords_any", "keywords_none", "keywords_all"):
            lists = when.get(field) if field == "keywords_all" else [when.get(field)]
            for k, words in enumerate(lists if isinstance(lists, list) else []):
                for j, word in strings_of(one_or_many(words)):
                    where: Loc = (*loc, "when", field, k, j)
                    if field != "keywords_all":
                        where = (*loc, "when", field, j)
                    if problem := keyword_problem(word):
                        problems.append((where, problem))
        for j, group in strings_of(one_or_many(when.get("group"))):
            if fold_keyword(group) not in groups:
                problems.append(
                    (
                        (*loc, "when", "group", j),
                        f"unknown group {group!r} (not in any channel's groups)",
                    )
                )
        try:
            conditions = RuleConditions.model_validate(when)
        except ValueError:
            continue  # field validation reports it
        rule_id = rule.get("id")
        if isinstance(rule_id, str):
            parsed.append((i, rule_id, normalized_conditions(conditions)))

    for n, (i, rule_id, normalized) in enumerate(parsed):
        for j, earlier_id, earlier in parsed[:n]:
            if covers_normalized(earlier, normalized):
                problems.append(
                    (
                        ("routing", "rules", i),
                        f"rule {rule_id!r} can never match: rule {earlier_id!r} (rules[{j}]) "
                        "matches everything it does",
                    )
                )
                break

    check_action(("routing", "fallback"), routing.get("fallback"))
    return problems
