"""Login throttling: lock an account after a few failures, refuse an address after many.

Failures are counted per normalised e-mail, whether or not such a login exists (so a lock
says nothing about which e-mails are real), and per client address. A lock answers every
attempt, right password or not, until it runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from townhall.models import AttemptScope, LoginAttempts

FAILURE_WINDOW = timedelta(minutes=15)
"""Failures are counted over this long, from the first one."""

ACCOUNT_FAILURES = 5
"""Failures for one e-mail within ``FAILURE_WINDOW`` that lock it."""

ACCOUNT_LOCK = timedelta(minutes=15)
"""How long the first lock of an account lasts; each further one lasts twice as long."""

MAX_ACCOUNT_LOCK = timedelta(hours=24)
"""The longest an account stays locked."""

ADDRESS_FAILURES = 30
"""Failures from one client address within ``FAILURE_WINDOW`` that lock the address."""

ADDRESS_LOCK = timedelta(minutes=15)
"""How long a locked address is refused."""

FORGET_AFTER = timedelta(hours=24)
"""A record with no failure for this long (and no lock running) is deleted: the next lock
of that account is a first one again."""


@dataclass(frozen=True)
class Lock:
    """A lock that a failure just started."""

    scope: AttemptScope
    key: str
    until: datetime
    lockouts: int
    """How many times this key has been locked (1 for the first)."""


def account_lock(lockouts: int) -> timedelta:
    """How long the lock after ``lockouts`` earlier ones lasts (15 min, 30, 60, … ≤ 24 h)."""
    return min(ACCOUNT_LOCK * (1 << min(lockouts, 16)), MAX_ACCOUNT_LOCK)


def locked_until(session: Session, email: str, address: str, now: datetime) -> datetime | None:
    """When the lock on ``email`` or on ``address`` (the later of the two) runs out, or None
    if neither is locked at ``now``."""
    rows = session.scalars(
        select(LoginAttempts).where(
            or_(
                and_(LoginAttempts.scope == AttemptScope.ACCOUNT, LoginAttempts.key == email),
                and_(LoginAttempts.scope == AttemptScope.ADDRESS, LoginAttempts.key == address),
            ),
            LoginAttempts.locked_until > now,
        )
    )
    ends = [row.locked_until for row in rows if row.locked_until is not None]
    return max(ends) if ends else None


def _row(session: Session, scope: AttemptScope, key: str, now: datetime) -> LoginAttempts:
    """The record of ``scope``/``key``, created if missing and locked for update (PostgreSQL;
    SQLite's write transaction already holds the database), so concurrent failures all count."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(LoginAttempts)
        .values(scope=scope, key=key, failures=0, last_failure_at=now, lockouts=0)
        .on_conflict_do_nothing(index_elements=["scope", "key"])
    )
    return session.scalars(
        select(LoginAttempts)
        .where(LoginAttempts.scope == scope, LoginAttempts.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _count(row: LoginAttempts, now: datetime, threshold: int, lock_for: timedelta) -> Lock | None:
    if row.window_started_at is None or now - row.window_started_at >= FAILURE_WINDOW:
        row.window_started_at, row.failures = now, 0
    row.failures += 1
    row.last_failure_at = now
    if row.failures < threshold:
        return None
    row.locked_until = now + lock_for
    row.lockouts += 1
    row.failures, row.window_started_at = 0, None
    return Lock(row.scope, row.key, row.locked_until, row.lockouts)


def register_failure(session: Session, email: str, address: str, now: datetime) -> list[Lock]:
    """Count a failed login for ``email`` and for ``address``; returns the locks it started."""
    locks = []
    account = _row(session, AttemptScope.ACCOUNT, email, now)
    lock = _count(account, now, ACCOUNT_FAILURES, account_lock(account.lockouts))
    if lock is not None:
        locks.append(lock)
    origin = _row(session, AttemptScope.ADDRESS, address, now)
    lock = _count(origin, now, ADDRESS_FAILURES, ADDRESS_LOCK)
    if lock is not None:
        locks.append(lock)
    session.flush()
    return locks


def forget_account(session: Session, email: str) -> None:
    """Clear the failures and any lock of ``email`` (after a login or an admin's reset).

    The address's count stays: one good login must not let an attacker start over.
    """
    session.execute(
        delete(LoginAttempts)
        .where(LoginAttempts.scope == AttemptScope.ACCOUNT, LoginAttempts.key == email)
        .execution_options(synchronize_session=False)
    )


def prune_attempts(session: Session, now: datetime) -> None:
    """Delete the records quiet for ``FORGET_AFTER`` whose lock (if any) has run out."""
    session.execute(
        delete(LoginAttempts)
        .where(
            LoginAttempts.last_failure_at < now - FORGET_AFTER,
            or_(LoginAttempts.locked_until.is_(None), LoginAttempts.locked_until <= now),
        )
        .execution_options(synchronize_session=False)
    )
