"""Background work on the queues: record SLA breaches and escalate, then hand out waiting items.

``work_queues`` is one bounded pass; the web server runs it every few seconds
(``TOWNHALL_QUEUE_INTERVAL``), and tests call it with an injected ``now``. Like services it never
commits: the caller's transaction holds the whole pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from townhall.audit import SYSTEM, record
from townhall.cases import repository
from townhall.models import Item, SlaBreach
from townhall.org.policy import Policy
from townhall.routing.assignment import (
    Assignment,
    Login,
    candidates_for,
    choose_approver,
    choose_assignee,
    unavailable_because,
)
from townhall.routing.sla import CLOCK_LABELS, Clock, SlaTimes, escalation_chain, overdue_clocks
from townhall.webhooks import events as webhook_events
from townhall.webhooks.outgoing import emit

BATCH = 500
"""Items looked at per pass for each of breaches and assignment (bounds one transaction)."""

PRIORITY_ORDER = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


@dataclass(frozen=True)
class QueuePass:
    """What one pass did."""

    breaches: int = 0
    escalated: int = 0
    assigned: int = 0


def sla_times(item: Item) -> SlaTimes:
    """The SLA facts of a stored item."""
    return SlaTimes(
        opened_at=item.created_at,
        first_response_due_at=item.first_response_due_at,
        resolution_due_at=item.resolution_due_at,
        first_responded_at=item.first_responded_at,
        resolved_at=item.resolved_at,
    )


def _already(item: Item) -> frozenset[Clock]:
    done = set()
    if item.first_response_breached_at is not None:
        done.add(Clock.FIRST_RESPONSE)
    if item.resolution_breached_at is not None:
        done.add(Clock.RESOLUTION)
    return frozenset(done)


class _Load:
    """Open items per person, kept current while a pass hands items out."""

    def __init__(self, session: Session) -> None:
        self.logins: Sequence[Login] = repository.logins(session)
        self.open = repository.open_items_per_assignee(session)

    def move(self, old: int | None, new: int | None) -> None:
        if old is not None:
            self.open[old] = max(self.open.get(old, 0) - 1, 0)
        if new is not None:
            self.open[new] = self.open.get(new, 0) + 1


def _give(
    session: Session, item: Item, choice: Assignment, how: str, now: datetime, load: _Load
) -> None:
    assert choice.user_id is not None
    load.move(item.assignee_id, choice.user_id)
    previous = item.assignee.email if item.assignee else None
    item.assignee_id = choice.user_id
    item.assignee = repository.get_user(session, choice.user_id)
    item.assigned_by = how
    item.updated_at = now
    record(
        session,
        at=now,
        actor=SYSTEM,
        action="item.assigned",
        subject_type="item",
        subject_id=item.id,
        why=choice.why,
        details={"assignee": item.assignee.email, "previous": previous, "how": how},
    )


def _escalate(
    session: Session, policy: Policy, item: Item, clock: Clock, now: datetime, load: _Load
) -> bool:
    """Record the breach of ``clock`` and move the item one step up its chain."""
    due = item.first_response_due_at if clock is Clock.FIRST_RESPONSE else item.resolution_due_at
    assert due is not None
    if clock is Clock.FIRST_RESPONSE:
        item.first_response_breached_at = now
    else:
        item.resolution_breached_at = now
    breach = SlaBreach(
        item_id=item.id, department=item.department, clock=clock.value, due_at=due, breached_at=now
    )
    session.add(breach)
    chain = escalation_chain(policy, item.department, item.activity)
    emit(session, "sla.breached", webhook_events.sla_breached(item, breach, chain), now)
    late = f"The {CLOCK_LABELS[clock]} SLA ran out ({due:%H:%M} UTC)"
    if item.escalation_level >= len(chain):
        record(
            session,
            at=now,
            actor=SYSTEM,
            action="item.sla_breached",
            subject_type="item",
            subject_id=item.id,
            why=f"{late}; it is already at the top of its escalation chain",
            details={"clock": clock.value, "department": item.department},
        )
        return False
    step = chain[item.escalation_level]
    item.escalation_level += 1
    moved_from = None
    if step.department != item.department:
        moved_from = item.department
        item.supporting = sorted({*item.supporting, item.department} - {step.department})
        item.department = step.department
    candidates = candidates_for(policy, step.department, load.logins, load.open)
    choice = choose_approver(candidates, now, department=step.department)
    record(
        session,
        at=now,
        actor=SYSTEM,
        action="item.escalated",
        subject_type="item",
        subject_id=item.id,
        why=f"{late}, so it escalates to {step.why}: {choice.why}",
        details={
            "clock": clock.value,
            "level": item.escalation_level,
            "department": step.department,
            "from_department": moved_from,
        },
    )
    breach.escalated_to_id = choice.user_id
    if choice.user_id is not None and choice.user_id != item.assignee_id:
        _give(session, item, choice, "escalation", now, load)
    return True


def work_queues(session: Session, policy: Policy, now: datetime) -> QueuePass:
    """One pass: breaches and escalations first, then automatic assignment of waiting items."""
    load = _Load(session)
    breaches = escalated = 0
    for item in repository.overdue_items(session, now, limit=BATCH):
        for clock in overdue_clocks(sla_times(item), now, _already(item)):
            breaches += 1
            escalated += _escalate(session, policy, item, clock, now, load)

    assigned = 0
    # Only departments where someone can take an item now (escalated items go to an approver
    # whatever the hour), so a pass over a night's backlog costs one small query.
    open_to = [
        dept
        for dept in policy.department_ids
        if any(
            unavailable_because(c, now) is None
            for c in candidates_for(policy, dept, load.logins, load.open)
        )
    ]
    waiting = repository.waiting_items(session, open_to, limit=BATCH)
    waiting.sort(key=lambda i: (PRIORITY_ORDER.get(i.priority, 2), i.id))
    for item in waiting:
        candidates = candidates_for(policy, item.department, load.logins, load.open)
        if item.escalation_level > 0:
            choice = choose_approver(candidates, now, department=item.department)
            how = "escalation"
        else:
            choice = choose_assignee(candidates, now, department=item.department)
            how = "auto"
        if choice.user_id is not None:
            _give(session, item, choice, how, now, load)
            assigned += 1
    session.flush()
    return QueuePass(breaches=breaches, escalated=escalated, assigned=assigned)
