"""The organisation policy as pydantic models: brand, channels, departments, people, ownership
and the routing rules (``townhall.org.routing``).

Pure: no I/O. ``townhall.org.loader`` reads the YAML and reports errors with line numbers
(``load_policy`` here delegates to it); ``policy_problems`` holds the cross-field rules so the
loader can run them on raw data too.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, ValidationInfo, model_validator

from townhall.models.user import Role
from townhall.org.alerts import AlertPolicy
from townhall.org.approvals import Chain, Right, approval_problems
from townhall.org.conduct import ConductRule, conduct_problems
from townhall.org.crisis import CrisisPolicy
from townhall.org.fields import (
    Email,
    Id,
    Loc,
    PolicyModel,
    Sla,
    Timezone,
    WeekdayList,
    WorkingHours,
    format_loc,
    items_of,
    strings_of,
    unique_ids,
)
from townhall.org.insights import InsightsPolicy, insights_problems
from townhall.org.objectives import ObjectivesPolicy, objectives_problems
from townhall.org.permissions import (
    Action,
    Actor,
    Permissions,
    RoleDefinition,
    Scope,
    role_problems,
)
from townhall.org.planning import Planning, planning_problems
from townhall.org.routing import Routing, routing_problems
from townhall.org.saved_replies import SavedReply, saved_reply_problems
from townhall.org.takeovers import TakeoverPolicy, takeover_problems
from townhall.webhooks.incoming import mapping_problems

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

#: Working days when a department or person names none.
DEFAULT_WORKING_DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")

DEFAULT_CAPACITY = 25
"""Open items a person holds before automatic assignment passes them by."""


class ChannelKind(StrEnum):
    """Which connector listens on a channel."""

    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    FORUM = "forum"
    RSS = "rss"
    JSONL = "jsonl"
    SIMULATOR = "simulator"
    WEBHOOK = "webhook"
    """Other tools push posts in (``POST /hooks/{channel}``), mapped by its ``mapping``."""


class Product(PolicyModel):
    """A product people talk about; ``qa_owner`` is the department answering for its quality."""

    id: Id
    name: str
    aliases: list[str] = []
    qa_owner: str


class Competitor(PolicyModel):
    """A competitor whose mentions are worth watching."""

    name: str
    aliases: list[str] = []


class Brand(PolicyModel):
    """The company's names and what people call its products and competitors."""

    name: str
    keywords: list[str] = []
    products: list[Product] = []
    competitors: list[Competitor] = []


EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]
"""The name of an environment variable that holds a secret (never the secret itself)."""

HttpAddress = Annotated[str, Field(pattern=r"^https?://[^\s/?#]+(/[^\s]*)?$", max_length=2048)]


class Listen(PolicyModel):
    """What a network channel listens to: mentions and replies, hashtags, search terms."""

    mentions: bool = True
    hashtags: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    search: list[Annotated[str, Field(min_length=1, max_length=200)]] = []


class Channel(PolicyModel):
    """A channel or account the organisation listens on, and who owns its posts by default.

    A network channel (mastodon, bluesky) with an ``api_base_url`` is live: Townhall listens
    and publishes there with the secret in the environment variable ``token_env`` (Mastodon's
    access token) or ``password_env`` (a Bluesky app password), or in the encrypted store
    (``townhall channels connect``). An rss channel reads its ``feeds``.
    """

    id: Id
    kind: ChannelKind
    account: str
    default_owner: str
    description: str = ""
    groups: list[str] = []
    api_base_url: HttpAddress | None = None
    token_env: EnvName | None = None
    password_env: EnvName | None = None
    listen: Listen = Listen()
    feeds: list[HttpAddress] = []
    poll_seconds: Annotated[int, Field(ge=5, le=86_400)] = 60
    """Seconds between polls where the network has no stream (feeds, Bluesky)."""
    mapping: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=500)]] = {}
    """A webhook channel: Post field → where it is in the pushed JSON (see docs/webhooks.md)."""

    @property
    def live(self) -> bool:
        """Whether Townhall talks to a real network on this channel (not a simulator)."""
        if self.kind is ChannelKind.RSS:
            return bool(self.feeds)
        return self.kind in (ChannelKind.MASTODON, ChannelKind.BLUESKY) and bool(self.api_base_url)

    @property
    def secret_env(self) -> str | None:
        """The environment variable that holds this channel's secret, if the policy names one."""
        return self.token_env or self.password_env


class Publishing(PolicyModel):
    """How the outbox publishes: a post overdue by more than ``missed_after_minutes`` is
    marked missed instead of going out late."""

    missed_after_minutes: Annotated[int, Field(ge=1, le=10_080)] = 60


class Department(PolicyModel):
    """A team that takes part in social media."""

    id: Id
    name: str
    description: str = ""
    working_hours: WorkingHours | None = None
    working_days: WeekdayList | None = None
    timezone: Timezone | None = None
    sla_minutes: Sla | None = None


class Person(PolicyModel):
    """Someone in a department; the role says what they may do.

    ``capacity`` is how many open items automatic assignment gives them at most; working hours
    and days default to the department's (read in the department's time zone).
    """

    name: str
    email: Email
    department: str
    role: Id = Role.MEMBER.value
    """A role of ``roles:`` or a built-in one (viewer, member, approver, admin)."""
    capacity: PositiveInt = DEFAULT_CAPACITY
    working_hours: WorkingHours | None = None
    working_days: WeekdayList | None = None
    timezone: Timezone | None = None
    """The zone the calendar shows times in for this person (default: the department's)."""
    rights: list[Right] = []
    """Rights beyond the role, e.g. ``publish`` (low-risk drafts go out without approval where
    an approval chain's ``direct`` allows it)."""


class Activity(PolicyModel):
    """One row of the ownership matrix: who leads an activity and who supports it."""

    id: Id
    description: str = ""
    lead: list[str] = Field(min_length=1)
    support: list[str] = []


class Policy(PolicyModel):
    """The whole organisation policy (``version: 1``)."""

    version: Literal[1]
    timezone: Timezone = "UTC"
    brand: Brand
    channels: list[Channel] = Field(min_length=1)
    departments: list[Department] = Field(min_length=1)
    people: list[Person] = Field(min_length=1)
    ownership: list[Activity] = Field(min_length=1)
    routing: Routing | None = None
    crisis: CrisisPolicy = CrisisPolicy()
    alerts: AlertPolicy | None = None
    publishing: Publishing = Publishing()
    conduct: list[ConductRule] = []
    approvals: list[Chain] = []
    takeovers: TakeoverPolicy = TakeoverPolicy()
    planning: Planning = Planning()
    """Categories, frequency caps and recurring slots of the calendar."""
    insights: InsightsPolicy = InsightsPolicy()
    """When each department's weekly digest goes out."""
    saved_replies: list[SavedReply] = []
    """Each department's canned answers, by language."""
    objectives: ObjectivesPolicy = ObjectivesPolicy()
    """Company goals, the social objectives serving them and their key results."""
    roles: list[RoleDefinition] = []
    """Roles and what they grant per department and channel (built-in ones when absent)."""

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Policy:
        if isinstance(info.context, Mapping) and info.context.get(SKIP_CROSS_CHECKS):
            return self
        problems = policy_problems(self.model_dump(mode="python"))
        if problems:
            raise ValueError("; ".join(f"{format_loc(loc)}: {msg}" for loc, msg in problems))
        return self

    @cached_property
    def permissions(self) -> Permissions:
        """Who may do what under this policy (compiled once)."""
        return Permissions.of(self)

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

    def department_timezone(self, department_id: str) -> str:
        """The time zone a department's hours are read in: its own, else the policy's."""
        try:
            return self.department(department_id).timezone or self.timezone
        except KeyError:
            return self.timezone

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

    def person(self, email: str) -> Person | None:
        """The person with this e-mail address (any case), or None."""
        wanted = email.lower()
        for person in self.people:
            if person.email.lower() == wanted:
                return person
        return None

    def person_timezone(self, email: str) -> str:
        """The zone a person reads times in: their own, else their department's, else the
        company's."""
        person = self.person(email)
        if person is None:
            return self.timezone
        return person.timezone or self.department_timezone(person.department)

    def approvers(self, department_id: str) -> list[Person]:
        """The people of a department who may approve (approvers and admins)."""
        scope = Scope.of(department_id)
        return [
            p
            for p in self.people_in(department_id)
            if self.permissions.can(Actor(p.department, p.role), Action.APPROVE, scope)
        ]


def load_policy(path: Path) -> Policy:
    """Load and validate a policy file; raises ``PolicyError`` listing every problem found."""
    from townhall.org.loader import load_policy as load  # deferred: the loader imports us

    return load(path)


def policy_problems(data: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """Every cross-field problem in policy data (plain dicts and lists), each with its location.

    Tolerates malformed data: parts of the wrong shape are skipped (field validation reports them).
    """
    depts = items_of(data, "departments")
    people = items_of(data, "people")
    channels = items_of(data, "channels")
    activities = items_of(data, "ownership")
    brand = data.get("brand")
    products = items_of(brand, "products") if isinstance(brand, Mapping) else []

    problems: list[tuple[Loc, str]] = []
    problems += unique_ids("departments", depts)
    problems += unique_ids("people", people, "email")
    problems += unique_ids("channels", channels)
    problems += unique_ids("ownership", activities)
    problems += [(("brand", *loc), msg) for loc, msg in unique_ids("products", products)]

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
        lead = strings_of(activity.get("lead"))
        for j, dept in lead:
            check_ref(("ownership", i, "lead", j), dept)
        leads = {dept for _, dept in lead}
        seen_support: set[str] = set()
        for j, dept in strings_of(activity.get("support")):
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

    crisis = data.get("crisis")
    if isinstance(crisis, Mapping):
        check_ref(("crisis", "legal_department"), crisis.get("legal_department"))

    routing = data.get("routing")
    if isinstance(routing, Mapping):
        problems += routing_problems(data, routing, check_ref)
    problems += approval_problems(
        data,
        check_ref,
        emails={p["email"].lower() for _, p in people if isinstance(p.get("email"), str)},
        channels={c["id"] for _, c in channels if isinstance(c.get("id"), str)},
        activities={a["id"] for _, a in activities if isinstance(a.get("id"), str)},
    )
    problems += takeover_problems(
        data,
        emails={p["email"].lower() for _, p in people if isinstance(p.get("email"), str)},
        channels={c["id"] for _, c in channels if isinstance(c.get("id"), str)},
    )
    problems += planning_problems(
        data,
        emails={p["email"].lower() for _, p in people if isinstance(p.get("email"), str)},
        channels={c["id"] for _, c in channels if isinstance(c.get("id"), str)},
    )
    problems += insights_problems(
        data,
        departments=known,
        emails={p["email"].lower() for _, p in people if isinstance(p.get("email"), str)},
    )
    problems += saved_reply_problems(data, departments=known)
    problems += objectives_problems(
        data,
        departments=known,
        channels={c["id"] for _, c in channels if isinstance(c.get("id"), str)},
    )
    problems += role_problems(data)
    problems += mapping_problems(data)
    problems += conduct_problems(
        data, check_ref, channels={c["id"] for _, c in channels if isinstance(c.get("id"), str)}
    )
    return problems
