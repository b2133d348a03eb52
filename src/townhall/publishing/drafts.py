"""Drafts and replies: everything Townhall will say goes into the outbox as a draft, and an
approver lets it out.

- A draft needs the approval of an approver or admin of the department that owns it (the
  item's department, else the channel's default owner) unless its author is one: then it is
  approved as it is written.
- During an open crisis a public reply to one of the crisis' items is held for an approver of
  the crisis lead's department (or an admin), and no approval comes before the cool-down ends:
  no knee-jerk replies.
- Private contact with an author is encouraged and goes out at once, in a crisis too: a
  direct message where the network has one, else it is logged (recorded, nothing sent).

Services never commit: the transaction belongs to the caller. Every change is audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.cases import repository
from townhall.connectors.base import Capability
from townhall.connectors.registry import capabilities_of
from townhall.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from townhall.models import (
    CrisisRoom,
    CrisisStatus,
    Item,
    OutboxKind,
    OutboxPost,
    OutboxStatus,
    PostRecord,
    Role,
    User,
)
from townhall.org.policy import Policy

MAX_TEXT = 10_000
"""Longest draft accepted, in characters (each network's own limit is checked on publishing)."""

OPEN_CRISIS = (CrisisStatus.WATCHING, CrisisStatus.ACTIVE)

STATUS_LABELS = {
    OutboxStatus.DRAFT: "waiting for approval",
    OutboxStatus.APPROVED: "approved, going out",
    OutboxStatus.SCHEDULED: "scheduled",
    OutboxStatus.PUBLISHING: "publishing",
    OutboxStatus.PUBLISHED: "published",
    OutboxStatus.FAILED: "failed",
    OutboxStatus.UNKNOWN: "checking whether it went out",
    OutboxStatus.MISSED: "missed",
    OutboxStatus.REJECTED: "rejected",
    OutboxStatus.LOGGED: "contact logged",
}
"""How each status reads on a page."""


def may_approve(actor: User, department: str) -> bool:
    """Whether ``actor`` approves what ``department`` says: an admin, or its approver."""
    return actor.role == Role.ADMIN or (
        actor.role == Role.APPROVER and actor.department == department
    )


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
        },
    )


def _clean(text: str) -> str:
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise InputError(f"text: a post must have 1 to {MAX_TEXT:,} characters.")
    return text


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
) -> OutboxPost:
    """A new outbox post on ``channel``: approved at once when its author may approve it (and
    no crisis holds it), else a draft. ``reply_to`` is the Post id answered; ``at`` the time
    to publish (None: as soon as approved)."""
    text = _clean(text)
    try:
        channel_policy = policy.channel(channel)
    except KeyError:
        known = ", ".join(c.id for c in policy.channels)
        raise InputError(f"channel: unknown channel {channel!r} (the policy has {known})") from None
    target: PostRecord | None = None
    if reply_to is not None:
        target = session.scalar(select(PostRecord).where(PostRecord.post_id == reply_to))
        if target is None:
            raise NotFoundError(f"reply_to: there is no stored post {reply_to!r}.")
        if target.channel != channel:
            raise InputError(
                f"reply_to: {reply_to} is on {target.channel}, not on {channel}: a reply goes "
                "out on the channel of the post it answers."
            )
        if kind is OutboxKind.POST:
            kind = OutboxKind.REPLY
        if item is None:
            item = session.scalar(select(Item).where(Item.post_pk == target.id))
    elif kind is not OutboxKind.POST:
        raise InputError("reply_to: a reply or private message needs the post it answers.")
    if at is not None and at.tzinfo is None:
        raise InputError("at: needs a time zone, e.g. 2026-12-01T09:00:00Z")
    department = item.department if item is not None else channel_policy.default_owner
    room = session.get(CrisisRoom, item.crisis_id) if item is not None and item.crisis_id else None
    held = room is not None and room.status in OPEN_CRISIS and kind is not OutboxKind.PRIVATE
    post = OutboxPost(
        channel=channel,
        kind=kind,
        text=text,
        department=department,
        status=OutboxStatus.DRAFT,
        key=uuid.uuid4().hex,
        item_id=item.id if item is not None else None,
        reply_to=reply_to,
        reply_to_author=target.author_handle if target is not None else None,
        direct_to=target.author_handle if kind is OutboxKind.PRIVATE and target else None,
        crisis_id=room.id if held and room else None,
        not_before=room.opened_at + timedelta(minutes=room.cooldown_minutes)
        if held and room
        else None,
        scheduled_at=at,
        author_id=author.id,
        attempts=0,
        error="",
        decision_note="",
        created_at=now,
        updated_at=now,
    )
    post.author = author
    session.add(post)
    session.flush()
    if kind is OutboxKind.PRIVATE and Capability.DIRECT not in capabilities_of(channel_policy):
        post.status = OutboxStatus.LOGGED
        why = (
            f"{author.name} contacted the author privately (logged: {channel} has no "
            "private messages)"
        )
    elif kind is OutboxKind.PRIVATE:
        _release(post, author, now)
        why = f"{author.name} wrote a private message to {post.direct_to}"
    elif held:
        assert room is not None and post.not_before is not None
        why = (
            f"{author.name} wrote a public reply; it is held for {room.lead_department}'s "
            f"approval (crisis room #{room.id}, cool-down until {post.not_before:%H:%M} UTC)"
        )
    elif may_approve(author, department):
        _release(post, author, now)
        why = f"{author.name} wrote a {kind.value} and, as an approver of {department}, approved it"
    else:
        why = f"{author.name} wrote a {kind.value}; it waits for an approver of {department}"
    audit(session, post, author.email, f"outbox.{post.status}", now, why)
    return post


def _release(post: OutboxPost, actor: User, now: datetime) -> None:
    post.status = (
        OutboxStatus.SCHEDULED
        if post.scheduled_at and post.scheduled_at > now
        else (OutboxStatus.APPROVED)
    )
    post.decided_by_id, post.decided_at, post.updated_at = actor.id, now, now
    post.decided_by = actor


def get_post(session: Session, outbox_id: int) -> OutboxPost:
    """The outbox post ``outbox_id``; raises ``NotFoundError``."""
    post = session.get(OutboxPost, outbox_id)
    if post is None:
        raise NotFoundError(f"There is no outbox post #{outbox_id}.")
    return post


def decide(
    session: Session,
    outbox_id: int,
    approve: bool,
    *,
    actor: User,
    now: datetime,
    note: str = "",
) -> OutboxPost:
    """Approve or reject a draft: an approver of its department (in a crisis, of the crisis
    lead's department) or an admin; in a crisis, an approval only after the cool-down."""
    post = get_post(session, outbox_id)
    if post.status != OutboxStatus.DRAFT:
        raise ConflictError(
            f"Outbox post #{post.id} is {STATUS_LABELS[post.status]}; only drafts are decided."
        )
    room = session.get(CrisisRoom, post.crisis_id) if post.crisis_id else None
    department = room.lead_department if room is not None else post.department
    if not may_approve(actor, department):
        raise PermissionDeniedError(f"Only an approver of {department} can decide on this post.")
    if approve and post.not_before is not None and now < post.not_before:
        raise ConflictError(
            f"No knee-jerk replies: the cool-down of this crisis ends at "
            f"{post.not_before:%H:%M} UTC."
        )
    post.decision_note = note.strip()[:MAX_TEXT]
    if approve:
        _release(post, actor, now)
    else:
        post.status = OutboxStatus.REJECTED
        post.decided_by_id, post.decided_at, post.updated_at = actor.id, now, now
        post.decided_by = actor
    verb = "approved" if approve else "rejected"
    audit(
        session,
        post,
        actor.email,
        f"outbox.{verb}",
        now,
        f"{actor.name} {verb} a {post.kind}",
    )
    return post


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


def waiting_for(session: Session, actor: User, limit: int = 100) -> list[OutboxPost]:
    """Drafts ``actor`` may decide on, oldest first."""
    query = select(OutboxPost).where(OutboxPost.status == OutboxStatus.DRAFT)
    if actor.role != Role.ADMIN:
        query = query.where(OutboxPost.department == actor.department)
    return list(session.scalars(query.order_by(OutboxPost.id).limit(limit)).unique())
