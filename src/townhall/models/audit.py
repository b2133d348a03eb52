"""The append-only audit log: who decided what, when and why.

The database itself refuses UPDATE and DELETE on this table (triggers in the migrations), and
each event carries the hash of the one before it (``townhall.audit``), so a change made behind
the triggers' back is found by ``townhall audit verify``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from townhall.models.base import Base


class AuditEvent(Base):
    """One decision: routing, assignment, status change, approval, publication."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_subject", "subject_type", "subject_id"),
        # Two events can never follow the same one: a second writer that read a stale head
        # fails instead of forking the chain.
        UniqueConstraint("prev_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(512))
    why: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    """The ``hash`` of the event before this one (``GENESIS`` for the first event)."""
    hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 (hex) over this event's fields and ``prev_hash`` (``townhall.audit.event_hash``)."""
