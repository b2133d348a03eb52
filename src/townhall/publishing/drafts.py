"""Drafts and replies: everything Townhall will say goes into the outbox as a draft, passes the
code of conduct, and follows its approval chain from the policy.

- The code of conduct (``townhall.publishing.conduct``) checks every draft as it is written and
  revised: a ``block`` finding refuses it (``ConductBlockedError``), ``needs_approval`` sends it
  to its chain whoever wrote it, ``warn`` is recorded with it.
- The approval chain (``townhall.publishing.approvals``) is chosen by the draft's kind,
  department, channel, the item's activity and intent, risk, crisis, paid and statement flags.
  Its ``direct`` rule lets some authors publish at once; otherwise each step is decided in
  turn, by any or all of its deciders; nobody decides on their own draft. An approver may also
  reject, or ask the author for changes; the author revises and the chain starts again.
- The crisis rule is one chain: a public reply on an item of an open crisis room waits for the
  room's lead and, with ``cooldown``, no approval comes before the cool-down ends. A held draft
  whose room is resolved goes back to its normal chain.
- A draft not approved by its scheduled time expires: it never goes out late, and its author
  sees it among their failed and expired drafts.
- Private contact with an author goes out at once unless a chain names private messages or the
  code of conduct asks for approval: a direct message where the network has one, else it is
  logged (recorded, nothing sent).

Services never commit: the transaction belongs to the caller. Every change is audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.audit import SYSTEM, record
from townhall.cases import repository
from townhall.connectors.base import Capability
from townhall.connectors.registry import capabilities_of
from townhall.errors import (
    ConductBlockedError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)
from townhall.models import (
    CrisisRoom,
    CrisisStatus,
    Decision,
    Item,
    OutboxDecision,
    OutboxKind,
    OutboxPost,
    OutboxStatus,
    PostRecord,
    Role,
    User,
)
from townhall.org.approvals import Chain, DraftKind, Need
from townhall.org.policy import Policy
from townhall.publishing import approvals, campaigns, conduct, schedule
from townhall.webhooks import events as webhook_events
from townhall.webhooks.outgoing import emit

MAX_TEXT = 10_000
"""Longest draft accepted, in characters (each network's own limit is a conduct rule)."""

MAX_NOTE = 5_000
"""Longest comment or reviewer note, in characters."""

OPEN_CRISIS = (CrisisStatus.WATCHING, CrisisStatus.ACTIVE)

STATUS_LABELS = {
    OutboxStatus.DRAFT: "waiting for approval",
    OutboxStatus.CHANGES: "changes requested",
    OutboxStatus.APPROVED: "approved, going out",
    OutboxStatus.SCHEDULED: "scheduled",
    OutboxStatus.PUBLISHING: "publishing",
    OutboxStatus.PUBLISHED: "published",
    OutboxStatus.FAILED: "failed",
    OutboxStatus.UNKNOWN: "checking whether it went out",
    OutboxStatus.MISSED: "missed",
    OutboxStatus.REJECTED: "rejected",
    OutboxStatus.LOGGED: "contact logged",
    OutboxStatus.EXPIRED: "expired before approval",
}
"""How each status reads on a page."""

POSTERS = ("social_calendar", "communication_plans")
"""Activities whose lead departments may post on any channel (besides its owner)."""


def audit(
    session: Session, post: OutboxPost, actor: str, action: str, now: datetime, why: str
) -> None:
    """Record what happened to an outbox post: on its item's history when it answers one."""
    subject_type, subject_id = ("item", post.item_id) if post.item_id else ("outbox", post.id)
    record(
        session,
        at=now,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        why=why,
        details={
            "outbox_id": post.id,
            "channel": post.channel,
            "kind": str(post.kind),
            "remote_url": post.remote_url,
            "chain": post.chain,
        },
    )


def _clean(text: str) -> str:
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise InputError(f"text: a post must have 1 to {MAX_TEXT:,} characters.")
    return text


def _channel(policy: Policy, channel: str) -> None:
    try:
        policy.channel(channel)
    except KeyError:
        known = ", ".join(c.id for c in policy.channels)
        raise InputError(f"channel: unknown channel {channel!r} (the policy has {known})") from None


def context_for(
    session: Session,
    policy: Policy,
    *,
    channel: str,
    author: User,
    kind: OutboxKind | DraftKind,
    item: Item | None = None,
    paid: bool = False,
) -> conduct.Context:
    """The code of conduct's view of a draft: who writes what, where (also for a live check
    while someone types)."""
    department = item.department if item is not None else policy.default_owner(channel)
    person = policy.person(author.email)
    return conduct.Context(
        channel=channel,
        kind=DraftKind(str(kind)),
        department=department,
        author_department=author.department,
        author_role=author.role,
        author_rights=tuple(person.rights) if person is not None else (),
        paid=paid,
    )


def _findings(policy: Policy, text: str, context: conduct.Context) -> list[dict[str, object]]:
    found = conduct.check(policy, text, context)
    findings = [f.as_json() for f in found]
    if conduct.blocks(found):
        first = next(f for f in found if str(f.level) == "block")
        more = len([f for f in found if str(f.level) == "block"]) - 1
        also = f" (and {more} more)" if more else ""
        raise ConductBlockedError(
            f"text: the code of conduct stops this draft: {first.why}. {first.message}{also}",
            findings,
        )
    return findings


def _may_post(policy: Policy, author: User, channel: str) -> bool:
    if author.role == Role.ADMIN or author.department == policy.default_owner(channel):
        return True
    # POSTERS are required activities of every valid policy: ``leads`` finds them.
    return any(author.department in policy.leads(activity) for activity in POSTERS)


def _on_shift(session: Session, author: User, channel: str, now: datetime) -> int | None:
    from townhall.publishing import takeovers  # deferred: takeovers writes outbox posts

    shift = takeovers.on_shift(session, author.id, channel, now)
    return shift.id if shift is not None else None


def _facts(post: OutboxPost, item: Item | None, room: CrisisRoom | None) -> approvals.Facts:
    crisis = room is not None and room.status in OPEN_CRISIS
    intent = item.post.intent if item is not None else None
    return approvals.Facts(
        kind=approvals.kind_of(OutboxKind(post.kind)),
        department=post.department,
        channel=post.channel,
        activity=item.activity if item is not None else None,
        intent=intent,
        risk=approvals.risk_of(post.findings, item, crisis),
        crisis=crisis,
        paid=post.paid,
        statement=post.statement,
    )


def create_draft(
    session: Session,
    policy: Policy,
    *,
    channel: str,
    text: str,
    author: User,
    now: datetime,
    kind: OutboxKind = OutboxKind.POST,
    reply_to: str | None = None,
    at: datetime | None = None,
    item: Item | None = None,
    paid: bool = False,
    statement: bool = False,
    category: str | None = None,
    campaign_id: int | None = None,
    recurring: str | None = None,
    key: str | None = None,
    objective_id: str | None = None,
) -> OutboxPost:
    """A new outbox post on ``channel``, checked against the code of conduct and the
    frequency caps, and sent down its approval chain (released at once when the chain lets its
    author publish directly). ``reply_to`` is the Post id answered; ``at`` the time to publish
    (None: once approved); ``category`` what it is (for the caps); ``campaign_id`` the campaign
    it belongs to (its links get UTM parameters; a paid campaign makes it paid); ``recurring``
    the slot that wrote it; ``key`` a fixed idempotency key (default: a new one);
    ``objective_id`` the policy objective it serves (default: its campaign's).

    Raises ``ConductBlockedError`` when a ``block`` rule stops it, ``CapBlockedError`` when a
    blocking cap refuses its time, ``PermissionDeniedError`` when its author may not post on
    the channel."""
    text = _clean(text)
    _channel(policy, channel)
    if category is not None and policy.planning.category(category) is None:
        known = ", ".join(c.id for c in policy.planning.categories) or "none"
        raise InputError(f"category: unknown category {category!r} (the policy has {known})")
    campaign = None
    if campaign_id is not None:
        campaign = campaigns.get(session, campaign_id)
        text = _clean(campaigns.tag_links(text, campaign, channel))
        paid = paid or campaign.paid
        category = category or campaign.category
    if objective_id is not None and policy.objectives.objective(objective_id) is None:
        known = ", ".join(o.id for o in policy.objectives.objectives) or "none"
        raise InputError(f"objective: unknown objective {objective_id!r} (the policy has {known})")
    if objective_id is None and campaign is not None:
        objective_id = campaign.objective_id
    target: PostRecord | None = None
    takeover_id: int | None = None
    if reply_to is not None:
        target = session.scalar(select(PostRecord).where(PostRecord.post_id == reply_to))
        if target is None:
            raise NotFoundError(f"reply_to: there is no stored post {reply_to!r}.")
        if target.channel != channel:
            raise InputError(
                f"reply_to: {reply_to} is on {target.channel}, not on {channel}: a reply goes "
                "out on the channel of the post it answers."
            )
        if kind in (OutboxKind.POST, OutboxKind.TAKEOVER):
            kind = OutboxKind.REPLY
        if item is None:
            item = session.scalar(select(Item).where(Item.post_pk == target.id))
    elif kind is OutboxKind.REPLY or kind is OutboxKind.PRIVATE:
        raise InputError("reply_to: a reply or private message needs the post it answers.")
    else:
        takeover_id = _on_shift(session, author, channel, now)
        if takeover_id is not None:
            kind = OutboxKind.TAKEOVER
        elif not _may_post(policy, author, channel):
            owner = policy.default_owner(channel)
            raise PermissionDeniedError(
                f"Only {_department_name(policy, owner)}, the departments that plan posts, or "
                f"someone on a takeover shift may post on {channel}."
            )
        if kind is OutboxKind.TAKEOVER and takeover_id is None:
            raise PermissionDeniedError(f"{author.name} is not on a takeover shift on {channel}.")
    if at is not None and at.tzinfo is None:
        raise InputError("at: needs a time zone, e.g. 2026-12-01T09:00:00Z")
    if at is not None and at <= now:
        at = None  # a time already passed means as soon as approved
    if at is not None and kind is not OutboxKind.PRIVATE:
        schedule.check_slot(session, policy, channel=channel, category=category, at=at)
    context = context_for(
        session, policy, channel=channel, author=author, kind=kind, item=item, paid=paid
    )
    findings = _findings(policy, text, context)
    room = session.get(CrisisRoom, item.crisis_id) if item is not None and item.crisis_id else None
    post = OutboxPost(
        channel=channel,
        kind=kind,
        text=text,
        department=context.department,
        status=OutboxStatus.DRAFT,
        key=key or uuid.uuid4().hex,
        item_id=item.id if item is not None else None,
        reply_to=reply_to,
        reply_to_author=target.author_handle if target is not None else None,
        direct_to=target.author_handle if kind is OutboxKind.PRIVATE and target else None,
        scheduled_at=at,
        author_id=author.id,
        attempts=0,
        error="",
        decision_note="",
        paid=paid,
        statement=statement,
        findings=findings,
        revision=1,
        step=0,
        takeover_id=takeover_id,
        category=category,
        campaign_id=campaign.id if campaign is not None else None,
        objective_id=objective_id,
        recurring=recurring,
        created_at=now,
        updated_at=now,
    )
    post.author = author
    session.add(post)
    session.flush()
    why = _route(session, policy, post, item, room, author, now)
    audit(session, post, author.email, f"outbox.{post.status}", now, why)
    return post


def _route(
    session: Session,
    policy: Policy,
    post: OutboxPost,
    item: Item | None,
    room: CrisisRoom | None,
    author: User,
    now: datetime,
) -> str:
    """Choose the chain of a new or revised draft; release it when nothing holds it. Returns
    what happened, in words."""
    facts = _facts(post, item, room)
    post.risk = facts.risk.value
    chain = approvals.chain_for(policy, facts)
    if chain is None and any(str(f.get("level")) == "needs_approval" for f in post.findings):
        chain = approvals.chain_by_id(policy, "department")
    kind = OutboxKind(post.kind)
    post.chain = chain.id if chain is not None else None
    post.step = 0
    held = chain is not None and chain.when.crisis is True and facts.crisis
    post.crisis_id = room.id if held and room is not None else None
    post.not_before = (
        room.opened_at + timedelta(minutes=room.cooldown_minutes)
        if chain is not None and chain.cooldown and room is not None and facts.crisis
        else None
    )
    if chain is None and kind is OutboxKind.PRIVATE:
        channel_policy = policy.channel(post.channel)
        if Capability.DIRECT not in capabilities_of(channel_policy):
            post.status = OutboxStatus.LOGGED
            return (
                f"{author.name} contacted the author privately (logged: {post.channel} has no "
                "private messages)"
            )
        _release(post, None, now)
        return f"{author.name} wrote a private message to {post.direct_to}"
    assert chain is not None
    if approvals.may_publish_directly(
        policy, chain, author, post.department, facts.risk, post.findings
    ):
        _release(post, None, now)
        return (
            f"{author.name} wrote a {_kind_words(kind)}; as "
            f"{_direct_reason(policy, author, chain)} it goes out without approval "
            f"({chain.label.lower()}, {facts.risk.value} risk)"
        )
    if not chain.steps:
        _release(post, None, now)
        return f"{author.name} wrote a {_kind_words(kind)}; {chain.label} needs no approval"
    post.status = OutboxStatus.DRAFT
    first = approvals.step_label(policy, chain.steps[0], post, room)
    why = f"{author.name} wrote a {_kind_words(kind)}; it waits for {first} ({chain.label})"
    if post.not_before is not None and room is not None:
        why += f", not before the crisis cool-down ends at {post.not_before:%H:%M} UTC"
    emit(
        session, "draft.awaiting_approval", webhook_events.outbox_post(post, waiting_for=first), now
    )
    return why


def _kind_words(kind: OutboxKind) -> str:
    return {
        OutboxKind.POST: "post",
        OutboxKind.REPLY: "public reply",
        OutboxKind.PRIVATE: "private message",
        OutboxKind.TAKEOVER: "takeover post",
    }[kind]


def _department_name(policy: Policy, department: str) -> str:
    try:
        return policy.department(department).name
    except KeyError:
        return department


def _direct_reason(policy: Policy, author: User, chain: Chain) -> str:
    if author.role == Role.ADMIN:
        return "an admin"
    if chain.direct is not None and author.role in chain.direct.roles:
        return f"an {author.role} of {_department_name(policy, author.department)}"
    return "someone with the publish right"


def _release(post: OutboxPost, actor: User | None, now: datetime) -> None:
    post.status = (
        OutboxStatus.SCHEDULED
        if post.scheduled_at and post.scheduled_at > now
        else (OutboxStatus.APPROVED)
    )
    post.decided_at, post.updated_at = now, now
    if actor is not None:
        post.decided_by_id = actor.id
        post.decided_by = actor


def get_post(session: Session, outbox_id: int) -> OutboxPost:
    """The outbox post ``outbox_id``; raises ``NotFoundError``."""
    post = session.get(OutboxPost, outbox_id)
    if post is None:
        raise NotFoundError(f"There is no outbox post #{outbox_id}.")
    return post


def _item_of(session: Session, post: OutboxPost) -> Item | None:
    return session.get(Item, post.item_id) if post.item_id else None


def _unheld_if_resolved(
    session: Session, policy: Policy, post: OutboxPost, actor: User, now: datetime
) -> bool:
    """A draft held by a crisis whose room is no longer open goes back to its normal chain.
    Returns whether it was moved."""
    room = approvals.room_of(session, post)
    if room is None or room.status in OPEN_CRISIS:
        return False
    item = _item_of(session, post)
    author = session.get(User, post.author_id) or actor
    why = _route(session, policy, post, item, None, author, now)
    audit(
        session,
        post,
        SYSTEM,
        f"outbox.{post.status}",
        now,
        f"Crisis room #{room.id} is "
        f"{room.status}: the held draft goes back to normal approval. {why}",
    )
    return True


def decide(
    session: Session,
    policy: Policy,
    outbox_id: int,
    decision: Decision,
    *,
    actor: User,
    now: datetime,
    comment: str = "",
    note: str = "",
) -> OutboxPost:
    """Approve, reject or ask for changes on a draft at its current step (see the module). An
    approval that completes the last step releases the draft; in a crisis with a cool-down,
    approvals wait for it to end."""
    post = get_post(session, outbox_id)
    if post.status != OutboxStatus.DRAFT:
        raise ConflictError(
            f"Outbox post #{post.id} is {STATUS_LABELS[OutboxStatus(post.status)]}; only drafts "
            "waiting for approval are decided."
        )
    if decision == Decision.NOTE:
        raise InputError("decision: approve, reject or ask for changes (notes: add_note).")
    if post.author_id == actor.id:
        raise PermissionDeniedError("Nobody approves their own draft: another approver decides.")
    if _unheld_if_resolved(session, policy, post, actor, now) and post.status != OutboxStatus.DRAFT:
        return post
    if not approvals.may_decide(session, policy, post, actor):
        chain = approvals.chain_by_id(policy, post.chain)
        step = chain.steps[min(post.step, len(chain.steps) - 1)] if chain.steps else None
        who = (
            approvals.step_label(policy, step, post, approvals.room_of(session, post))
            if step is not None
            else "an admin"
        )
        raise PermissionDeniedError(
            f"This draft waits for {who}; {actor.name} cannot decide on it."
        )
    if decision == Decision.APPROVED and post.not_before is not None and now < post.not_before:
        raise ConflictError(
            f"No knee-jerk replies: the cool-down of this crisis ends at "
            f"{post.not_before:%H:%M} UTC."
        )
    comment, note = comment.strip()[:MAX_NOTE], note.strip()[:MAX_NOTE]
    if decision == Decision.CHANGES and not comment:
        raise InputError("comment: say what should change.")
    session.add(
        OutboxDecision(
            outbox_id=post.id,
            revision=post.revision,
            step=post.step,
            user_id=actor.id,
            decision=decision,
            comment=comment,
            note=note,
            at=now,
        )
    )
    session.flush()
    post.decision_note = comment
    post.updated_at = now
    chain = approvals.chain_by_id(policy, post.chain)
    if decision == Decision.APPROVED:
        why = _approved(session, policy, post, chain, actor, now)
    elif decision == Decision.REJECTED:
        post.status = OutboxStatus.REJECTED
        post.decided_by_id, post.decided_at = actor.id, now
        post.decided_by = actor
        why = f"{actor.name} rejected the {_kind_words(OutboxKind(post.kind))}"
    else:
        post.status = OutboxStatus.CHANGES
        why = f"{actor.name} asked for changes: {comment}"
    audit(session, post, actor.email, f"outbox.{decision}", now, why)
    return post


def _approved(
    session: Session, policy: Policy, post: OutboxPost, chain: Chain, actor: User, now: datetime
) -> str:
    room = approvals.room_of(session, post)
    if not chain.steps:
        _release(post, actor, now)
        return f"{actor.name} approved it"
    step = chain.steps[post.step]
    decisions = approvals.decisions_of(session, post.id)
    approved = approvals.approvals_at(decisions, post, post.step)
    deciders = approvals.required(session, policy, step, post, room)
    label = approvals.step_label(policy, step, post, room)
    if not approvals.step_done(step, deciders, approved):
        left = [u.name for u in deciders if u.id not in approved]
        return f"{actor.name} approved for {label}; still waiting for {', '.join(left)}"
    post.step += 1
    if post.step < len(chain.steps):
        following = approvals.step_label(policy, chain.steps[post.step], post, room)
        emit(
            session,
            "draft.awaiting_approval",
            webhook_events.outbox_post(post, waiting_for=following),
            now,
        )
        return f"{actor.name} approved for {label}; next: {following}"
    _release(post, actor, now)
    need = " (everyone)" if step.need is Need.ALL else ""
    return f"{actor.name} approved for {label}{need}: the chain is complete"


def revise(
    session: Session, policy: Policy, outbox_id: int, text: str, *, actor: User, now: datetime
) -> OutboxPost:
    """The author rewrites a draft waiting for approval or sent back for changes: it is checked
    again and starts its chain from the first step."""
    post = get_post(session, outbox_id)
    if post.author_id != actor.id:
        raise PermissionDeniedError("Only its author revises a draft (approvers ask for changes).")
    if post.status not in (OutboxStatus.DRAFT, OutboxStatus.CHANGES):
        raise ConflictError(
            f"Outbox post #{post.id} is {STATUS_LABELS[OutboxStatus(post.status)]}; only drafts "
            "are revised."
        )
    text = _clean(text)
    if post.campaign_id is not None:  # the links of a revision are tagged too
        text = _clean(
            campaigns.tag_links(text, campaigns.get(session, post.campaign_id), post.channel)
        )
    item = _item_of(session, post)
    context = context_for(
        session,
        policy,
        channel=post.channel,
        author=actor,
        kind=OutboxKind(post.kind),
        item=item,
        paid=post.paid,
    )
    post.findings = _findings(policy, text, context)
    post.text, post.revision, post.updated_at, post.decision_note = text, post.revision + 1, now, ""
    room = session.get(CrisisRoom, item.crisis_id) if item is not None and item.crisis_id else None
    why = _route(session, policy, post, item, room, actor, now)
    audit(session, post, actor.email, "outbox.revised", now, f"Revision {post.revision}: {why}")
    return post


def add_note(
    session: Session, policy: Policy, outbox_id: int, note: str, *, actor: User, now: datetime
) -> OutboxDecision:
    """A private reviewer note on a draft: it stays among the reviewers, never published."""
    post = get_post(session, outbox_id)
    if not approvals.may_review(session, policy, post, actor):
        raise PermissionDeniedError("Only the draft's reviewers keep notes on it.")
    note = note.strip()[:MAX_NOTE]
    if not note:
        raise InputError("note: write something.")
    entry = OutboxDecision(
        outbox_id=post.id,
        revision=post.revision,
        step=post.step,
        user_id=actor.id,
        decision=Decision.NOTE,
        comment="",
        note=note,
        at=now,
    )
    session.add(entry)
    session.flush()
    record(
        session,
        at=now,
        actor=actor.email,
        action="outbox.note",
        subject_type="outbox",
        subject_id=post.id,
        why=f"{actor.name} added a reviewer note",
        details={"outbox_id": post.id},
    )
    return entry


def expire(session: Session, now: datetime) -> list[OutboxPost]:
    """Drafts still waiting (or sent back) at their scheduled time expire: they never go out,
    and their authors find them among their failed and expired drafts."""
    query = select(OutboxPost).where(
        OutboxPost.status.in_([OutboxStatus.DRAFT, OutboxStatus.CHANGES]),
        OutboxPost.scheduled_at.is_not(None),
        OutboxPost.scheduled_at <= now,
    )
    expired = list(session.scalars(query).unique())
    for post in expired:
        post.status, post.updated_at, post.error_kind = OutboxStatus.EXPIRED, now, "expired"
        post.error = (
            f"It was not approved before its time ({post.scheduled_at:%Y-%m-%d %H:%M} UTC), so "
            "it did not go out. Revise it and schedule it again if it still matters."
        )
        audit(session, post, SYSTEM, "outbox.expired", now, post.error)
    return expired


def write_reply(
    session: Session,
    policy: Policy,
    item_id: int,
    kind: OutboxKind,
    text: str,
    *,
    actor: User,
    now: datetime,
) -> OutboxPost:
    """A public reply or private contact on an item, through the outbox (see the module)."""
    item = repository.get_item(session, item_id)
    return create_draft(
        session,
        policy,
        channel=item.post.channel,
        text=text,
        author=actor,
        now=now,
        kind=kind,
        reply_to=item.post.post_id,
        item=item,
    )


def replies_of(session: Session, item_id: int) -> list[OutboxPost]:
    """The item's replies and contacts, oldest first."""
    query = select(OutboxPost).where(OutboxPost.item_id == item_id).order_by(OutboxPost.id)
    return list(session.scalars(query).unique())


def held_replies(session: Session, room_id: int) -> list[OutboxPost]:
    """Public replies waiting for the crisis lead's approval in a room."""
    query = select(OutboxPost).where(
        OutboxPost.crisis_id == room_id, OutboxPost.status == OutboxStatus.DRAFT
    )
    return list(session.scalars(query.order_by(OutboxPost.id)).unique())


def waiting_for(
    session: Session, policy: Policy, actor: User, limit: int = 100
) -> list[OutboxPost]:
    """Drafts ``actor`` may decide on, oldest first."""
    return approvals.waiting_for(session, policy, actor, limit)
