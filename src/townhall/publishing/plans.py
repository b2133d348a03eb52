"""PR communication plans: an ordered set of planned statements and posts, each with an owner,
a due time and, once written, a draft that follows its approval chain.

- ``create`` starts a plan (led by the department leading ``communication_plans`` unless told
  otherwise); ``from_crisis`` starts one from a crisis room's holding statement, with two
  suggested follow-up steps.
- ``add_step``, ``update_step`` and ``move_step`` shape the plan (positions 1..n).
- ``write_draft`` turns a step on a channel into an outbox draft (statements go down the
  policy's statement chain); ``mark_done`` closes a step said off Townhall (a press
  conference). A plan is done when every step is published or done.

Editing a plan needs ``calendar`` on its department; writing or closing a step, ``calendar``
on the plan's department or the step's owner. Services never commit. Every change is audited
(subject ``plan``; a plan started from a crisis is also on the room's history).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from townhall.models import (
    CommunicationPlan,
    CrisisRoom,
    OutboxPost,
    OutboxStatus,
    PlanPurpose,
    PlanStatus,
    PlanStep,
    User,
)
from townhall.org.permissions import Action, Actor, Scope
from townhall.org.policy import Policy
from townhall.publishing import campaigns, drafts

LEAD_ACTIVITY = "communication_plans"
"""The ownership activity whose lead department leads plans by default (PR, at ACME)."""

MAX_NAME = 200
"""Longest plan name or step title, in characters."""

MAX_DESCRIPTION = 5_000
"""Longest plan description, in characters."""

STATEMENT_CATEGORY = "statement"
"""The planning category a statement's draft gets when the policy has it."""

HOLDING_DUE = timedelta(minutes=15)
"""A plan from a crisis room: the holding statement is due this long after it starts."""

FOLLOW_UPS = (
    ("Update when the cause is known", timedelta(days=1)),
    ("Close-out statement", timedelta(days=3)),
)
"""The suggested steps after a holding statement, and how long after the start each is due."""

NOT_WRITTEN = "not written"
DONE = "done"
FINISHED = (OutboxStatus.PUBLISHED,)
"""Draft statuses that finish a step."""


# -- reading -----------------------------------------------------------------------------------
def get(session: Session, plan_id: int) -> CommunicationPlan:
    """The plan ``plan_id``; raises ``NotFoundError``."""
    plan = session.get(CommunicationPlan, plan_id)
    if plan is None:
        raise NotFoundError(f"There is no communication plan #{plan_id}.")
    return plan


def get_step(session: Session, step_id: int) -> PlanStep:
    """The plan step ``step_id``; raises ``NotFoundError``."""
    step = session.get(PlanStep, step_id)
    if step is None:
        raise NotFoundError(f"There is no plan step #{step_id}.")
    return step


def list_plans(session: Session, limit: int = 500) -> list[CommunicationPlan]:
    """Plans, open ones first, then newest first."""
    order = {PlanStatus.OPEN: 0, PlanStatus.DONE: 1, PlanStatus.CANCELLED: 2}
    plans = list(
        session.scalars(
            select(CommunicationPlan).order_by(CommunicationPlan.id.desc()).limit(limit)
        ).unique()
    )
    return sorted(plans, key=lambda p: order.get(PlanStatus(p.status), 3))


def drafts_of(session: Session, steps: Iterable[PlanStep]) -> dict[int, OutboxPost]:
    """The drafts written from ``steps``, by outbox id."""
    ids = [s.outbox_id for s in steps if s.outbox_id is not None]
    if not ids:
        return {}
    rows = session.scalars(select(OutboxPost).where(OutboxPost.id.in_(ids))).unique()
    return {post.id: post for post in rows}


def step_state(step: PlanStep, posts: dict[int, OutboxPost]) -> str:
    """How a step stands: "not written", its draft's status in words, or "done"."""
    if step.done_at is not None:
        return DONE
    if step.outbox_id is None:
        return NOT_WRITTEN
    post = posts.get(step.outbox_id)
    if post is None:
        return NOT_WRITTEN
    return drafts.STATUS_LABELS[OutboxStatus(post.status)]


def step_finished(step: PlanStep, posts: dict[int, OutboxPost]) -> bool:
    """Whether a step is over: marked done, or its draft published."""
    if step.done_at is not None:
        return True
    post = posts.get(step.outbox_id) if step.outbox_id is not None else None
    return post is not None and OutboxStatus(post.status) in FINISHED


@dataclass(frozen=True)
class Progress:
    """How far a plan is: ``finished`` of ``total`` steps, and the next unfinished one."""

    finished: int
    total: int
    next_step: PlanStep | None


def progress(plan: CommunicationPlan, posts: dict[int, OutboxPost]) -> Progress:
    """The plan's progress (``posts``: its steps' drafts, from ``drafts_of``)."""
    left = [s for s in plan.steps if not step_finished(s, posts)]
    soonest = min(left, key=lambda s: (s.due_at, s.position)) if left else None
    return Progress(len(plan.steps) - len(left), len(plan.steps), soonest)


def status_of(plan: CommunicationPlan, posts: dict[int, OutboxPost]) -> PlanStatus:
    """The plan's status: cancelled as stored; done once it has steps and all are finished."""
    if plan.status == PlanStatus.CANCELLED:
        return PlanStatus.CANCELLED
    done = bool(plan.steps) and all(step_finished(s, posts) for s in plan.steps)
    return PlanStatus.DONE if done else PlanStatus.OPEN


# -- permissions -------------------------------------------------------------------------------
def _name(policy: Policy, department: str) -> str:
    try:
        return policy.department(department).name
    except KeyError:
        return department


def may_edit(policy: Policy, actor: User, department: str) -> bool:
    """Whether ``actor`` has ``calendar`` on ``department`` (edits its plans)."""
    return policy.permissions.can(Actor.of(actor), Action.CALENDAR, Scope.of(department))


def _require(policy: Policy, actor: User, *departments: str) -> None:
    if any(may_edit(policy, actor, d) for d in departments):
        return
    scope = Scope.of(departments[0])
    who = policy.permissions.who_can(Action.CALENDAR, scope, lambda d: _name(policy, d))
    also = f" Who can: {', '.join(who)}." if who else ""
    raise PermissionDeniedError(
        f"You may not edit the communication plans of {_name(policy, departments[0])}.{also}"
    )


# -- checks ------------------------------------------------------------------------------------
def _text(field: str, value: str, longest: int, required: bool = True) -> str:
    value = value.strip()
    if (required and not value) or len(value) > longest:
        least = 1 if required else 0
        raise InputError(f"{field}: must have {least} to {longest:,} characters.")
    return value


def _department(policy: Policy, field: str, department: str) -> str:
    if department not in policy.department_ids:
        known = ", ".join(policy.department_ids)
        raise InputError(f"{field}: unknown department {department!r} (the policy has {known})")
    return department


def _channel(policy: Policy, channel: str | None) -> str | None:
    if channel is None or not channel.strip():
        return None
    channel = channel.strip()
    if channel not in {c.id for c in policy.channels}:
        known = ", ".join(c.id for c in policy.channels)
        raise InputError(f"channel: unknown channel {channel!r} (the policy has {known})")
    return channel


def _aware(field: str, moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InputError(f"{field}: needs a time zone, e.g. 2026-12-01T09:00:00Z")
    return moment


def _audit(
    session: Session,
    plan: CommunicationPlan,
    actor: User,
    action: str,
    now: datetime,
    why: str,
    **details: object,
) -> None:
    record(
        session,
        at=now,
        actor=actor.email,
        action=f"plan.{action}",
        subject_type="plan",
        subject_id=plan.id,
        why=why,
        details=dict(details),
    )


# -- plans -------------------------------------------------------------------------------------
def create(
    session: Session,
    policy: Policy,
    *,
    name: str,
    purpose: PlanPurpose | str,
    actor: User,
    now: datetime,
    department: str | None = None,
    description: str = "",
    campaign_id: int | None = None,
    crisis_id: int | None = None,
) -> CommunicationPlan:
    """A new open plan led by ``department`` (default: who leads ``communication_plans``)."""
    name = _text("name", name, MAX_NAME)
    description = _text("description", description, MAX_DESCRIPTION, required=False)
    try:
        purpose = PlanPurpose(purpose)
    except ValueError:
        known = ", ".join(p.value for p in PlanPurpose)
        raise InputError(f"purpose: {purpose!r} is not one of {known}") from None
    department = _department(policy, "department", department or policy.leads(LEAD_ACTIVITY)[0])
    _require(policy, actor, department)
    if campaign_id is not None:
        campaigns.get(session, campaign_id)
    if crisis_id is not None and session.get(CrisisRoom, crisis_id) is None:
        raise NotFoundError(f"crisis: there is no crisis room #{crisis_id}.")
    plan = CommunicationPlan(
        name=name,
        purpose=purpose,
        department=department,
        description=description,
        status=PlanStatus.OPEN,
        crisis_id=crisis_id,
        campaign_id=campaign_id,
        created_by_id=actor.id,
        created_at=now,
    )
    plan.created_by = actor
    session.add(plan)
    session.flush()
    _audit(
        session,
        plan,
        actor,
        "created",
        now,
        f"{actor.name} started the {purpose.value} plan “{name}” for {_name(policy, department)}",
        department=department,
    )
    return plan


def cancel(
    session: Session, policy: Policy, plan: CommunicationPlan, *, actor: User, now: datetime
) -> CommunicationPlan:
    """Cancel an open plan (its unwritten steps leave the calendar; written drafts stay)."""
    _require(policy, actor, plan.department)
    if plan.status == PlanStatus.CANCELLED:
        raise ConflictError(f"Plan #{plan.id} is already cancelled.")
    plan.status = PlanStatus.CANCELLED
    _audit(session, plan, actor, "cancelled", now, f"{actor.name} cancelled the plan")
    return plan


def _settle(session: Session, plan: CommunicationPlan) -> None:
    """Store the plan as done once every step is finished."""
    posts = drafts_of(session, plan.steps)
    if plan.status == PlanStatus.OPEN and status_of(plan, posts) is PlanStatus.DONE:
        plan.status = PlanStatus.DONE


def _open(plan: CommunicationPlan) -> None:
    if plan.status == PlanStatus.CANCELLED:
        raise ConflictError(f"Plan #{plan.id} is cancelled: it changes no more.")


# -- steps -------------------------------------------------------------------------------------
def add_step(
    session: Session,
    policy: Policy,
    plan: CommunicationPlan,
    *,
    title: str,
    due_at: datetime,
    actor: User,
    now: datetime,
    text: str = "",
    channel: str | None = None,
    owner_department: str | None = None,
    owner: User | None = None,
    statement: bool = True,
) -> PlanStep:
    """A step at the end of the plan: ``channel`` None means said off Townhall; the owner
    department defaults to the plan's; ``due_at`` is aware (stored UTC)."""
    _require(policy, actor, plan.department)
    _open(plan)
    step = PlanStep(
        plan_id=plan.id,
        position=max((s.position for s in plan.steps), default=0) + 1,
        title=_text("title", title, MAX_NAME),
        text=_text("text", text, drafts.MAX_TEXT, required=False),
        channel=_channel(policy, channel),
        owner_department=_department(
            policy, "owner_department", owner_department or plan.department
        ),
        owner_id=owner.id if owner is not None else None,
        due_at=_aware("due_at", due_at),
        statement=statement,
    )
    step.owner = owner
    session.add(step)
    plan.steps.append(step)
    if plan.status == PlanStatus.DONE:
        plan.status = PlanStatus.OPEN
    session.flush()
    _audit(
        session,
        plan,
        actor,
        "step_added",
        now,
        f"{actor.name} added step {step.position}: {step.title}",
        step_id=step.id,
    )
    return step


def update_step(
    session: Session,
    policy: Policy,
    step: PlanStep,
    *,
    title: str,
    due_at: datetime,
    actor: User,
    now: datetime,
    text: str = "",
    channel: str | None = None,
    owner_department: str | None = None,
    owner: User | None = None,
    statement: bool = True,
) -> PlanStep:
    """Change a step that is not written yet (a written one changes through its draft)."""
    plan = step.plan
    _require(policy, actor, plan.department)
    _open(plan)
    if step.outbox_id is not None or step.done_at is not None:
        raise ConflictError(f"Step {step.position} is written or done: change its draft instead.")
    step.title = _text("title", title, MAX_NAME)
    step.text = _text("text", text, drafts.MAX_TEXT, required=False)
    step.channel = _channel(policy, channel)
    step.owner_department = _department(
        policy, "owner_department", owner_department or plan.department
    )
    step.owner_id = owner.id if owner is not None else None
    step.owner = owner
    step.due_at = _aware("due_at", due_at)
    step.statement = statement
    _audit(
        session,
        plan,
        actor,
        "step_changed",
        now,
        f"{actor.name} changed step {step.position}: {step.title}",
        step_id=step.id,
    )
    return step


def move_step(
    session: Session, policy: Policy, step: PlanStep, up: bool, *, actor: User, now: datetime
) -> PlanStep:
    """Swap a step with the one before it (``up``) or after it; at either end, nothing moves."""
    plan = step.plan
    _require(policy, actor, plan.department)
    _open(plan)
    ordered = sorted(plan.steps, key=lambda s: s.position)
    index = ordered.index(step)
    other_index = index - 1 if up else index + 1
    if not 0 <= other_index < len(ordered):
        return step
    other = ordered[other_index]
    step.position, other.position = other.position, step.position
    session.flush()
    plan.steps.sort(key=lambda s: s.position)
    _audit(
        session,
        plan,
        actor,
        "step_moved",
        now,
        f"{actor.name} moved “{step.title}” {'up' if up else 'down'} to step {step.position}",
        step_id=step.id,
    )
    return step


def write_draft(
    session: Session, policy: Policy, step: PlanStep, *, actor: User, now: datetime
) -> OutboxPost:
    """The step's draft in the outbox, from its planned words, scheduled for its due time if
    that is still ahead; it then follows its approval chain (statements: the statement
    chain). Raises ``InputError`` for a step with no channel or no text, ``ConflictError`` for
    one already written or done."""
    plan = step.plan
    _require(policy, actor, plan.department, step.owner_department)
    _open(plan)
    if step.outbox_id is not None:
        raise ConflictError(f"Step {step.position} already has its draft (#{step.outbox_id}).")
    if step.done_at is not None:
        raise ConflictError(f"Step {step.position} is already done.")
    if step.channel is None:
        raise InputError(
            "channel: this step is said off Townhall (no channel): mark it done once it is said."
        )
    if not step.text.strip():
        raise InputError("text: write the step's words before writing its draft.")
    has_category = policy.planning.category(STATEMENT_CATEGORY) is not None
    post = drafts.create_draft(
        session,
        policy,
        channel=step.channel,
        text=step.text,
        author=actor,
        now=now,
        at=step.due_at if step.due_at > now else None,
        statement=step.statement,
        category=STATEMENT_CATEGORY if step.statement and has_category else None,
        campaign_id=plan.campaign_id,
    )
    step.outbox_id = post.id
    _audit(
        session,
        plan,
        actor,
        "step_written",
        now,
        f"{actor.name} wrote the draft of step {step.position}: {step.title} "
        f"({drafts.STATUS_LABELS[OutboxStatus(post.status)]})",
        step_id=step.id,
        outbox_id=post.id,
    )
    _settle(session, plan)
    return post


def mark_done(
    session: Session, policy: Policy, step: PlanStep, *, actor: User, now: datetime
) -> PlanStep:
    """Close a step said off Townhall (a press conference, a mailing); a step with a draft is
    done when the draft is published."""
    plan = step.plan
    _require(policy, actor, plan.department, step.owner_department)
    _open(plan)
    if step.outbox_id is not None:
        raise ConflictError(
            f"Step {step.position} has a draft (#{step.outbox_id}): it is done once published."
        )
    if step.done_at is not None:
        raise ConflictError(f"Step {step.position} is already done.")
    step.done_at = now
    _audit(
        session,
        plan,
        actor,
        "step_done",
        now,
        f"{actor.name} marked step {step.position} done: {step.title}",
        step_id=step.id,
    )
    _settle(session, plan)
    return step


# -- from a crisis room ------------------------------------------------------------------------
def from_crisis(
    session: Session, policy: Policy, room: CrisisRoom, *, actor: User, now: datetime
) -> CommunicationPlan:
    """A crisis plan led by the room's lead department: the holding statement due in 15
    minutes, then an update (+1 day) and a close-out statement (+3 days) to write. Raises
    ``InputError`` when the room has no holding statement yet."""
    _require(policy, actor, room.lead_department)
    statement = room.holding_statement.strip()
    if not statement:
        raise InputError(
            "holding_statement: the room has no holding statement yet: write it first."
        )
    plan = create(
        session,
        policy,
        name=f"Crisis follow-up: {room.title}"[:MAX_NAME],
        purpose=PlanPurpose.CRISIS,
        department=room.lead_department,
        description=f"Started from crisis room #{room.id}.",
        crisis_id=room.id,
        actor=actor,
        now=now,
    )
    channel = _first_channel(policy)
    add_step(
        session,
        policy,
        plan,
        title="Holding statement",
        text=statement,
        channel=channel,
        owner_department=room.lead_department,
        due_at=now + HOLDING_DUE,
        actor=actor,
        now=now,
    )
    for title, after in FOLLOW_UPS:
        add_step(
            session,
            policy,
            plan,
            title=title,
            channel=channel,
            owner_department=room.lead_department,
            due_at=now + after,
            actor=actor,
            now=now,
        )
    record(
        session,
        at=now,
        actor=actor.email,
        action="crisis.plan_started",
        subject_type="crisis",
        subject_id=room.id,
        why=f"{actor.name} started communication plan #{plan.id} from the holding statement",
        details={"plan_id": plan.id},
    )
    return plan


def _first_channel(policy: Policy) -> str | None:
    """The channel a crisis plan's statements go out on first: the first the policy lists
    (the lead edits each step before writing it)."""
    return policy.channels[0].id if policy.channels else None
