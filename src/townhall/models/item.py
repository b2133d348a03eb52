"""Inbox items: a post that needs a department's attention, with its notes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from townhall.models.base import Base
from townhall.models.post import PostRecord
from townhall.models.user import User


class ItemStatus(StrEnum):
    """Where an item is in its life: new → in progress → done."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    DONE = "done"


BREACHED_WHERE = "first_response_breached_at IS NOT NULL OR resolution_breached_at IS NOT NULL"
"""An item one of whose SLA clocks ran out, as the partial index ``ix_items_breached`` says it
(``townhall.cases.repository.BREACHED`` is the same condition, which lets the planner use it)."""


class Item(Base):
    """One post in a department's queue."""

    __tablename__ = "items"
    __table_args__ = (
        # A department's queue in triage or due order, from the index alone (migration 0020).
        Index(
            "ix_items_triage",
            "department",
            "status",
            "priority",
            "crisis_id",
            "first_responded_at",
            "first_response_due_at",
            "resolution_due_at",
            "created_at",
        ),
        Index("ix_items_created_at", "created_at"),
        Index("ix_items_status_first_response_due_at", "status", "first_response_due_at"),
        Index("ix_items_status_resolution_due_at", "status", "resolution_due_at"),
        # Department queues and their counts, answered from the index alone (migration 0008).
        Index(
            "ix_items_queue",
            "department",
            "status",
            "assignee_id",
            "first_response_breached_at",
            "resolution_breached_at",
        ),
        Index("ix_items_assignee_status", "assignee_id", "status"),
        # The items whose SLA ran out, for the "SLA breached" views across departments: few
        # rows, so such a view reads them only (a partial index, migration 0022).
        Index(
            "ix_items_breached",
            "status",
            "department",
            sqlite_where=text(BREACHED_WHERE),
            postgresql_where=text(BREACHED_WHERE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_pk: Mapped[int] = mapped_column(ForeignKey("posts.id"), unique=True)
    department: Mapped[str] = mapped_column(String(64))
    status: Mapped[ItemStatus] = mapped_column(String(16), default=ItemStatus.NEW)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    rule: Mapped[str] = mapped_column(String(128))
    why: Mapped[str] = mapped_column(Text)
    # The rest of the routing decision: who else is told, how urgent, the SLA, what matched.
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    supporting: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    sla_first_response_minutes: Mapped[int | None]
    sla_resolution_minutes: Mapped[int | None]
    matched: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    activity: Mapped[str | None] = mapped_column(String(64))
    crisis_id: Mapped[int | None] = mapped_column(ForeignKey("crisis_rooms.id"), index=True)
    """The crisis room whose story this item belongs to (public replies are held then)."""
    # Who works it, and the SLA clocks (routing/sla.py): due times are set when the item opens.
    assigned_by: Mapped[str | None] = mapped_column(String(16))
    """How the assignee was chosen: ``auto``, ``manual`` or ``escalation``."""
    escalation_level: Mapped[int] = mapped_column(default=0)
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    first_responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    first_response_breached_at: Mapped[datetime | None]
    resolution_breached_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    post: Mapped[PostRecord] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(lazy="joined")


class Note(Base):
    """An internal note on an item (never published)."""

    __tablename__ = "item_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    author: Mapped[User] = relationship(lazy="joined")


class SlaBreach(Base):
    """One SLA clock that ran out on an item, in the department that held it then."""

    __tablename__ = "sla_breaches"
    __table_args__ = (Index("ix_sla_breaches_department_breached_at", "department", "breached_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    department: Mapped[str] = mapped_column(String(64))
    clock: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    breached_at: Mapped[datetime]
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
