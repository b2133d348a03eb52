"""People who log in: each belongs to one department and has one role."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from townhall.models.base import Base


class Role(StrEnum):
    """What a person may do: members work items, approvers approve, admins run the place."""

    VIEWER = "viewer"
    MEMBER = "member"
    APPROVER = "approver"
    ADMIN = "admin"


class User(Base):
    """A person with a login."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER.value)
    """A role id of the policy (``Role`` names the built-in ones)."""
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    out_of_office_until: Mapped[datetime | None]
    """Automatic assignment and escalation pass this person by until then."""
    created_at: Mapped[datetime]
