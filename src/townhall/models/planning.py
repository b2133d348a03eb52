"""Planning: campaigns and their spend, PR communication plans and their steps, the e-mail
and search teams' planned entries, and the calendar feeds people subscribe to.

Scheduled posts themselves are outbox posts (``townhall.models.outbox``); a post belongs to a
campaign by ``OutboxPost.campaign_id`` and to a plan by ``PlanStep.outbox_id``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from townhall.models.base import Base
from townhall.models.user import User


class Campaign(Base):
    """A campaign: an objective, its channels and dates, an owner department, a planned ad
    budget and the spend recorded against it, and the posts in it."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    """The ``utm_campaign`` of its links, and its address."""
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(64))
    objective: Mapped[str] = mapped_column(Text, default="")
    objective_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The social objective (``objectives:`` in the policy) the campaign serves."""
    target_metric: Mapped[str] = mapped_column(String(100), default="")
    """What is measured (``replies``, ``positive_share``, ``link_clicks``...)."""
    target: Mapped[float | None]
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    budget_cents: Mapped[int] = mapped_column(default=0)
    """The planned ad budget, in cents of ``currency``."""
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    paid: Mapped[bool] = mapped_column(default=False)
    """Paid or sponsored: its posts must carry the code of conduct's disclosure."""
    category: Mapped[str | None] = mapped_column(String(64))
    """The category its posts get unless they say otherwise (``promotional``)."""
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    archived_at: Mapped[datetime | None]

    created_by: Mapped[User] = relationship(lazy="joined")


class CampaignSpend(Base):
    """Money spent on a campaign (ads, boosts, sponsorship), recorded by a person."""

    __tablename__ = "campaign_spend"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    amount_cents: Mapped[int]
    spent_on: Mapped[datetime]
    """When the money was spent (a day, at midnight in the company's zone, as UTC)."""
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]

    recorded_by: Mapped[User] = relationship(lazy="joined")


class PlanPurpose(StrEnum):
    """What a communication plan is for."""

    LAUNCH = "launch"
    RECALL = "recall"
    CRISIS = "crisis"  # a crisis follow-up, usually started from the room's holding statement
    OTHER = "other"


class PlanStatus(StrEnum):
    """Whether a plan is still being worked."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class CommunicationPlan(Base):
    """A PR communication plan: an ordered set of planned statements and posts."""

    __tablename__ = "communication_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[PlanPurpose] = mapped_column(String(8))
    department: Mapped[str] = mapped_column(String(64))
    """Who leads it (the lead of ``communication_plans`` by default)."""
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[PlanStatus] = mapped_column(String(10), default=PlanStatus.OPEN)
    crisis_id: Mapped[int | None] = mapped_column(ForeignKey("crisis_rooms.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    created_by: Mapped[User] = relationship(lazy="joined")
    steps: Mapped[list[PlanStep]] = relationship(
        back_populates="plan", order_by="PlanStep.position", lazy="selectin"
    )


class PlanStep(Base):
    """One planned statement or post of a plan: what, on which channel, by whom, when; its
    draft once written (``outbox_id``) carries its approval state."""

    __tablename__ = "plan_steps"
    __table_args__ = (Index("ix_plan_steps_due_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("communication_plans.id"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    """The planned words (the draft starts from them)."""
    channel: Mapped[str | None] = mapped_column(String(64))
    """None: said elsewhere (a press conference, a mailing)."""
    owner_department: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime]
    statement: Mapped[bool] = mapped_column(default=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    done_at: Mapped[datetime | None]
    """For a step said off Townhall: when its owner marked it done."""

    plan: Mapped[CommunicationPlan] = relationship(back_populates="steps")
    owner: Mapped[User | None] = relationship(lazy="joined")


class PlannedKind(StrEnum):
    """Work of other teams shown on the calendar (Townhall does not publish it)."""

    EMAIL = "email"  # an e-mail send (newsletter, mailing)
    SEARCH = "search"  # a piece of the search team's content plan


class PlannedEntry(Base):
    """A planned e-mail send or search content piece, so teams see each other's dates."""

    __tablename__ = "planned_entries"
    __table_args__ = (Index("ix_planned_entries_starts_at", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PlannedKind] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    """A category of the policy's planning, so caps can cover it (``newsletter``)."""
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]

    created_by: Mapped[User] = relationship(lazy="joined")


class FeedScope(StrEnum):
    """What a calendar feed shows."""

    DEPARTMENT = "department"
    CAMPAIGN = "campaign"


class CalendarFeed(Base):
    """A subscription address for a department's or a campaign's plan (``.ics``): only the
    token's SHA-256 is stored; revoking it ends the feed."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[FeedScope] = mapped_column(String(12))
    target: Mapped[str] = mapped_column(String(64))
    """The department id, or the campaign's id."""
    label: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    created_by: Mapped[User] = relationship(lazy="joined")
