"""Objectives against their targets, for the page, the CLI and the digest; and recording a
reading of a key result measured outside Townhall.

Weeks are Monday to Sunday in the company's zone, from the objective's start to today (or the
key result's date, when it has passed). The value now is the last 7 days up to then for a
``week`` window, everything since the start for a ``total`` one, the last reading for
``latest``. Figures are company-wide (no item, post or author is shown), so everyone who may
see the insights sees them.

Services never commit: the transaction belongs to the caller. Recording is audited (subject
type ``kpi``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.errors import InputError, NotFoundError, PermissionDeniedError
from townhall.insights import objective_queries as queries
from townhall.insights.charts import Chart
from townhall.insights.objective_chart import kpi_chart
from townhall.insights.objectives import (
    STATUS_WORDS,
    Status,
    Tally,
    Verdict,
    amount,
    cumulative,
    described,
    judge,
    series,
    start_value,
    target_words,
    value_of,
)
from townhall.insights.periods import Grain, Period
from townhall.models import KpiReading, User
from townhall.org.objectives import Goal, Kpi, Metric, Objective, start_of
from townhall.org.permissions import Action, Actor, Scope
from townhall.org.policy import Policy
from townhall.publishing import localtime

MAX_WEEKS = 260
"""The most weeks a chart shows (five years); earlier weeks join the first one."""

RECENT_DAYS = 7
"""What "now" covers for a ``week`` window, in days up to today."""

MAX_NOTE = 1_000
MAX_VALUE = 1e15


@dataclass
class KpiProgress:
    """One key result now: its value, the line's start, the status and the chart."""

    objective: Objective
    kpi: Kpi
    starts: date
    value: float | None
    first: float | None
    verdict: Verdict
    chart: Chart
    department: str | None
    """The department whose items or replies count (None: every department or posts)."""

    @property
    def status(self) -> Status:
        """Achieved, on track, behind or no data."""
        return self.verdict.status

    @property
    def status_words(self) -> str:
        """``On track``."""
        return STATUS_WORDS[self.status]

    @property
    def value_words(self) -> str:
        """The value with its noun, or a dash."""
        return "—" if self.value is None else described(self.kpi, self.value)

    @property
    def target_words(self) -> str:
        """``at most 15% by 31 Mar 2027``."""
        return target_words(self.kpi)

    def as_json(self) -> dict[str, Any]:
        """The key result as plain data (``townhall objectives list --json``)."""
        return {
            "kpi": self.kpi.id,
            "name": self.kpi.label,
            "objective": self.objective.id,
            "metric": self.kpi.metric,
            "value": self.value,
            "value_text": None if self.value is None else amount(self.kpi, self.value),
            "target": self.kpi.target,
            "direction": str(self.kpi.heading),
            "by": self.kpi.by.isoformat(),
            "starts": self.starts.isoformat(),
            "line_today": self.verdict.line,
            "status": str(self.status),
            "why": self.verdict.words,
        }


@dataclass
class CampaignShare:
    """A campaign serving an objective and how many of its posts are out."""

    id: int
    name: str
    department: str
    published: int


@dataclass
class ObjectiveProgress:
    """An objective, its key results, and who contributes."""

    objective: Objective
    kpis: list[KpiProgress]
    campaigns: list[CampaignShare] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)


@dataclass
class GoalProgress:
    """A company goal and its objectives."""

    goal: Goal
    objectives: list[ObjectiveProgress]


def _weeks(starts: date, last: date, where: Any) -> list[tuple[date, datetime]]:
    """(first day, UTC start) of each week from ``starts`` to ``last``; past ``MAX_WEEKS``
    the earliest weeks join the first one."""
    buckets = Period(starts, last, where).buckets(Grain.WEEK)
    if len(buckets) > MAX_WEEKS:
        buckets = [buckets[0], *buckets[len(buckets) - MAX_WEEKS + 1 :]]
    return [(b.first, b.start) for b in buckets]


def kpi_progress(
    session: Session, policy: Policy, objective: Objective, kpi: Kpi, now: datetime
) -> KpiProgress:
    """One key result now (two queries: the weeks, and for a ``week`` window the last 7
    days)."""
    where = localtime.zone(policy.timezone)
    today = localtime.local(now, where).date()
    starts = start_of(objective, kpi)
    last = min(today, kpi.by)
    weeks = _weeks(starts, last, where) if last >= starts else []
    value: float | None = None
    values: list[float | None] = []
    if weeks:
        end = localtime.day_bounds(last, where)[1]
        found = queries.tallies(
            session, objective, kpi, [s for _, s in weeks], end, now=now, where=where
        )
        values = series(kpi, found)
        if cumulative(kpi):
            total = Tally()
            for tally in found:
                total = total + tally
            value = value_of(kpi, total)
        else:
            recent = max(starts, last - timedelta(days=RECENT_DAYS - 1))
            start = localtime.day_bounds(recent, where)[0]
            latest = queries.tallies(session, objective, kpi, [start], end, now=now, where=where)
            value = value_of(kpi, latest[0])
    first = start_value(kpi, values)
    verdict = judge(kpi, starts=starts, today=today, value=value, first=first)
    line = (starts, first) if first is not None else None
    chart = kpi_chart(kpi, [(d, v) for (d, _), v in zip(weeks, values, strict=True)], line)
    return KpiProgress(
        objective, kpi, starts, value, first, verdict, chart, queries.department_of(objective, kpi)
    )


def progress(session: Session, policy: Policy, now: datetime) -> list[GoalProgress]:
    """Every goal of the policy with its objectives' progress, campaigns and departments."""
    campaigns: dict[str, list[CampaignShare]] = {}
    for objective_id, cid, name, department, published in queries.published_by_campaign(session):
        campaigns.setdefault(objective_id, []).append(
            CampaignShare(cid, name, department, published)
        )
    goals = []
    for goal in policy.objectives.goals:
        rows = []
        for objective in goal.objectives:
            kpis = [kpi_progress(session, policy, objective, k, now) for k in objective.kpis]
            serving = campaigns.get(objective.id, [])
            rows.append(
                ObjectiveProgress(objective, kpis, serving, _departments(objective, kpis, serving))
            )
        goals.append(GoalProgress(goal, rows))
    return goals


def _departments(
    objective: Objective, kpis: list[KpiProgress], serving: list[CampaignShare]
) -> list[str]:
    """The owner, the departments whose items or replies count, the campaigns' owners."""
    found = [objective.department]
    for progress_ in kpis:
        if progress_.department and progress_.department not in found:
            found.append(progress_.department)
    for campaign in serving:
        if campaign.department not in found:
            found.append(campaign.department)
    return found


def of_department(goals: list[GoalProgress], department: str) -> list[KpiProgress]:
    """The key results of the objectives a department owns or counts in (for its digest)."""
    return [k for g in goals for o in g.objectives if department in o.departments for k in o.kpis]


# -- recording readings -----------------------------------------------------------------------
def may_record(policy: Policy, actor: User, objective: Objective) -> bool:
    """Whether ``actor`` may record readings of the objective's key results (managing the
    campaigns of its department)."""
    return policy.permissions.can(Actor.of(actor), Action.CAMPAIGNS, Scope.of(objective.department))


def reading_kpi(policy: Policy, kpi_id: str) -> tuple[Objective, Kpi]:
    """The key result with this id, which must be a reading; raises ``NotFoundError`` or
    ``InputError`` naming the field ``kpi``."""
    found = policy.objectives.kpi(kpi_id)
    if found is None:
        raise NotFoundError(f"kpi: there is no key result {kpi_id[:64]!r} in the policy.")
    objective, kpi = found
    if kpi.measure is not Metric.READING:
        raise InputError(
            f"kpi: {kpi.label} is computed by Townhall ({kpi.metric}): only readings are recorded."
        )
    return objective, kpi


def parse_value(text: str) -> float:
    """A reading typed by a person ("1,200", "35.5") as a number; ``InputError`` naming the
    field ``value`` otherwise."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        number = float(cleaned) if cleaned.isascii() else float("nan")
    except ValueError:
        number = float("nan")
    if number != number or not 0 <= number < MAX_VALUE:
        raise InputError(f"value: not a number of zero or more: {text[:40]!r} (e.g. 1200)")
    return number


def record_reading(
    session: Session,
    policy: Policy,
    *,
    kpi_id: str,
    value: float,
    on: date,
    actor: User,
    now: datetime,
    country: str | None = None,
    note: str = "",
) -> KpiReading:
    """Record a reading of a key result for day ``on`` (company zone); raises ``InputError``
    naming the field, ``PermissionDeniedError`` unless ``actor`` may record it."""
    objective, kpi = reading_kpi(policy, kpi_id)
    if not may_record(policy, actor, objective):
        department = policy.department(objective.department).name
        raise PermissionDeniedError(
            f"You may not record readings of {department}'s objectives "
            "(it takes managing their campaigns)."
        )
    if not 0 <= value < MAX_VALUE or value != value:
        raise InputError("value: a number of zero or more, e.g. 1200")
    where = localtime.zone(policy.timezone)
    today = localtime.local(now, where).date()
    if on > today:
        raise InputError(f"on: {on.isoformat()} is in the future: record what was measured.")
    country = (country or "").strip().upper() or kpi.country
    if country is not None and (
        len(country) != 2 or not country.isascii() or not country.isalpha()
    ):
        raise InputError(f"country: {country[:8]!r} is not a country code (e.g. GB)")
    if kpi.country and country != kpi.country:
        raise InputError(f"country: {kpi.label} is measured in {kpi.country}, not {country}.")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InputError(f"note: at most {MAX_NOTE:,} characters.")
    reading = KpiReading(
        kpi=kpi.id,
        value=value,
        country=country,
        measured_on=localtime.at_local(on, time(0), where),
        note=note,
        recorded_by_id=actor.id,
        recorded_at=now,
    )
    session.add(reading)
    session.flush()
    record(
        session,
        at=now,
        actor=actor.email,
        action="kpi.reading",
        subject_type="kpi",
        subject_id=kpi.id,
        why=f"{actor.name} recorded {described(kpi, value)} for {on:%Y-%m-%d}",
        details={"reading_id": reading.id, "value": value, "country": country, "note": note},
    )
    return reading


@dataclass(frozen=True)
class ObjectiveLine:
    """One key result as a digest lists it."""

    objective: str
    kpi: str
    status: str
    why: str


def digest_lines(
    session: Session, policy: Policy, department: str, as_of: datetime
) -> list[ObjectiveLine]:
    """The key results of the objectives a department owns or counts in, as of ``as_of``
    (the end of the digest's week)."""
    if not policy.objectives.goals:
        return []
    goals = progress(session, policy, as_of)
    return [
        ObjectiveLine(k.objective.label, k.kpi.label, k.status_words, k.verdict.words)
        for k in of_department(goals, department)
    ]
