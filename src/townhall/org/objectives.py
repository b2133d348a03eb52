"""The ``objectives:`` section of the policy: company goals, the social objectives that serve
them, and the key results (KPIs) each objective is measured by, with a target and a date.

```yaml
objectives:
  goals:
    - id: protect_reputation
      name: Protect our reputation
      objectives:
        - id: calm_conversation
          name: Keep the conversation about us calm
          department: pr                # who owns it
          starts: 2026-10-01            # where the line to each target starts
          kpis:
            - id: negative_share
              name: Share of negative posts
              metric: negative_share    # computed by Townhall from the posts
              target: 0.15
              direction: down           # at most 15%
              by: 2027-03-31
              channel: mastodon         # optional filters: channel, country, topic
            - id: store_clicks_gb
              name: Store-locator link clicks in GB
              metric: reading           # entered by a person (townhall objectives record)
              aggregate: sum            # or latest
              country: GB
              target: 1200
              by: 2027-03-31
```

A KPI's ``window`` says what one value covers: ``week`` (each week on its own; the value now
is the last 7 days) or ``total`` (everything since ``starts``). Shares, medians and the SLA
default to ``week``, counts to ``total``. ``department`` narrows items and replies to one
department (default: the objective's; ``all`` for every one) and posts to those routed to it
(default: every post). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from townhall.org.fields import Id, Loc, PolicyModel, format_loc, items_of, unique_ids


class Metric(StrEnum):
    """What a key result measures."""

    NEGATIVE_SHARE = "negative_share"
    """Negative posts among the posts heard (0..1)."""
    POSITIVE_SHARE = "positive_share"
    BRAND_HEALTH = "brand_health"
    """positive / (positive + negative) posts (0..1)."""
    MENTIONS = "mentions"
    """Posts heard."""
    FIRST_REPLY_MINUTES = "first_reply_minutes"
    """The median time from an item opening to its first reply, in minutes."""
    SLA_COMPLIANCE = "sla_compliance"
    """Items answered within their first-response SLA, among those whose clock decided (0..1)."""
    REPLIES_SENT = "replies_sent"
    """Public replies published from the outbox."""
    POSTS_PUBLISHED = "posts_published"
    """Posts of ours published that serve the objective (their own or their campaign's)."""
    READING = "reading"
    """A value measured outside Townhall, recorded by a person."""


POST_METRICS = frozenset(
    {Metric.NEGATIVE_SHARE, Metric.POSITIVE_SHARE, Metric.BRAND_HEALTH, Metric.MENTIONS}
)
ITEM_METRICS = frozenset({Metric.FIRST_REPLY_MINUTES, Metric.SLA_COMPLIANCE})
SHARES = frozenset(
    {Metric.NEGATIVE_SHARE, Metric.POSITIVE_SHARE, Metric.BRAND_HEALTH, Metric.SLA_COMPLIANCE}
)
"""Metrics whose values are shares (0..1, shown as percentages)."""
COUNTS = frozenset({Metric.MENTIONS, Metric.REPLIES_SENT, Metric.POSTS_PUBLISHED})

FILTERS: Mapping[Metric, frozenset[str]] = {
    **{m: frozenset({"channel", "country", "topic", "department"}) for m in POST_METRICS},
    **{m: frozenset({"channel", "country", "topic", "department"}) for m in ITEM_METRICS},
    Metric.REPLIES_SENT: frozenset({"channel", "country", "topic", "department"}),
    Metric.POSTS_PUBLISHED: frozenset({"channel"}),
    Metric.READING: frozenset({"country"}),
}
"""The filters each metric can apply (a reply's country and topic are the answered post's)."""

ALL_DEPARTMENTS = "all"

_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _check_metric(value: str) -> str:
    if value not in {m.value for m in Metric}:
        valid = ", ".join(m.value for m in Metric)
        raise ValueError(f"unknown metric {value!r} (valid: {valid})")
    return value


def _check_country(value: str) -> str:
    if not _COUNTRY.match(value):
        raise ValueError(f"invalid country {value!r} (expected ISO 3166 alpha-2, e.g. GB)")
    return value


MetricName = Annotated[str, AfterValidator(_check_metric)]
Country = Annotated[str, AfterValidator(_check_country)]


class Direction(StrEnum):
    """Whether a key result should rise to its target or fall to it."""

    UP = "up"  # at least the target
    DOWN = "down"  # at most the target


class Window(StrEnum):
    """What one value of a key result covers."""

    WEEK = "week"  # each week on its own; now: the last 7 days
    TOTAL = "total"  # everything since the objective started


class Aggregate(StrEnum):
    """How readings of a period make one value."""

    SUM = "sum"  # added up (clicks)
    LATEST = "latest"  # the last one (a reach the network reports)


class Kpi(PolicyModel):
    """A key result: a metric with a target to reach ``by`` a day."""

    id: Id
    name: str = ""
    metric: MetricName
    target: Annotated[float, Field(ge=0, lt=1e15)]
    by: date
    direction: Direction | None = None
    """Default: down for negative share and first-reply time, else up."""
    starts: date | None = None
    """Where its line to the target starts (default: the objective's ``starts``)."""
    baseline: Annotated[float, Field(ge=0, lt=1e15)] | None = None
    """The value at ``starts`` (default: the first week measured; 0 for a total)."""
    window: Window | None = None
    aggregate: Aggregate | None = None
    """Readings only (default: sum)."""
    unit: Annotated[str, Field(max_length=40)] = ""
    """What a reading counts, in words ("clicks"); computed metrics name their own."""
    channel: str | None = None
    country: Country | None = None
    topic: Annotated[str, Field(pattern=r"^(brand|product|competitor):[a-z0-9_]+$")] | None = None
    department: str | None = None
    """A department id, or ``all``."""

    @model_validator(mode="after")
    def _fits_metric(self) -> Kpi:
        metric = Metric(self.metric)
        if metric in SHARES and self.target > 1:
            raise ValueError(f"target: {metric.value} is a share: write 0.15 for 15%")
        if self.aggregate is not None and metric is not Metric.READING:
            raise ValueError("aggregate goes with metric: reading")
        if self.unit and metric is not Metric.READING:
            raise ValueError("unit goes with metric: reading (the others name their own)")
        if self.aggregate is Aggregate.LATEST and self.window is not None:
            raise ValueError("window does not go with aggregate: latest (the last reading counts)")
        for name in ("channel", "country", "topic", "department"):
            if getattr(self, name) is not None and name not in FILTERS[metric]:
                raise ValueError(f"{name}: {metric.value} cannot be filtered by {name}")
        return self

    @property
    def measure(self) -> Metric:
        """The metric as an enum."""
        return Metric(self.metric)

    @property
    def label(self) -> str:
        """How the key result reads on a page."""
        return self.name or self.id.replace("_", " ").capitalize()

    @property
    def heading(self) -> Direction:
        """Up or down, with the metric's default."""
        if self.direction is not None:
            return self.direction
        low = {Metric.NEGATIVE_SHARE, Metric.FIRST_REPLY_MINUTES}
        return Direction.DOWN if self.measure in low else Direction.UP

    @property
    def span(self) -> Window:
        """The window, with the metric's default (counts: total; the rest: week)."""
        if self.window is not None:
            return self.window
        counting = self.measure in COUNTS or (
            self.measure is Metric.READING and self.total is Aggregate.SUM
        )
        return Window.TOTAL if counting else Window.WEEK

    @property
    def total(self) -> Aggregate:
        """How readings combine (sum when the policy says nothing)."""
        return self.aggregate or Aggregate.SUM


class Objective(PolicyModel):
    """A social objective: what social media does for a goal, owned by a department."""

    id: Id
    name: str = ""
    department: str
    starts: date
    description: str = ""
    kpis: list[Kpi] = Field(min_length=1)

    @property
    def label(self) -> str:
        """How the objective reads on a page."""
        return self.name or self.id.replace("_", " ").capitalize()


class Goal(PolicyModel):
    """A company goal and the social objectives that serve it."""

    id: Id
    name: str = ""
    objectives: list[Objective] = Field(min_length=1)

    @property
    def label(self) -> str:
        """How the goal reads on a page."""
        return self.name or self.id.replace("_", " ").capitalize()


class ObjectivesPolicy(PolicyModel):
    """Company goals → social objectives → key results."""

    goals: list[Goal] = Field(default_factory=list)

    def objective(self, objective_id: str) -> Objective | None:
        """The objective with this id, or None."""
        for goal in self.goals:
            for objective in goal.objectives:
                if objective.id == objective_id:
                    return objective
        return None

    def kpi(self, kpi_id: str) -> tuple[Objective, Kpi] | None:
        """The key result with this id and its objective, or None."""
        for goal in self.goals:
            for objective in goal.objectives:
                for kpi in objective.kpis:
                    if kpi.id == kpi_id:
                        return objective, kpi
        return None

    @property
    def objectives(self) -> list[Objective]:
        """Every objective, in file order."""
        return [o for g in self.goals for o in g.objectives]


def start_of(objective: Objective, kpi: Kpi) -> date:
    """The first day of a key result's line: its own ``starts``, else its objective's."""
    return kpi.starts or objective.starts


def topics_of(brand: Any, slug: Any) -> set[str]:
    """The topic ids the policy's brand gives posts (``brand:acme``, ``product:airfry_5``)."""
    if not isinstance(brand, Mapping):
        return set()
    found: set[str] = set()
    if isinstance(brand.get("name"), str):
        found.add(f"brand:{slug(brand['name'])}")
    for _, product in items_of(brand, "products"):
        if isinstance(product.get("id"), str):
            found.add(f"product:{product['id']}")
    for _, competitor in items_of(brand, "competitors"):
        if isinstance(competitor.get("name"), str):
            found.add(f"competitor:{slug(competitor['name'])}")
    return found


def objectives_problems(
    data: Mapping[str, Any], departments: set[str], channels: set[str]
) -> list[tuple[Loc, str]]:
    """Repeated ids, unknown departments, channels and topics, a target date before the line
    starts."""
    from townhall.understand.topics import topic_slug  # deferred: keeps org free of matchers

    section = data.get("objectives")
    if not isinstance(section, Mapping):
        return []
    problems: list[tuple[Loc, str]] = []
    topics = topics_of(data.get("brand"), topic_slug)
    goals = items_of(section, "goals")
    problems += [(("objectives", *loc), msg) for loc, msg in unique_ids("goals", goals)]
    valid_departments = ", ".join(sorted(departments))
    valid_channels = ", ".join(sorted(channels))
    seen_objectives: dict[str, Loc] = {}
    seen_kpis: dict[str, Loc] = {}

    def once(seen: dict[str, Loc], value: Any, loc: Loc, what: str) -> None:
        if not isinstance(value, str):
            return
        if value in seen:
            first = format_loc(seen[value])
            problems.append(((*loc, "id"), f"duplicate {what} id {value!r} (first at {first})"))
        else:
            seen[value] = loc

    for i, goal in goals:
        for j, objective in items_of(goal, "objectives"):
            loc: Loc = ("objectives", "goals", i, "objectives", j)
            once(seen_objectives, objective.get("id"), loc, "objective")
            owner = objective.get("department")
            if isinstance(owner, str) and owner not in departments:
                problems.append(
                    (
                        (*loc, "department"),
                        f"unknown department {owner!r} (valid: {valid_departments})",
                    )
                )
            for k, kpi in items_of(objective, "kpis"):
                where: Loc = (*loc, "kpis", k)
                once(seen_kpis, kpi.get("id"), where, "key result")
                problems += _kpi_problems(
                    kpi, objective, where, departments, channels, topics,
                    valid_departments, valid_channels,
                )  # fmt: skip
    return problems


def _kpi_problems(
    kpi: Mapping[str, Any],
    objective: Mapping[str, Any],
    loc: Loc,
    departments: set[str],
    channels: set[str],
    topics: set[str],
    valid_departments: str,
    valid_channels: str,
) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    department = kpi.get("department")
    if isinstance(department, str) and department not in {*departments, ALL_DEPARTMENTS}:
        problems.append(
            (
                (*loc, "department"),
                f"unknown department {department!r} (valid: all, {valid_departments})",
            )
        )
    channel = kpi.get("channel")
    if isinstance(channel, str) and channel not in channels:
        problems.append(
            ((*loc, "channel"), f"unknown channel {channel!r} (valid: {valid_channels})")
        )
    topic = kpi.get("topic")
    if isinstance(topic, str) and topics and topic not in topics:
        valid = ", ".join(sorted(topics))
        problems.append(((*loc, "topic"), f"unknown topic {topic!r} (valid: {valid})"))
    starts = _day(kpi.get("starts", objective.get("starts")))
    by = _day(kpi.get("by"))
    if starts is not None and by is not None and by <= starts:
        problems.append(
            ((*loc, "by"), f"{by.isoformat()} is not after the start ({starts.isoformat()})")
        )
    return problems


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None
