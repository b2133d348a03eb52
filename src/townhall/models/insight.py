"""Insights shared between teams, and the relationships with influencers.

An ``InsightCard`` is something one team learned and publishes to others, with its evidence;
who saw it and what they did with it are ``CardReceipt`` rows. Townhall proposes cards from the
data (``status`` proposed) that a person publishes or dismisses. An ``Influencer`` is an author
the company keeps a relationship with (marketing and PR own it together); ``InfluencerNote``
is what people wrote about them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from townhall.models.base import Base
from townhall.models.user import User


class CardStatus(StrEnum):
    """Where a card is in its life."""

    PROPOSED = "proposed"  # found in the data by Townhall: a person publishes or dismisses it
    PUBLISHED = "published"
    DISMISSED = "dismissed"


class InsightCard(Base):
    """One thing a team learned, for other teams: a headline, the story, its evidence."""

    __tablename__ = "insight_cards"
    __table_args__ = (Index("ix_insight_cards_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    from_department: Mapped[str] = mapped_column(String(64))
    for_departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Figures (``{"figures": [{"label", "value"}...]}``), a chart spec or a link to the data."""
    link: Mapped[str | None] = mapped_column(String(2048))
    """Where the data behind it is (an insights page with its filters)."""
    status: Mapped[CardStatus] = mapped_column(String(10), default=CardStatus.PUBLISHED)
    kind: Mapped[str] = mapped_column(String(32), default="manual")
    """``manual``, or the pattern that proposed it (``audience_country``, ``negative_topic``,
    ``campaign_outperformed``)."""
    fingerprint: Mapped[str | None] = mapped_column(String(128), unique=True)
    """A proposal's identity (kind + subject + period), so the same finding is proposed once."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    """None for a proposal Townhall made."""
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="joined")


class CardReceipt(Base):
    """A person saw a card (``seen_at``) and maybe acted on it (``acted_at``, ``action``)."""

    __tablename__ = "card_receipts"
    __table_args__ = (UniqueConstraint("card_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("insight_cards.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    seen_at: Mapped[datetime]
    acted_at: Mapped[datetime | None]
    action: Mapped[str] = mapped_column(Text, default="")
    """What they did with it, in their words ("targeted the December newsletter at Texas")."""

    user: Mapped[User] = relationship(lazy="joined")


class RelationshipStage(StrEnum):
    """How far the company's relationship with an influencer has come."""

    SPOTTED = "spotted"
    CONTACTED = "contacted"
    ENGAGED = "engaged"
    PARTNER = "partner"
    PAUSED = "paused"


class Influencer(Base):
    """An author Townhall hears whom the company keeps a relationship with; the facts (reach,
    topics, sentiment, interactions) are read from their posts, the rest is edited by people."""

    __tablename__ = "influencers"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(320), unique=True)
    """The author handle as posts carry it (``@bob@example.social``)."""
    name: Mapped[str] = mapped_column(String(500), default="")
    stage: Mapped[RelationshipStage] = mapped_column(String(10), default=RelationshipStage.SPOTTED)
    owner_department: Mapped[str] = mapped_column(String(64))
    campaign_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    followers: Mapped[int] = mapped_column(BigInteger, default=0)
    """The largest follower count seen on their posts."""
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    created_by: Mapped[User] = relationship(lazy="joined")


class InfluencerNote(Base):
    """A note someone wrote about an influencer (audited like every change)."""

    __tablename__ = "influencer_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    influencer_id: Mapped[int] = mapped_column(ForeignKey("influencers.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]

    user: Mapped[User] = relationship(lazy="joined")


class KpiReading(Base):
    """A value of a key result measured outside Townhall (store-locator link clicks from the web
    analytics, job-post reach from the network's own statistics), entered by a person.

    Key results Townhall can count itself (negative share, first-reply time) are computed from
    the posts and items, not stored.
    """

    __tablename__ = "kpi_readings"
    __table_args__ = (Index("ix_kpi_readings_kpi_measured_on", "kpi", "measured_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi: Mapped[str] = mapped_column(String(64))
    """The key result's id in the policy's ``objectives:``."""
    value: Mapped[float]
    country: Mapped[str | None] = mapped_column(String(2))
    """The region the value is for (ISO 3166 alpha-2), when the key result is by region."""
    measured_on: Mapped[datetime]
    """The day (the start of it, in UTC) the value is for."""
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]

    recorded_by: Mapped[User] = relationship(lazy="joined")
