"""Posts that could not be processed: kept with their error, to look at and replay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from townhall.models.base import Base


class DeadLetter(Base):
    """A post that failed inside the pipeline (not a malformed line: those are reported and
    skipped). ``post`` is its Post JSON; ``replayed_at`` is set once it went through."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(512))
    """Where it came from: a channel id or a file name."""
    post_id: Mapped[str] = mapped_column(String(512))
    post: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    """The exception's type and message."""
    created_at: Mapped[datetime]
    replayed_at: Mapped[datetime | None]
