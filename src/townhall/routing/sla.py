"""The SLA clock of an item and its escalation chain.

Pure: no clock (pass ``now``), no I/O. An item has two clocks, started when Townhall opens it:
*first response* (someone takes it up: in progress or done) and *resolution* (done). Each clock
that runs out is a breach, and each breach moves the item one step up its escalation chain:
first the department's approver, then the department leading the rule's ownership activity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from townhall.org.policy import Policy

DUE_SOON = 0.25
"""Share of an SLA left under which the clock shows "due soon"."""


class Clock(StrEnum):
    """The two SLA clocks of an item."""

    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


CLOCK_LABELS = {Clock.FIRST_RESPONSE: "first response", Clock.RESOLUTION: "resolution"}


class SlaState(StrEnum):
    """How an item stands against its SLA right now."""

    NONE = "none"  # no SLA for this item
    OK = "ok"
    DUE_SOON = "due_soon"
    BREACHED = "breached"
    MET = "met"  # resolved in time


@dataclass(frozen=True, slots=True)
class SlaTimes:
    """The SLA facts stored on an item (UTC datetimes; ``None`` when not set or not yet)."""

    opened_at: datetime
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SlaView:
    """What the inbox shows: the state, the clock it is about, and minutes left (negative: late)."""

    state: SlaState
    clock: Clock | None = None
    minutes_left: int | None = None

    @property
    def label(self) -> str:
        """``"first response breached 12 min ago"``, ``"resolution in 3 h 5 min"``…"""
        if self.clock is None or self.minutes_left is None:
            return "no SLA" if self.state is SlaState.NONE else "SLA met"
        what = CLOCK_LABELS[self.clock]
        if self.state is SlaState.BREACHED:
            return f"{what} overdue by {_duration(max(-self.minutes_left, 0))}"
        return f"{what} due in {_duration(self.minutes_left)}"


def _duration(minutes: int) -> str:
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{mins} min" if mins else "",
    ]
    return " ".join(p for p in parts if p) or "0 min"


def due_at(opened_at: datetime, minutes: int | None) -> datetime | None:
    """When a clock of ``minutes`` started at ``opened_at`` runs out (``None``: no SLA)."""
    return None if minutes is None else opened_at + timedelta(minutes=minutes)


def _running(times: SlaTimes) -> list[tuple[Clock, datetime]]:
    """The clocks still running (not stopped by a response or resolution), by due time."""
    clocks = []
    if times.first_responded_at is None and times.first_response_due_at is not None:
        clocks.append((Clock.FIRST_RESPONSE, times.first_response_due_at))
    if times.resolved_at is None and times.resolution_due_at is not None:
        clocks.append((Clock.RESOLUTION, times.resolution_due_at))
    return sorted(clocks, key=lambda c: c[1])


def sla_view(times: SlaTimes, now: datetime) -> SlaView:
    """The item's SLA state at ``now``: the most urgent running clock decides."""
    running = _running(times)
    if not running:
        if times.first_response_due_at is None and times.resolution_due_at is None:
            return SlaView(SlaState.NONE)
        return SlaView(SlaState.MET)
    clock, due = running[0]
    left = (due - now).total_seconds() / 60
    if left <= 0:
        return SlaView(SlaState.BREACHED, clock, min(math.floor(left), -1) if left < 0 else 0)
    total = (due - times.opened_at).total_seconds() / 60
    state = SlaState.DUE_SOON if left <= DUE_SOON * total else SlaState.OK
    return SlaView(state, clock, math.floor(left))


def overdue_clocks(times: SlaTimes, now: datetime, already: frozenset[Clock]) -> list[Clock]:
    """The running clocks that have run out by ``now`` and are not yet in ``already``."""
    return [c for c, due in _running(times) if due <= now and c not in already]


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One step up: the department whose approver takes the item, and why it is them."""

    department: str
    why: str


def escalation_chain(policy: Policy, department: str, activity: str | None) -> list[EscalationStep]:
    """The steps an item of ``department`` (for ownership ``activity``) escalates through."""
    steps = [EscalationStep(department, f"the approver of {department}")]
    if activity is None:
        return steps
    try:
        leads = policy.leads(activity)
    except KeyError:
        return steps
    for lead in leads:
        if lead != department:
            steps.append(EscalationStep(lead, f"{lead} leads {activity} in the ownership matrix"))
            break
    return steps
