"""Login sessions held on the server, and the failed logins that throttle brute force."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from townhall.models.base import Base


class SessionEnd(StrEnum):
    """Why a login session ended before it timed out."""

    LOGOUT = "logout"
    ENDED_BY_USER = "ended_by_user"
    """The person pressed "End" on the account page."""
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a reason, not a password
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a reason, not a password
    DEACTIVATED = "deactivated"


class LoginSession(Base):
    """One login of one person: the cookie carries a random id, the table its SHA-256."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of the random session id in the cookie (the id itself is never stored)."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    """Refreshed at most every few minutes (``townhall.org.sessions.TOUCH_EVERY``)."""
    client_address: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(200))
    ended_at: Mapped[datetime | None]
    ended_why: Mapped[SessionEnd | None] = mapped_column(String(32))


class AttemptScope(StrEnum):
    """What a row of ``login_attempts`` counts failures for."""

    ACCOUNT = "account"
    """The normalised e-mail typed in, whether or not such a login exists."""
    ADDRESS = "address"
    """The client's IP address."""


class LoginAttempts(Base):
    """Failed logins of one e-mail or one client address in the current window, and its lock."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        Index("ix_login_attempts_last_failure_at", "last_failure_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[AttemptScope] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(320))
    failures: Mapped[int] = mapped_column(default=0)
    """Failures since ``window_started_at``."""
    window_started_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    lockouts: Mapped[int] = mapped_column(default=0)
    """Locks so far (each lasts twice as long as the one before); forgotten after a quiet day."""
