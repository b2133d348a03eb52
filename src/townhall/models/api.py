"""The public API's personal access tokens and the answers kept for ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from townhall.models.base import Base


class ApiToken(Base):
    """A person's personal access token: only its SHA-256 is kept, never the token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(8))
    """The token's first 8 characters, shown in lists so that people can tell tokens apart."""
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 (hex) of the whole token."""
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    """The actions (``townhall.org.permissions.Action`` values) the token may use."""
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiIdempotency(Base):
    """The first answer to a write sent with an ``Idempotency-Key`` (kept 24 hours)."""

    __tablename__ = "api_idempotency"
    __table_args__ = (
        UniqueConstraint("token_id", "key", name="uq_api_idempotency_token_id_key"),
        Index("ix_api_idempotency_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the method, path, query and body the key was first used with."""
    status_code: Mapped[int]
    """0 while the first request is still running."""
    response_body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
