"""Read-only transactions run beside the writer; a lock that outlasts its bound is a 503."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from townhall.db import (
    begin_read,
    is_locked,
    make_engine,
    read_session_factory,
    session_factory,
    transaction,
)
from townhall.errors import DatabaseBusyError
from townhall.models import User

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sqlite_engine(
    tmp_path: Path, make_database_url: Callable[[], str], backend: str
) -> Iterator[Engine]:
    """A migrated SQLite database whose writers give up on the lock after 0.2 s."""
    if backend != "sqlite":
        pytest.skip("SQLite locking")
    url = make_database_url()
    engine = make_engine(url, busy_timeout=0.2)
    yield engine
    engine.dispose()


def _path(engine: Engine) -> str:
    database = engine.url.database
    assert database
    return database


@pytest.fixture
def writer(sqlite_engine: Engine) -> Iterator[sqlite3.Connection]:
    """Another connection that holds the write lock (``BEGIN IMMEDIATE``) until the test ends."""
    conn = sqlite3.connect(_path(sqlite_engine), timeout=0.1, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE users SET name = name")
    yield conn
    conn.execute("ROLLBACK")
    conn.close()


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    return seen


def test_reads_begin_deferred_and_writes_immediate(sqlite_engine: Engine) -> None:
    seen = _statements(sqlite_engine)
    writes = session_factory(sqlite_engine)
    with read_session_factory(writes)() as session:
        session.scalar(text("SELECT count(*) FROM users"))
    assert "BEGIN" in seen and "BEGIN IMMEDIATE" not in seen
    seen.clear()
    with transaction(writes) as session:
        session.scalar(text("SELECT count(*) FROM users"))
    assert "BEGIN IMMEDIATE" in seen


def test_a_read_runs_while_another_connection_holds_the_write_lock(
    sqlite_engine: Engine, writer: sqlite3.Connection
) -> None:
    reads = read_session_factory(session_factory(sqlite_engine))
    session = begin_read(reads, sleep=lambda _s: pytest.fail("a read waited for the writer"))
    with session:
        assert session.scalar(text("SELECT count(*) FROM users")) == 0


def test_a_write_gives_up_on_the_lock_after_the_busy_timeout(
    sqlite_engine: Engine, writer: sqlite3.Connection
) -> None:
    with pytest.raises(Exception) as caught, transaction(session_factory(sqlite_engine)) as s:
        s.scalar(text("SELECT count(*) FROM users"))
    assert is_locked(caught.value)


class LockedFor:
    """Read sessions whose first ``times`` starts meet "database is locked"."""

    def __init__(self, reads: sessionmaker[Session], times: int) -> None:
        self.reads, self.left, self.closed = reads, times, 0

    def __call__(self) -> Session:
        session = self.reads()
        if self.left > 0:
            self.left -= 1
            locked = sqlite3.OperationalError("database is locked")

            def fail(*_args: object, **_kwargs: object) -> None:
                raise OperationalError("SELECT 1", {}, locked)

            session.execute = fail  # type: ignore[method-assign,assignment]
            session.connection = fail  # type: ignore[method-assign,assignment]
        return session


def test_a_locked_read_is_retried_with_backoff_then_answers_503(sqlite_engine: Engine) -> None:
    reads = read_session_factory(session_factory(sqlite_engine))
    waits: list[float] = []
    locked = LockedFor(reads, times=5)
    with pytest.raises(DatabaseBusyError) as busy:
        begin_read(locked, attempts=3, backoff=0.01, sleep=waits.append)  # type: ignore[arg-type]
    assert waits == [0.01, 0.02]
    assert busy.value.status_code == 503
    assert busy.value.headers == {"Retry-After": str(busy.value.retry_after)}
    assert "try again" in busy.value.message

    waits.clear()
    locked = LockedFor(reads, times=1)  # the lock goes away during the first backoff
    with begin_read(locked, attempts=3, backoff=0.01, sleep=waits.append) as session:  # type: ignore[arg-type]
        assert session.scalar(text("SELECT count(*) FROM users")) == 0
    assert waits == [0.01]


def test_a_read_only_session_refuses_to_write(sqlite_engine: Engine) -> None:
    from datetime import UTC, datetime

    from townhall.models import Role

    reads: sessionmaker[Session] = read_session_factory(session_factory(sqlite_engine))
    now = datetime.now(UTC)
    with reads() as session:
        session.add(
            User(
                email="x@example.org",
                name="X",
                department="pr",
                role=Role.MEMBER,
                password_hash="",
                active=True,
                created_at=now,
            )
        )
        with pytest.raises(RuntimeError, match="read-only"):
            session.flush()


def test_read_sessions_are_read_only_transactions_on_postgresql(
    engine: Engine, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("PostgreSQL's READ ONLY transactions")
    writes = session_factory(engine)
    with read_session_factory(writes)() as session:
        assert session.scalar(text("SHOW transaction_read_only")) == "on"
    with writes() as session:  # the pooled connection is a writer again
        assert session.scalar(text("SHOW transaction_read_only")) == "off"
