"""Who inside a department takes an item: the least-loaded person available now.

Pure: no clock (pass ``now``), no I/O. A person is available when they are active, not out of
office, on shift (their working hours and days, or their department's, in its time zone) and
under their capacity of open items.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from townhall.org.fields import WEEKDAYS, in_window, window_minutes
from townhall.org.permissions import Action, Actor, Scope
from townhall.org.policy import DEFAULT_CAPACITY, DEFAULT_WORKING_DAYS, Policy


@dataclass(frozen=True, slots=True)
class Candidate:
    """One person who could take an item, with what availability depends on."""

    user_id: int
    name: str
    role: str
    open_items: int
    capacity: int = DEFAULT_CAPACITY
    working_hours: str | None = None
    """``"HH:MM-HH:MM"`` local time; ``None`` means any time of day."""
    working_days: tuple[str, ...] = DEFAULT_WORKING_DAYS
    timezone: str = "UTC"
    out_of_office_until: datetime | None = None
    approves: bool = False
    """Whether this person approves for their department (their role grants ``approve``)."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """The outcome: who takes the item (``None``: it waits in the department queue) and why."""

    user_id: int | None
    why: str


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def unavailable_because(candidate: Candidate, now: datetime) -> str | None:
    """Why ``candidate`` cannot take an item at ``now``, or ``None`` when they can."""
    if candidate.out_of_office_until is not None and now < candidate.out_of_office_until:
        until = candidate.out_of_office_until.astimezone(_zone(candidate.timezone))
        return f"out of office until {until:%a %d %b %H:%M}"
    if not on_shift(candidate, now):
        days = "–".join((candidate.working_days[0], candidate.working_days[-1]))
        hours = candidate.working_hours or "all day"
        return f"off shift ({days} {hours} {candidate.timezone})"
    if candidate.open_items >= candidate.capacity:
        return f"at capacity ({candidate.open_items}/{candidate.capacity} open items)"
    return None


def on_shift(candidate: Candidate, now: datetime) -> bool:
    """Whether ``now`` falls in the candidate's working days and hours (local time)."""
    local = now.astimezone(_zone(candidate.timezone))
    if WEEKDAYS[local.weekday()] not in candidate.working_days:
        return False
    if candidate.working_hours is None:
        return True
    return in_window(local.hour * 60 + local.minute, window_minutes(candidate.working_hours))


def choose_assignee(
    candidates: Sequence[Candidate], now: datetime, *, department: str
) -> Assignment:
    """The least-loaded available candidate (ties: lowest user id), or nobody, with why."""
    available = [c for c in candidates if unavailable_because(c, now) is None]
    if available:
        best = min(available, key=lambda c: (c.open_items, c.user_id))
        others = len(available) - 1
        return Assignment(
            best.user_id,
            f"{best.name} has the fewest open items ({best.open_items}) of the "
            f"{others + 1} available in {department}",
        )
    if not candidates:
        return Assignment(None, f"nobody in {department} has a login; it waits in the queue")
    reasons = "; ".join(
        f"{c.name} {unavailable_because(c, now)}" for c in sorted(candidates, key=lambda c: c.name)
    )
    return Assignment(None, f"nobody in {department} is available now ({reasons})")


def choose_approver(
    candidates: Sequence[Candidate], now: datetime, *, department: str
) -> Assignment:
    """Who an escalation goes to in ``department``: an available approver, else any approver
    not out of office (escalations do not wait for a shift or respect capacity)."""
    approvers = [c for c in candidates if c.approves]
    available = [c for c in approvers if unavailable_because(c, now) is None]
    if available:
        best = min(available, key=lambda c: (c.open_items, c.user_id))
        return Assignment(best.user_id, f"{best.name} approves for {department}")
    present = [
        c for c in approvers if c.out_of_office_until is None or now >= c.out_of_office_until
    ]
    if present:
        best = min(present, key=lambda c: (c.open_items, c.user_id))
        return Assignment(
            best.user_id, f"{best.name} approves for {department} (off shift, but it is overdue)"
        )
    return Assignment(None, f"{department} has no approver in office")


@dataclass(frozen=True, slots=True)
class Login:
    """The facts about a user account that assignment needs."""

    user_id: int
    email: str
    name: str
    department: str
    role: str
    out_of_office_until: datetime | None = None


def candidates_for(
    policy: Policy,
    department: str,
    logins: Iterable[Login],
    open_items: Mapping[int, int],
) -> list[Candidate]:
    """The candidates of ``department``: its logins, with hours, days and capacity from the
    policy (a login not in the policy gets the department's defaults)."""
    try:
        dept = policy.department(department)
    except KeyError:
        return []
    people = {p.email.casefold(): p for p in policy.people}
    out: list[Candidate] = []
    for login in logins:
        if login.department != department:
            continue
        person = people.get(login.email.casefold())
        hours = (person.working_hours if person else None) or dept.working_hours
        days = (person.working_days if person else None) or dept.working_days
        out.append(
            Candidate(
                user_id=login.user_id,
                name=login.name,
                role=login.role,
                open_items=open_items.get(login.user_id, 0),
                capacity=person.capacity if person else DEFAULT_CAPACITY,
                working_hours=hours,
                working_days=tuple(days) if days else DEFAULT_WORKING_DAYS,
                timezone=policy.department_timezone(department),
                out_of_office_until=login.out_of_office_until,
                approves=policy.permissions.can(
                    Actor(department, login.role), Action.APPROVE, Scope.of(department)
                ),
            )
        )
    return out
