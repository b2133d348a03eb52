"""Login accounts: argon2 password hashes and the users the policy names."""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.audit import SYSTEM, record
from townhall.models import Role, User

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (never raises on a mismatch)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        # Hash anyway so a wrong e-mail costs as long as a wrong password.
        verify_password(_dummy_hash(), password)
        return None
    return user if verify_password(user.password_hash, password) else None


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(hash_password("not-a-real-password"))
    return _DUMMY[0]


def upsert_user(
    session: Session,
    *,
    email: str,
    name: str,
    department: str,
    role: Role,
    password: str | None,
    now: datetime,
    actor: str = SYSTEM,
) -> User:
    """Create or update the user with ``email``; the password is set only when given."""
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        if password is None:
            raise ValueError(f"a new user needs a password: {email}")
        user = User(
            email=email,
            name=name,
            department=department,
            role=role,
            password_hash=hash_password(password),
            created_at=now,
        )
        session.add(user)
        session.flush()
        record(
            session,
            at=now,
            actor=actor,
            action="user.created",
            subject_type="user",
            subject_id=user.id,
            why=f"{name} joins {department} as {role}",
        )
        return user
    changed = (user.name, user.department, user.role) != (name, department, role)
    user.name, user.department, user.role = name, department, role
    if password is not None:
        user.password_hash = hash_password(password)
    if changed:
        record(
            session,
            at=now,
            actor=actor,
            action="user.updated",
            subject_type="user",
            subject_id=user.id,
            why=f"{name} is now {role} in {department}",
        )
    return user
