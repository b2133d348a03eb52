"""Radar alerts as stored, and crisis rooms with their assessment checklist (replies are in the
outbox: ``townhall.models.outbox``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from townhall.models.base import Base


class AlertRecord(Base):
    """One radar alert (the Alerts format of DESIGN.md) and its delivery outcomes."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_raised_at", "raised_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    """When it happened, in post time."""
    raised_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str | None] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(8))
    story: Mapped[str] = mapped_column(String(512), default="")
    post_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    why: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    crisis_id: Mapped[int | None] = mapped_column(ForeignKey("crisis_rooms.id"), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)
    deliveries: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class CrisisStatus(StrEnum):
    """A crisis room's life: watching → active → resolved."""

    WATCHING = "watching"
    ACTIVE = "active"
    RESOLVED = "resolved"


class CrisisRoom(Base):
    """Where PR leads the response to one story, with the departments that help."""

    __tablename__ = "crisis_rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    story: Mapped[str] = mapped_column(String(512), index=True)
    """The original post's id (``forum:123``)."""
    related: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Other stories on the same topic that joined the room (a journalist's post, a blog)."""
    topic: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[CrisisStatus] = mapped_column(String(16), default=CrisisStatus.WATCHING)
    lead_department: Mapped[str] = mapped_column(String(64))
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    risk_why: Mapped[str] = mapped_column(Text, default="")
    forecast: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cooldown_minutes: Mapped[int] = mapped_column(default=30)
    holding_statement: Mapped[str] = mapped_column(Text, default="")
    postmortem: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(16))
    """The author's stance when the room closed: detractor, neutral or advocate."""
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(320))
    resolved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    checklist: Mapped[list[ChecklistEntry]] = relationship(
        order_by="ChecklistEntry.position", lazy="selectin"
    )


class ChecklistEntry(Base):
    """One assessment question of a crisis room, its owner and its answer."""

    __tablename__ = "crisis_checklist"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("crisis_rooms.id"), index=True)
    position: Mapped[int]
    key: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text)
    owner_department: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str | None] = mapped_column(String(320))
    answered_at: Mapped[datetime | None]
