"""Login accounts: argon2 password hashes, the users the policy names, password changes and
deactivation (each of which ends the person's sessions)."""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.audit import SYSTEM, record
from townhall.models import SessionEnd, User
from townhall.org.sessions import end_sessions
from townhall.org.throttle import forget_account

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


def normalise_email(email: str) -> str:
    """The form of an e-mail that logins and lockouts are keyed by (trimmed, lower case)."""
    return email.strip().lower()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (always costs one hash)."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
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
    role: str,
    password: str | None,
    now: datetime,
    actor: str = SYSTEM,
) -> User:
    """Create or update the user with ``email``; the password is set only when given, and a
    changed password ends every session of an existing user (an admin's reset)."""
    email = normalise_email(email)
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
    if password is not None and not verify_password(user.password_hash, password):
        set_password(session, user, password, now=now, actor=actor, why=SessionEnd.PASSWORD_RESET)
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


def set_password(
    session: Session,
    user: User,
    password: str,
    *,
    now: datetime,
    actor: str,
    why: SessionEnd,
    keep: int | None = None,
) -> int:
    """Give ``user`` a new password and end their sessions but ``keep`` (the one in which
    they changed it themselves); returns how many sessions ended.

    Check the password policy first (``townhall.org.passwords.check_password``). An admin's
    reset (``why=PASSWORD_RESET``) also lifts a lockout of the account.
    """
    user.password_hash = hash_password(password)
    record(
        session,
        at=now,
        actor=actor,
        action="password.changed",
        subject_type="user",
        subject_id=user.id,
        why="changed by its owner" if why == SessionEnd.PASSWORD_CHANGED else "reset",
    )
    if why == SessionEnd.PASSWORD_RESET:
        forget_account(session, user.email)
    return end_sessions(session, user.id, now=now, why=why, actor=actor, keep=keep)


def set_active(session: Session, user: User, active: bool, *, now: datetime, actor: str) -> int:
    """Activate or deactivate ``user``; deactivating ends all their sessions (returns how
    many ended)."""
    if user.active == active:
        return 0
    user.active = active
    record(
        session,
        at=now,
        actor=actor,
        action="user.activated" if active else "user.deactivated",
        subject_type="user",
        subject_id=user.id,
        why=f"{user.name} can {'now' if active else 'no longer'} log in",
    )
    if active:
        return 0
    return end_sessions(session, user.id, now=now, why=SessionEnd.DEACTIVATED, actor=actor)
