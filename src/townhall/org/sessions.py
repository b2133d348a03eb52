"""Login sessions held on the server: start, find, refresh, end.

The browser's signed cookie carries only a random session id; the ``login_sessions`` table
holds its SHA-256, so a copy of the database does not let anyone log in. A session lives until
it is ended (logout, a password change or reset, deactivation, "End" on the account page), has
been idle for ``IDLE_TIMEOUT`` or is ``ABSOLUTE_TIMEOUT`` old, whichever comes first.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.models import LoginSession, SessionEnd, User

IDLE_TIMEOUT = timedelta(hours=2)
"""A session nobody used for this long is over."""

ABSOLUTE_TIMEOUT = timedelta(hours=12)
"""A session this old is over, however busy (the cookie's own ``max_age`` is the same)."""

TOUCH_EVERY = timedelta(minutes=5)
"""``last_seen_at`` is written at most this often per session (a GET only reads otherwise)."""

KEEP_ENDED = timedelta(days=30)
"""Ended and timed-out sessions are deleted this long after they ended."""

USER_AGENT_CHARS = 200
ADDRESS_CHARS = 64

TOKEN_BYTES = 32
"""Random bytes in a session id (256 bits)."""


def token_hash(token: str) -> str:
    """The hex SHA-256 of a session id: what the table stores."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session, user: User, *, now: datetime, address: str, user_agent: str
) -> tuple[str, LoginSession]:
    """A new login session for ``user``; returns the id for the cookie (shown nowhere else)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = LoginSession(
        token_hash=token_hash(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        client_address=address[:ADDRESS_CHARS],
        user_agent=user_agent[:USER_AGENT_CHARS],
    )
    session.add(row)
    session.flush()
    return token, row


def expires_at(row: LoginSession) -> datetime:
    """When ``row`` times out unless it is used again (UTC)."""
    return min(row.last_seen_at + IDLE_TIMEOUT, row.created_at + ABSOLUTE_TIMEOUT)


def is_live(row: LoginSession, now: datetime) -> bool:
    """Whether ``row`` has neither ended nor timed out at ``now``."""
    return row.ended_at is None and now < expires_at(row)


def find_session(session: Session, token: str) -> LoginSession | None:
    """The session with cookie id ``token``, live or not."""
    return session.scalar(select(LoginSession).where(LoginSession.token_hash == token_hash(token)))


def live_session(session: Session, token: str, now: datetime) -> LoginSession | None:
    """The session with cookie id ``token`` if it is still live at ``now``."""
    row = find_session(session, token)
    return row if row is not None and is_live(row, now) else None


def needs_touch(row: LoginSession, now: datetime) -> bool:
    """Whether ``last_seen_at`` is old enough to be written again."""
    return now - row.last_seen_at >= TOUCH_EVERY


def touch(session: Session, session_id: int, now: datetime) -> None:
    """Set ``last_seen_at`` to ``now`` (never backwards, never on an ended session)."""
    session.execute(
        update(LoginSession)
        .where(
            LoginSession.id == session_id,
            LoginSession.ended_at.is_(None),
            LoginSession.last_seen_at < now,
        )
        .values(last_seen_at=now)
    )


def live_sessions(session: Session, user_id: int, now: datetime) -> list[LoginSession]:
    """The live sessions of ``user_id``, last used first."""
    rows = session.scalars(
        select(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
    )
    return [row for row in rows if is_live(row, now)]


def end_session(
    session: Session, row: LoginSession, *, now: datetime, why: SessionEnd, actor: str
) -> None:
    """End one session; the audit log says who ended it and why (``logout`` for a logout)."""
    if row.ended_at is not None:
        return
    row.ended_at, row.ended_why = now, why
    action = "logout" if why == SessionEnd.LOGOUT else "sessions.ended"
    record(
        session,
        at=now,
        actor=actor,
        action=action,
        subject_type="user",
        subject_id=row.user_id,
        why="logged out" if action == "logout" else f"1 session ended ({why})",
        details={"sessions": [row.id], "reason": str(why)},
    )


def end_sessions(
    session: Session,
    user_id: int,
    *,
    now: datetime,
    why: SessionEnd,
    actor: str,
    keep: int | None = None,
) -> int:
    """End every open session of ``user_id`` except the one with id ``keep``; returns how
    many ended (each batch is one ``sessions.ended`` audit event)."""
    query = select(LoginSession.id).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(LoginSession.id != keep)
    ids = list(session.scalars(query))
    if not ids:
        return 0
    session.execute(
        update(LoginSession)
        .where(LoginSession.id.in_(ids))
        .values(ended_at=now, ended_why=why)
        .execution_options(synchronize_session="fetch")
    )
    others = " other" if keep is not None else ""
    record(
        session,
        at=now,
        actor=actor,
        action="sessions.ended",
        subject_type="user",
        subject_id=user_id,
        why=f"{len(ids)}{others} session{'s' * (len(ids) != 1)} ended ({why})",
        details={"sessions": ids, "reason": str(why)},
    )
    return len(ids)


def prune_sessions(session: Session, now: datetime) -> int:
    """Delete sessions that ended or timed out more than ``KEEP_ENDED`` ago; returns how many."""
    cutoff = now - KEEP_ENDED
    result = session.execute(
        delete(LoginSession)
        .where(
            or_(
                LoginSession.ended_at < cutoff,
                LoginSession.created_at < cutoff - ABSOLUTE_TIMEOUT,
            )
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
