"""Inbox items: a post that needs a department's attention, with its notes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Computed, ForeignKey, Index, String, Text, event, select, text
from sqlalchemy.engine import Connection
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

DUE_SQL = (
    "CASE WHEN first_responded_at IS NULL AND first_response_due_at IS NOT NULL"
    " THEN first_response_due_at ELSE resolution_due_at END"
)
"""When the item's next SLA clock runs out: the first response while nobody answered, else the
resolution (NULL when neither clock runs). The generated column ``due_at``."""

QUEUE_RANK_SQL = (
    "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 2 WHEN 'low' THEN 6 ELSE 4 END"
    f" + CASE WHEN ({DUE_SQL}) IS NULL THEN 1 ELSE 0 END"
)
"""The item's place in triage order after the crisis flag: twice its priority's rank (urgent 0,
high 1, normal or unknown 2, low 3), plus one when no SLA clock runs, so that within one rank
``due_at`` is either always set or always NULL (row values never compare a NULL). The
generated column ``queue_rank``; it spells ``DUE_SQL`` out, as PostgreSQL wants."""


class Item(Base):
    """One post in a department's queue."""

    __tablename__ = "items"
    __table_args__ = (
        # A department's queue, and every department's items of one status, in triage order
        # straight from an index: the first page reads 50 entries, not every match (0023).
        Index(
            "ix_items_triage",
            "department",
            "status",
            "queue_rank",
            "due_at",
            "created_at",
            "id",
        ),
        Index("ix_items_status_triage", "status", "queue_rank", "due_at", "created_at", "id"),
        Index(
            "ix_items_channel_triage",
            "channel",
            "status",
            "queue_rank",
            "due_at",
            "created_at",
            "id",
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
        # One person's items by status in triage order (migration 0024).
        Index(
            "ix_items_assignee_triage",
            "assignee_id",
            "status",
            "queue_rank",
            "due_at",
            "created_at",
            "id",
        ),
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
    channel: Mapped[str | None] = mapped_column(String(32))
    """The post's channel, copied when the item opens (a post never changes channel): the
    inbox's channel views read it from ``ix_items_channel_triage`` without joining posts."""
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
    # Generated by the database from the columns above (``DUE_SQL``, ``QUEUE_RANK_SQL``): the
    # triage order's keys, so that the inbox reads a page of it from an index (migration 0023).
    due_at: Mapped[datetime | None] = mapped_column(Computed(DUE_SQL, persisted=True))
    queue_rank: Mapped[int] = mapped_column(Computed(QUEUE_RANK_SQL, persisted=True))

    post: Mapped[PostRecord] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(lazy="joined")


@event.listens_for(Item, "before_insert")
def _copy_channel(mapper: object, connection: Connection, item: Item) -> None:
    """An item added through the ORM takes its post's channel (the pipeline's bulk insert
    sets it itself)."""
    if item.channel is None:
        if item.post is not None:
            item.channel = item.post.channel
        else:
            query = select(PostRecord.channel).where(PostRecord.id == item.post_pk)
            item.channel = connection.scalar(query)


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
