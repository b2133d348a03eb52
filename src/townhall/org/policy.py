"""The organisation policy as pydantic models: brand, channels, departments, people, ownership
and the routing rules.

Pure: no I/O. ``townhall.org.loader`` reads the YAML and reports errors with line numbers
(``load_policy`` here delegates to it); ``policy_problems`` holds the cross-field rules so the
loader can run them on raw data too.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationInfo,
    model_validator,
)

from townhall.models.user import Role
from townhall.understand.labels import Intent, SentimentLabel
from townhall.understand.reach import ReachTier

#: Activities every ownership matrix must assign, so no kind of work is left without an owner.
REQUIRED_ACTIVITIES: tuple[str, ...] = (
    "brand_voice",
    "platform_pages",
    "social_calendar",
    "campaigns",
    "advertising",
    "community_management",
    "media_relations",
    "communication_plans",
    "crisis_management",
    "influencer_relationships",
    "customer_issues",
    "referrals_and_leads",
    "site_and_app_problems",
    "jobs_and_employer_brand",
    "company_procedures",
    "search_visibility",
    "email_programmes",
)

#: Validation context key that defers the cross-field rules to the caller (the loader).
SKIP_CROSS_CHECKS = "skip_cross_checks"

Loc = tuple[str | int, ...]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOURS = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"invalid id {value!r} (use lowercase letters, digits and _)")
    return value


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"not an e-mail address: {value!r} (expected name@domain.example)")
    return value


def _check_hours(value: str) -> str:
    if not _HOURS.match(value):
        raise ValueError(
            f"invalid working hours {value!r} (expected HH:MM-HH:MM, e.g. 08:00-18:00)"
        )
    start, end = value.split("-")
    if start >= end:
        raise ValueError(f"working hours {value!r} end before they start")
    return value


def _check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r} (expected an IANA name such as Europe/London)"
        ) from None
    return value


def _check_window(value: str) -> str:
    if not _HOURS.match(value):
        raise ValueError(f"invalid hours {value!r} (expected HH:MM-HH:MM, e.g. 09:00-17:00)")
    start, end = value.split("-")
    if start == end:
        raise ValueError(f"hours {value!r} start and end at the same time")
    return value


def _one_or_many(value: Any) -> Any:
    # `intent: press_inquiry` reads as `intent: [press_inquiry]`.
    return [value] if isinstance(value, str) else value


Id = Annotated[str, AfterValidator(_check_id)]
Email = Annotated[str, AfterValidator(_check_email)]
WorkingHours = Annotated[str, AfterValidator(_check_hours)]
Timezone = Annotated[str, AfterValidator(_check_timezone)]
#: Local time window of a routing rule; may wrap past midnight (``22:00-06:00``).
TimeWindow = Annotated[str, AfterValidator(_check_window)]

Priority = Literal["low", "normal", "high", "urgent"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
"""Weekday names in ``datetime.weekday()`` order (Monday is 0)."""

# Condition values: one value or a non-empty list of them ("any of").
_AnyOf = (BeforeValidator(_one_or_many), Field(min_length=1))
IntentList = Annotated[list[Intent], *_AnyOf]
SentimentList = Annotated[list[SentimentLabel], *_AnyOf]
ReachList = Annotated[list[ReachTier], *_AnyOf]
WeekdayList = Annotated[list[Weekday], *_AnyOf]
StrList = Annotated[list[str], *_AnyOf]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelKind(StrEnum):
    """Which connector listens on a channel."""

    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    FORUM = "forum"
    RSS = "rss"
    JSONL = "jsonl"
    SIMULATOR = "simulator"


class Product(_Model):
    """A product people talk about; ``qa_owner`` is the department answering for its quality."""

    id: Id
    name: str
    aliases: list[str] = []
    qa_owner: str


class Competitor(_Model):
    """A competitor whose mentions are worth watching."""

    name: str
    aliases: list[str] = []


class Brand(_Model):
    """The company's names and what people call its products and competitors."""

    name: str
    keywords: list[str] = []
    products: list[Product] = []
    competitors: list[Competitor] = []


class Channel(_Model):
    """A channel or account the organisation listens on, and who owns its posts by default."""

    id: Id
    kind: ChannelKind
    account: str
    default_owner: str
    description: str = ""
    groups: list[str] = []


class Sla(_Model):
    """Service-level targets in minutes."""

    first_response: PositiveInt
    resolution: PositiveInt

    @model_validator(mode="after")
    def _ordered(self) -> Sla:
        if self.resolution < self.first_response:
            raise ValueError("resolution must not be shorter than first_response")
        return self


class Department(_Model):
    """A team that takes part in social media."""

    id: Id
    name: str
    description: str = ""
    working_hours: WorkingHours | None = None
    timezone: Timezone | None = None
    sla_minutes: Sla | None = None


class Person(_Model):
    """Someone in a department; the role says what they may do."""

    name: str
    email: Email
    department: str
    role: Role = Role.MEMBER


class Activity(_Model):
    """One row of the ownership matrix: who leads an activity and who supports it."""

    id: Id
    description: str = ""
    lead: list[str] = Field(min_length=1)
    support: list[str] = []


class RuleConditions(_Model):
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
    hours: TimeWindow | None = None
    weekdays: WeekdayList | None = None

    def set_conditions(self) -> dict[str, Any]:
        """The conditions this rule sets, in field order."""
        return {k: v for k, v in self if v is not None}


class RuleAction(_Model):
    """What a routing rule decides: who leads, who supports, how urgent, which SLA."""

    lead: str
    supporting: list[str] = []
    priority: Priority = "normal"
    sla_minutes: Sla | None = None
    tags: list[str] = []
    escalate: bool = False


class RoutingRule(_Model):
    """One ordered routing rule: the first whose ``when`` matches decides."""

    id: Id
    description: str = ""
    when: RuleConditions = RuleConditions()
    then: RuleAction


class Routing(_Model):
    """The routing section: ordered rules, and the action when none matches."""

    rules: list[RoutingRule] = []
    fallback: RuleAction


class Policy(_Model):
    """The whole organisation policy (``version: 1``)."""

    version: Literal[1]
    timezone: Timezone = "UTC"
    brand: Brand
    channels: list[Channel] = Field(min_length=1)
    departments: list[Department] = Field(min_length=1)
    people: list[Person] = Field(min_length=1)
    ownership: list[Activity] = Field(min_length=1)
    routing: Routing | None = None

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Policy:
        if isinstance(info.context, Mapping) and info.context.get(SKIP_CROSS_CHECKS):
            return self
        problems = policy_problems(self.model_dump(mode="python"))
        if problems:
            raise ValueError("; ".join(f"{format_loc(loc)}: {msg}" for loc, msg in problems))
        return self

    @property
    def department_ids(self) -> list[str]:
        """The department ids in file order."""
        return [d.id for d in self.departments]

    def department(self, department_id: str) -> Department:
        """The department with this id; raises KeyError if there is none."""
        for dept in self.departments:
            if dept.id == department_id:
                return dept
        raise KeyError(department_id)

    def channel(self, channel_id: str) -> Channel:
        """The channel with this id; raises KeyError if there is none."""
        for channel in self.channels:
            if channel.id == channel_id:
                return channel
        raise KeyError(channel_id)

    def activity(self, activity_id: str) -> Activity:
        """The ownership entry with this id; raises KeyError if there is none."""
        for activity in self.ownership:
            if activity.id == activity_id:
                return activity
        raise KeyError(activity_id)

    def default_owner(self, channel_id: str) -> str:
        """The channel's default owner; for an unknown channel, who leads ``customer_issues``."""
        for channel in self.channels:
            if channel.id == channel_id:
                return channel.default_owner
        return self.leads("customer_issues")[0]

    def leads(self, activity_id: str) -> list[str]:
        """The departments leading an activity; raises KeyError for an unknown activity."""
        return list(self.activity(activity_id).lead)

    def supports(self, activity_id: str) -> list[str]:
        """The departments supporting an activity; raises KeyError for an unknown activity."""
        return list(self.activity(activity_id).support)

    def people_in(self, department_id: str) -> list[Person]:
        """The people of a department in file order."""
        return [p for p in self.people if p.department == department_id]

    def approvers(self, department_id: str) -> list[Person]:
        """The people of a department who may approve (approvers and admins)."""
        return [p for p in self.people_in(department_id) if p.role in (Role.APPROVER, Role.ADMIN)]


def load_policy(path: Path) -> Policy:
    """Load and validate a policy file; raises ``PolicyError`` listing every problem found."""
    from townhall.org.loader import load_policy as load  # deferred: the loader imports us

    return load(path)


def format_loc(loc: Loc) -> str:
    """``('people', 0, 'email')`` → ``people[0].email``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _items(data: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    value = data.get(key)
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, Mapping)]


def _strings(value: Any) -> list[tuple[int, str]]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)]


def _unique_ids(
    section: str, items: list[tuple[int, Mapping[str, Any]]], key: str = "id"
) -> list[tuple[Loc, str]]:
    seen: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for i, item in items:
        value = item.get(key)
        if not isinstance(value, str):
            continue
        folded = value.casefold() if key == "email" else value
        if folded in seen:
            what = "e-mail (case-insensitive)" if key == "email" else "id"
            problems.append(
                (
                    (section, i, key),
                    f"duplicate {what} {value!r} (first at {section}[{seen[folded]}])",
                )
            )
        else:
            seen[folded] = i
    return problems


def policy_problems(data: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """Every cross-field problem in policy data (plain dicts and lists), each with its location.

    Tolerates malformed data: parts of the wrong shape are skipped (field validation reports them).
    """
    depts = _items(data, "departments")
    people = _items(data, "people")
    channels = _items(data, "channels")
    activities = _items(data, "ownership")
    brand = data.get("brand")
    products = _items(brand, "products") if isinstance(brand, Mapping) else []

    problems: list[tuple[Loc, str]] = []
    problems += _unique_ids("departments", depts)
    problems += _unique_ids("people", people, "email")
    problems += _unique_ids("channels", channels)
    problems += _unique_ids("ownership", activities)
    problems += [(("brand", *loc), msg) for loc, msg in _unique_ids("products", products)]

    known = {d["id"] for _, d in depts if isinstance(d.get("id"), str)}
    valid = ", ".join(sorted(known))

    def check_ref(loc: Loc, value: Any) -> None:
        if isinstance(value, str) and value not in known:
            problems.append((loc, f"unknown department {value!r} (valid: {valid})"))

    for i, person in people:
        check_ref(("people", i, "department"), person.get("department"))
    for i, channel in channels:
        check_ref(("channels", i, "default_owner"), channel.get("default_owner"))
    for i, product in products:
        check_ref(("brand", "products", i, "qa_owner"), product.get("qa_owner"))
    for i, activity in activities:
        lead = _strings(activity.get("lead"))
        for j, dept in lead:
            check_ref(("ownership", i, "lead", j), dept)
        leads = {dept for _, dept in lead}
        seen_support: set[str] = set()
        for j, dept in _strings(activity.get("support")):
            check_ref(("ownership", i, "support", j), dept)
            if dept in leads:
                problems.append(
                    (("ownership", i, "support", j), f"{dept!r} is already a lead of this activity")
                )
            elif dept in seen_support:
                problems.append((("ownership", i, "support", j), f"{dept!r} is listed twice"))
            seen_support.add(dept)
        if len(leads) < len(lead):
            problems.append((("ownership", i, "lead"), "a department is listed twice"))

    staffed = {p.get("department") for _, p in people}
    for i, department in depts:
        dept_id = department.get("id")
        if isinstance(dept_id, str) and dept_id not in staffed:
            problems.append(
                (
                    ("departments", i, "id"),
                    f"department {dept_id!r} has no people (add one under people)",
                )
            )

    if "ownership" in data and isinstance(data.get("ownership"), list):
        present = {a.get("id") for _, a in activities}
        for required in REQUIRED_ACTIVITIES:
            if required not in present:
                problems.append(
                    (("ownership",), f"missing required activity {required!r} (add it with a lead)")
                )

    if people and not any(str(p.get("role")) == Role.ADMIN.value for _, p in people):
        problems.append((("people",), "nobody has role 'admin' (at least one admin is required)"))

    routing = data.get("routing")
    if isinstance(routing, Mapping):
        problems += _routing_problems(data, routing, check_ref)
    return problems


def window_minutes(hours: str) -> tuple[int, int]:
    """``"09:00-17:30"`` → ``(540, 1050)``: start and end in minutes after midnight."""
    start, end = (int(t[:2]) * 60 + int(t[3:]) for t in hours.split("-"))
    return start, end


def in_window(minute: int, window: tuple[int, int]) -> bool:
    """Whether a minute of the day falls in ``[start, end)``; windows may wrap past midnight."""
    start, end = window
    return start <= minute < end if start < end else (minute >= start or minute < end)


def fold_keyword(keyword: str) -> str:
    """How keywords compare: case-folded, one space between words, straight apostrophes."""
    return " ".join(keyword.replace("\u2019", "'").casefold().split())


def normalized_conditions(when: RuleConditions) -> dict[str, Any]:
    """The conditions a rule sets, with list values as sets compared the way routing does."""
    out: dict[str, Any] = {}
    for key, value in when.set_conditions().items():
        if key == "language":
            out[key] = frozenset(v.lower() for v in value)
        elif key == "country":
            out[key] = frozenset(v.upper() for v in value)
        elif key in ("keywords_any", "group"):
            out[key] = frozenset(fold_keyword(v) for v in value)
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
    (lists), the same value (booleans), an equal or higher threshold, or a window inside it.
    """
    first, second = normalized_conditions(earlier), normalized_conditions(later)
    for key, value in first.items():
        if key not in second:
            return False
        other = second[key]
        if key == "toxicity_at_least":
            ok = other >= value
        elif key == "hours":
            ok = all(in_window(m, value) for m in range(1440) if in_window(m, other))
        elif isinstance(value, frozenset):
            ok = other <= value
        else:
            ok = other == value
        if not ok:
            return False
    return True


def _routing_problems(
    data: Mapping[str, Any], routing: Mapping[str, Any], check_ref: Any
) -> list[tuple[Loc, str]]:
    from townhall.understand.topics import topic_slug  # deferred: keeps this module light

    problems: list[tuple[Loc, str]] = []
    channel_ids = sorted(
        c["id"] for _, c in _items(data, "channels") if isinstance(c.get("id"), str)
    )
    groups = {
        fold_keyword(g) for _, c in _items(data, "channels") for _, g in _strings(c.get("groups"))
    }
    brand = data.get("brand") if isinstance(data.get("brand"), Mapping) else {}
    assert isinstance(brand, Mapping)
    topics = set()
    if isinstance(brand.get("name"), str):
        topics.add(f"brand:{topic_slug(brand['name'])}")
    topics |= {
        f"product:{p['id']}" for _, p in _items(brand, "products") if isinstance(p.get("id"), str)
    }
    topics |= {
        f"competitor:{topic_slug(c['name'])}"
        for _, c in _items(brand, "competitors")
        if isinstance(c.get("name"), str)
    }

    def check_action(loc: Loc, action: Any) -> None:
        if not isinstance(action, Mapping):
            return
        lead = action.get("lead")
        check_ref((*loc, "lead"), lead)
        seen: set[str] = set()
        for j, dept in _strings(action.get("supporting")):
            check_ref((*loc, "supporting", j), dept)
            if dept == lead:
                problems.append(((*loc, "supporting", j), f"{dept!r} is already the lead"))
            elif dept in seen:
                problems.append(((*loc, "supporting", j), f"{dept!r} is listed twice"))
            seen.add(dept)

    rules = _items(routing, "rules")
    problems += [(("routing", *loc), msg) for loc, msg in _unique_ids("rules", rules)]
    parsed: list[tuple[int, str, RuleConditions]] = []
    for i, rule in rules:
        loc: Loc = ("routing", "rules", i)
        check_action((*loc, "then"), rule.get("then"))
        when = rule.get("when")
        if when is None:
            when = {}
        if not isinstance(when, Mapping):
            continue
        for j, channel in _strings(_one_or_many(when.get("channel"))):
            if channel not in channel_ids:
                problems.append(
                    (
                        (*loc, "when", "channel", j),
                        f"unknown channel {channel!r} (valid: {', '.join(channel_ids)})",
                    )
                )
        for j, topic in _strings(_one_or_many(when.get("topics_any"))):
            if topic not in topics:
                problems.append(
                    (
                        (*loc, "when", "topics_any", j),
                        f"unknown topic {topic!r} (valid: {', '.join(sorted(topics))})",
                    )
                )
        for j, group in _strings(_one_or_many(when.get("group"))):
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
            parsed.append((i, rule_id, conditions))

    for n, (i, rule_id, conditions) in enumerate(parsed):
        for j, earlier_id, earlier in parsed[:n]:
            if covers(earlier, conditions):
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
