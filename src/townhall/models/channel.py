"""What Townhall knows of each network channel: its cursor, its health, its stored secrets."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from townhall.models.base import Base


class ChannelHealth(StrEnum):
    """How a channel is doing, as the Channels page and alerts say it."""

    NEW = "new"  # never fetched yet
    OK = "ok"
    QUIET = "quiet"  # far longer than its normal gap without a post
    RATE_LIMITED = "rate_limited"
    FAILING = "failing"  # repeated failures (unreachable, errors)
    AUTH_FAILED = "auth_failed"  # token expired or revoked: a person must reconnect it
    NOT_CONNECTED = "not_connected"  # no secret in the environment or the store


class ChannelState(Base):
    """One row per channel of the policy that Townhall has listened on or connected."""

    __tablename__ = "channel_states"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The connector's bookmark, committed with the posts it covers."""
    health: Mapped[ChannelHealth] = mapped_column(String(16), default=ChannelHealth.NEW)
    alerted_health: Mapped[str | None] = mapped_column(String(16))
    """The health last alerted (an alert goes out once per change, not every pass)."""
    last_fetch_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_post_at: Mapped[datetime | None]
    """When the newest stored post of the channel was written (post time)."""
    gap_seconds: Mapped[float | None]
    """A running mean of the gap between new posts (seconds), to tell quiet from normal."""
    last_error: Mapped[str] = mapped_column(Text, default="")
    error_kind: Mapped[str | None] = mapped_column(String(16))
    failures: Mapped[int] = mapped_column(default=0)
    """Consecutive failed passes."""
    retry_at: Mapped[datetime | None]
    """Rate limited until then."""
    fetched: Mapped[int] = mapped_column(default=0)
    stored: Mapped[int] = mapped_column(default=0)
    secret: Mapped[str | None] = mapped_column(Text)
    """The access token or app password, encrypted (``townhall channels connect``)."""
    session: Mapped[str | None] = mapped_column(Text)
    """A saved login session (Bluesky), encrypted."""
    updated_at: Mapped[datetime]
