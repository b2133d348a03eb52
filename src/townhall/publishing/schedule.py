"""Scheduling against the frequency caps, and moving a post to another time.

Every planner goes through here: a new draft with a time (``drafts.create_draft`` calls
``check_slot``), the calendar's drag and drop and the CLI (``reschedule``). The caps themselves
are pure (``townhall.publishing.caps``); this module loads the part of the schedule they need.

Moving a post re-runs the caps (ignoring the post itself) and the code of conduct. An approved
or scheduled post whose chain has steps and ``reapprove_on_move`` goes back to the chain's first
step when whoever moves it may not publish directly (its earlier approvals no longer count);
a draft still waiting keeps waiting at its new time. Services never commit; every move is
audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from townhall.errors import CapBlockedError, ConflictError, InputError, PermissionDeniedError
from townhall.models import OutboxKind, OutboxPost, OutboxStatus, PlannedEntry, User
from townhall.org.approvals import Risk
from townhall.org.permissions import Action, Actor, Scope
from townhall.org.planning import Cap, Period
from townhall.org.policy import Policy
from townhall.publishing import approvals, caps, drafts, localtime
from townhall.publishing.calendar import MOVABLE, title_of
from townhall.webhooks import events as webhook_events
from townhall.webhooks.outgoing import emit

ON_THE_SCHEDULE = (
    OutboxStatus.APPROVED,
    OutboxStatus.SCHEDULED,
    OutboxStatus.PUBLISHING,
    OutboxStatus.PUBLISHED,
    OutboxStatus.UNKNOWN,
)
"""Outbox statuses that are or will be out (drafts count too once they have a time)."""

WAITING = (OutboxStatus.DRAFT, OutboxStatus.CHANGES)

HORIZON = timedelta(days=60)
"""How far ahead the next free time is looked for."""

STEP = timedelta(minutes=15)
"""The grid the next free time is looked for on, from the time asked for."""

TITLE_CHARS = 40
"""How much of a post's text an audit line quotes."""


def reach(cap_list: list[Cap]) -> timedelta:
    """How far from a time an entry can still matter to these caps (a week and a day of
    margin for ``per: week``, so clock changes never cut a period short)."""
    longest = timedelta(0)
    for cap in cap_list:
        if cap.per is Period.WEEK:
            span = timedelta(days=8)
        elif cap.per is Period.DAY:
            span = timedelta(days=2)
        else:
            span = timedelta(hours=cap.within_hours or cap.min_gap_hours or 0)
        longest = max(longest, span)
    return longest


def schedule_of(
    session: Session, policy: Policy, start: datetime, end: datetime
) -> list[caps.Slot]:
    """Our posts that are or will be out, and the planned e-mail and search entries, at a
    time in ``[start, end)``, as slots (keys as on the calendar)."""
    at = or_(
        and_(OutboxPost.published_at >= start, OutboxPost.published_at < end),
        and_(
            OutboxPost.published_at.is_(None),
            OutboxPost.scheduled_at >= start,
            OutboxPost.scheduled_at < end,
        ),
    )
    posts = select(OutboxPost).where(
        at,
        OutboxPost.kind.in_([OutboxKind.POST, OutboxKind.TAKEOVER]),
        OutboxPost.status.in_([*ON_THE_SCHEDULE, *WAITING]),
    )
    slots: list[caps.Slot] = []
    for post in session.scalars(posts).unique():
        when = post.published_at or post.scheduled_at
        if when is not None:
            slots.append(caps.Slot(f"post-{post.id}", when, post.channel, post.category))
    planned = select(PlannedEntry).where(
        PlannedEntry.starts_at >= start,
        PlannedEntry.starts_at < end,
        PlannedEntry.cancelled_at.is_(None),
    )
    slots += [
        caps.Slot(f"planned-{e.id}", e.starts_at, None, e.category)
        for e in session.scalars(planned)
    ]
    return sorted(slots, key=lambda s: (s.at, s.key))


def names_of(policy: Policy) -> caps.Names:
    """How the policy's categories read in a cap's reason."""
    return caps.Names(categories={c.id: c.label for c in policy.planning.categories})


def _when(at: datetime, zone_name: str) -> str:
    wall = localtime.local(at, localtime.zone(zone_name))
    return f"{wall:%a} {wall.day} {wall:%b} {wall:%H:%M}"


def check_slot(
    session: Session,
    policy: Policy,
    *,
    channel: str,
    category: str | None,
    at: datetime,
    ignore_outbox_id: int | None = None,
) -> list[dict[str, object]]:
    """The warnings (as JSON) of the caps a post on ``channel`` at ``at`` would break; raises
    ``CapBlockedError`` with the reasons and the next free time when a blocking cap refuses
    it. ``ignore_outbox_id`` is the post being moved."""
    cap_list = list(policy.planning.caps)
    if not cap_list:
        return []
    margin = reach(cap_list)
    schedule = schedule_of(session, policy, at - margin, at + margin)
    key = f"post-{ignore_outbox_id}" if ignore_outbox_id is not None else "post-new"
    candidate = caps.Slot(key, at, channel, category)
    where = localtime.zone(policy.timezone)
    breaches = caps.check(cap_list, schedule, candidate, where, names_of(policy))
    refused = caps.blocking(breaches)
    if refused:
        ahead = schedule_of(session, policy, at - margin, at + HORIZON + margin)
        free = caps.next_free(cap_list, ahead, candidate, where, step=STEP, horizon=HORIZON)
        offer = (
            f" The next free time is {_when(free, policy.timezone)} ({policy.timezone})."
            if free is not None
            else f" No time in the next {HORIZON.days} days is free."
        )
        first = refused[0]
        raise CapBlockedError(
            f"{first.cap.label}. {first.why}.{offer}",
            [b.as_json() for b in breaches],
            free,
        )
    return [b.as_json() for b in breaches]


@dataclass(frozen=True)
class Rescheduled:
    """A moved post: what happened in words, the caps it warns about, and whether it went
    back for approval."""

    post: OutboxPost
    why: str
    warnings: list[dict[str, object]]
    reapproval: bool


def may_move(policy: Policy, post: OutboxPost, actor: User) -> bool:
    """Whether ``actor`` may move the post: its author, or someone whose role grants
    ``calendar`` on its department or on the social calendar."""
    from townhall.publishing.takeovers import calendar_scope  # deferred: takeovers imports drafts

    if post.author_id == actor.id:
        return True
    who = Actor.of(actor)
    return policy.permissions.can(
        who, Action.CALENDAR, Scope.of(post.department)
    ) or policy.permissions.can(who, Action.CALENDAR, calendar_scope(policy))


def _refuse_move(policy: Policy, post: OutboxPost, actor: User) -> None:
    if not may_move(policy, post, actor):
        owner = drafts._department_name(policy, post.department)
        raise PermissionDeniedError(
            f"{actor.name} may not move this post: its author, the calendar editors of "
            f"{owner} or whoever leads the social calendar may."
        )


def reschedule(
    session: Session, policy: Policy, post: OutboxPost, at: datetime, actor: User, now: datetime
) -> Rescheduled:
    """Move a post that has not gone out to ``at`` (aware, in the future): the caps and the
    code of conduct are checked again, and an approved post goes back to its chain's first
    step when the chain says so and ``actor`` may not publish directly (see the module)."""
    status = OutboxStatus(post.status)
    if status not in MOVABLE:
        raise ConflictError(
            f"Outbox post #{post.id} is {drafts.STATUS_LABELS[status]}: only posts that have not "
            "gone out can move."
        )
    if at.tzinfo is None:
        raise InputError("at: needs a time zone, e.g. 2026-12-01T09:00:00Z")
    if at <= now:
        raise InputError("at: a post can only move to a time still ahead.")
    _refuse_move(policy, post, actor)
    kind = OutboxKind(post.kind)
    warnings: list[dict[str, object]] = []
    if kind is not OutboxKind.PRIVATE:
        warnings = check_slot(
            session,
            policy,
            channel=post.channel,
            category=post.category,
            at=at,
            ignore_outbox_id=post.id,
        )
    item = drafts._item_of(session, post)
    author = session.get(User, post.author_id) or actor
    context = drafts.context_for(
        session, policy, channel=post.channel, author=author, kind=kind, item=item, paid=post.paid
    )
    post.findings = drafts._findings(policy, post.text, context)
    before = post.scheduled_at
    post.scheduled_at, post.updated_at = at, now
    reapproval, outcome = _after_move(session, policy, post, status, actor, now)
    zone_name = policy.person_timezone(actor.email)
    title = title_of(post.text)
    if len(title) > TITLE_CHARS:
        title = title[: TITLE_CHARS - 1].rstrip() + "…"
    moved = (
        f"from {_when(before, zone_name)} to {_when(at, zone_name)}"
        if before is not None
        else f"to {_when(at, zone_name)}"
    )
    why = f"{actor.name} moved '{title}' {moved} ({zone_name}); {outcome}"
    drafts.audit(session, post, actor.email, "outbox.rescheduled", now, why)
    return Rescheduled(post, why, warnings, reapproval)


def _after_move(
    session: Session,
    policy: Policy,
    post: OutboxPost,
    status: OutboxStatus,
    actor: User,
    now: datetime,
) -> tuple[bool, str]:
    """Send a moved post back for approval or keep it approved. Returns whether it went back,
    and what happened in words."""
    room = approvals.room_of(session, post)
    chain = approvals.chain_by_id(policy, post.chain) if post.chain else None
    if status in WAITING:
        if chain is not None and chain.steps:
            step = chain.steps[min(post.step, len(chain.steps) - 1)]
            return False, f"it still waits for {approvals.step_label(policy, step, post, room)}"
        return False, "it still waits for approval"
    risk = Risk(post.risk) if post.risk in tuple(Risk) else Risk.HIGH
    if (
        chain is not None
        and chain.steps
        and chain.reapprove_on_move
        and not approvals.may_publish_directly(
            policy, chain, actor, post.department, risk, post.findings
        )
    ):
        first = approvals.step_label(policy, chain.steps[0], post, room)
        post.status, post.step, post.revision = OutboxStatus.DRAFT, 0, post.revision + 1
        emit(
            session,
            "draft.awaiting_approval",
            webhook_events.outbox_post(post, waiting_for=first),
            now,
        )
        return True, f"it goes back to {first}"
    post.status = OutboxStatus.SCHEDULED
    return False, "it stays approved"
