"""The outbox: everything Townhall says on a channel, and every attempt to publish it.

draft → approved → scheduled → publishing → published | failed | unknown | missed; a draft an
approver turns down is rejected, one sent back for changes waits for its author, one still not
approved at its scheduled time expired; private contact on a channel that cannot message
privately is logged (recorded, nothing sent). ``OutboxDecision`` keeps every approver's say.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from townhall.models.base import Base
from townhall.models.user import User


class OutboxKind(StrEnum):
    """A post of our own, a public reply to someone's post, or private contact with them."""

    POST = "post"
    REPLY = "reply"
    PRIVATE = "private"
    TAKEOVER = "takeover"  # a post by the person on a takeover shift, or its announcement


class OutboxStatus(StrEnum):
    """Where an outbox post is in its life."""

    DRAFT = "draft"  # waits for an approver (or, in a crisis, the crisis lead after cool-down)
    APPROVED = "approved"  # goes out as soon as the publisher runs
    SCHEDULED = "scheduled"  # approved, goes out at ``scheduled_at``
    PUBLISHING = "publishing"  # claimed by a publisher; the network call may be in flight
    PUBLISHED = "published"
    FAILED = "failed"  # the network refused it, or credentials are gone: a person must look
    UNKNOWN = "unknown"  # the call went out with no answer: reconciled before any retry
    MISSED = "missed"  # overdue by more than the policy allows: not posted late
    REJECTED = "rejected"  # an approver turned the draft down
    LOGGED = "logged"  # private contact recorded on a channel with no private messages
    CHANGES = "changes"  # an approver asked its author for changes
    EXPIRED = "expired"  # not approved before its scheduled time: it never went out


DUE = (OutboxStatus.APPROVED, OutboxStatus.SCHEDULED)
"""Statuses the publisher picks up when their time has come."""

FINAL = (
    OutboxStatus.PUBLISHED,
    OutboxStatus.FAILED,
    OutboxStatus.MISSED,
    OutboxStatus.REJECTED,
    OutboxStatus.LOGGED,
    OutboxStatus.EXPIRED,
)


class OutboxPost(Base):
    """One post, reply or private message on its way out (or gone out)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_scheduled_at", "status", "scheduled_at"),
        Index("ix_outbox_item_id", "item_id"),
        Index("ix_outbox_crisis_id", "crisis_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    kind: Mapped[OutboxKind] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    department: Mapped[str] = mapped_column(String(64))
    """The department that owns what is said (the item's, or the channel's default owner)."""
    status: Mapped[OutboxStatus] = mapped_column(String(12))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    """Idempotency key, the same on every attempt (Mastodon's Idempotency-Key)."""
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    reply_to: Mapped[str | None] = mapped_column(String(512))
    """The Post id answered (``mastodon:109876``)."""
    reply_to_author: Mapped[str | None] = mapped_column(String(320))
    direct_to: Mapped[str | None] = mapped_column(String(320))
    crisis_id: Mapped[int | None] = mapped_column(ForeignKey("crisis_rooms.id"))
    not_before: Mapped[datetime | None]
    """A draft held by a crisis cannot be approved before the cool-down ends."""
    scheduled_at: Mapped[datetime | None]
    """When it should go out (None: as soon as approved)."""
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime | None]
    """Not before then (backoff after an unavailable channel, or a rate limit)."""
    claimed_at: Mapped[datetime | None]
    claim: Mapped[str | None] = mapped_column(String(64))
    """The claim token of the publisher run that holds it."""
    attempts: Mapped[int] = mapped_column(default=0)
    remote_id: Mapped[str | None] = mapped_column(String(512))
    remote_url: Mapped[str | None] = mapped_column(String(2048))
    published_at: Mapped[datetime | None]
    error_kind: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, default="")
    paid: Mapped[bool] = mapped_column(default=False)
    """Part of a paid campaign or sponsorship: the policy's disclosure must be in the text."""
    statement: Mapped[bool] = mapped_column(default=False)
    """An official statement of the company (approval chains may send these to PR)."""
    chain: Mapped[str | None] = mapped_column(String(64))
    """The approval chain (``approvals:`` in the policy) the draft follows."""
    step: Mapped[int] = mapped_column(default=0)
    """The step of the chain waiting for a decision (0-based)."""
    risk: Mapped[str] = mapped_column(String(8), default="low")
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """The code of conduct's findings on the text as it was last written."""
    revision: Mapped[int] = mapped_column(default=1)
    takeover_id: Mapped[int | None] = mapped_column(ForeignKey("takeovers.id"))
    category: Mapped[str | None] = mapped_column(String(64))
    """A category of the policy's planning (``promotional``): frequency caps count by it."""
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    objective_id: Mapped[str | None] = mapped_column(String(64))
    """The social objective the post serves (its campaign's unless it names its own)."""
    recurring: Mapped[str | None] = mapped_column(String(64))
    """The recurring slot (``planning.recurring`` id) that wrote this draft."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")


class OutboxAttempt(Base):
    """One try at publishing (or reconciling) an outbox post, and how it ended."""

    __tablename__ = "outbox_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    action: Mapped[str] = mapped_column(String(12))
    """``publish`` or ``reconcile``."""
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default="started")
    """started, published, failed, unavailable, rate_limited, unknown, found, not_found."""
    error_kind: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, default="")
    remote_id: Mapped[str | None] = mapped_column(String(512))
    remote_url: Mapped[str | None] = mapped_column(String(2048))


class Decision(StrEnum):
    """What an approver said."""

    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES = "changes"  # asked the author for changes
    NOTE = "note"  # a private reviewer note, no decision


class OutboxDecision(Base):
    """One approver's decision on one step of a draft's chain, or a private reviewer note.

    ``comment`` is for the author; ``note`` stays among the reviewers."""

    __tablename__ = "outbox_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    revision: Mapped[int] = mapped_column(default=1)
    step: Mapped[int] = mapped_column(default=0)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[Decision] = mapped_column(String(12))
    comment: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]

    user: Mapped[User] = relationship(lazy="joined")


class Takeover(Base):
    """A shift of a person on an account: they may post there from ``starts_at`` to
    ``ends_at``; the hand-over announcement and sign-off go out through the outbox."""

    __tablename__ = "takeovers"
    __table_args__ = (UniqueConstraint("user_id", "channel", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    origin: Mapped[str] = mapped_column(String(8), default="policy")
    """``policy`` (the rota in the policy file) or ``ui`` (added by marketing on the page)."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None]
    announcement_id: Mapped[int | None]
    """The outbox post announcing the shift (set once: it goes out once)."""
    sign_off_id: Mapped[int | None]
    created_at: Mapped[datetime]

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
