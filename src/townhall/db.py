"""Database engine and sessions: SQLite (WAL) by default, PostgreSQL when configured.

Two kinds of transaction: a *write* transaction (the default) takes SQLite's write lock up
front, and a *read-only* one (sessions from ``read_session_factory``) is a plain deferred
``BEGIN`` that WAL runs beside the writer. A database that stays locked past the busy
timeout surfaces as ``DatabaseBusyError`` (503), never as a raw ``OperationalError``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from townhall.config import Settings, owner_only
from townhall.errors import DatabaseBusyError

READ_ONLY = "townhall_read_only"
"""Execution option of an engine whose transactions only read (see ``read_only``)."""

BUSY_TIMEOUT = 30.0
"""Seconds a SQLite write transaction waits for the write lock before giving up."""

READ_BUSY_TIMEOUT = 2.0
"""Most seconds one attempt to start a SQLite read transaction waits for a lock."""

READ_ATTEMPTS = 3
"""Attempts to start a read transaction on a locked SQLite database before answering 503."""

READ_BACKOFF = 0.05
"""Seconds before the second attempt to start a read; doubles after each failed attempt."""


def is_locked(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "database is locked" (or "busy"): a lock timed out."""
    if not isinstance(exc, OperationalError):
        return False
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message


def make_engine(url: str, *, busy_timeout: float = BUSY_TIMEOUT) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout (seconds)."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            prepare_sqlite_file(Path(database))
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout}
        )
        write_ms = int(busy_timeout * 1000)
        read_ms = int(min(busy_timeout, READ_BUSY_TIMEOUT) * 1000)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself so savepoints and rollbacks behave.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={write_ms}")
            cur.close()
            record.info["busy_timeout"] = write_ms

        def _wait_at_most(conn: Any, ms: int) -> None:
            info = conn.connection.info  # lives as long as the DBAPI connection
            if info.get("busy_timeout") != ms:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={ms}")
                info["busy_timeout"] = ms

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            if conn.get_execution_options().get(READ_ONLY):
                # A reader never waits for the writer under WAL; it can only meet a lock
                # in rare cases (recovery, an exclusive-mode connection): wait briefly.
                _wait_at_most(conn, read_ms)
                conn.exec_driver_sql("BEGIN")
                return
            # IMMEDIATE takes the write lock up front, so a transaction that reads and then
            # writes waits (busy_timeout) instead of failing with "database is locked" when
            # another writer committed in between (WAL cannot upgrade a stale read snapshot).
            _wait_at_most(conn, write_ms)
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def prepare_sqlite_file(path: Path) -> None:
    """Create the SQLite database file with mode 0600 before SQLite opens it, and tighten an
    existing one (and its -wal/-shm files) that others could read, with a warning.

    SQLite gives the -wal and -shm files it creates the database file's permissions, so they
    are born 0600 too: password hashes and notes are never readable by other local users.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            owner_only(Path(f"{path}{suffix}"))
        except FileNotFoundError:
            continue


def read_only(engine: Engine) -> Engine:
    """The same database and pool, for transactions that only read.

    SQLite begins them with a deferred ``BEGIN`` (no write lock); PostgreSQL with
    ``BEGIN READ ONLY``, so a stray write fails loudly instead of committing.
    """
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["postgresql_readonly"] = True
    return engine.execution_options(**options)


def engine_from_settings(settings: Settings) -> Engine:
    """The engine the settings describe."""
    return make_engine(settings.resolved_database_url())


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine`` (objects stay readable after commit)."""
    return sessionmaker(engine, expire_on_commit=False)


def read_session_factory(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions over the database of ``sessions`` whose transactions only read.

    Flushing one raises (an ORM write in a read-only request is a bug, not a lock to take).
    """
    bind = sessions.kw["bind"]
    assert isinstance(bind, Engine), "a read session factory needs an engine-bound factory"
    # No autoflush: an object changed in memory for display is never written, only dropped.
    reads = sessionmaker(read_only(bind), expire_on_commit=False, autoflush=False)

    @event.listens_for(reads, "before_flush")
    def _refuse(session: Session, _context: Any, _instances: Any) -> None:
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("a read-only session was asked to write; use a write session")

    return reads


def begin_read(
    reads: sessionmaker[Session],
    *,
    attempts: int = READ_ATTEMPTS,
    backoff: float = READ_BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> Session:
    """A read-only session whose transaction (and SQLite snapshot) has already started.

    A locked database is retried ``attempts`` times, waiting ``backoff`` seconds (doubling)
    between them: nothing has been read yet, so trying again is safe. Raises
    ``DatabaseBusyError`` when every attempt met the lock.
    """
    delay = backoff
    for attempt in range(1, attempts + 1):
        session = reads()
        try:
            if session.get_bind().dialect.name == "sqlite":
                # The first read takes the snapshot; everything after reads from it.
                session.execute(text("SELECT 1 FROM sqlite_master LIMIT 1"))
            else:
                session.connection()
            return session
        except OperationalError as exc:
            session.close()
            if not is_locked(exc):
                raise
            if attempt == attempts:
                raise DatabaseBusyError() from exc
        except BaseException:
            session.close()
            raise
        sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def read_transaction(reads: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only session (``begin_read``), closed (rolled back) at the end."""
    session = begin_read(reads)
    try:
        yield session
    except OperationalError as exc:
        if is_locked(exc):
            raise DatabaseBusyError() from exc
        raise
    finally:
        session.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command

    cfg = _alembic_config()
    # Alembic logs each step at INFO; a library that configured the root logger would print it.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


SEARCH_TABLE = "posts_search"
"""SQLite's trigram index of the posts' text and handles (migration 0021), an FTS5 table."""

SEARCH_INDEXES = frozenset({"ix_posts_text_trgm", "ix_posts_author_handle_trgm"})
"""PostgreSQL's trigram indexes of the posts' text and handles (migration 0021)."""


def outside_models(name: str | None, type_: str) -> bool:
    """Whether a schema object is the text search's, built by migration 0021 outside the models
    (the FTS5 table with its shadow tables ``posts_search_data`` …, or a trigram index)."""
    if name is None:
        return False
    if type_ == "table":
        return name == SEARCH_TABLE or name.startswith(f"{SEARCH_TABLE}_")
    return type_ == "index" and name in SEARCH_INDEXES


ANALYSIS_LIMIT = 1000
"""Rows SQLite samples per index when it refreshes its statistics (milliseconds, not seconds)."""


def refresh_statistics(session: Session) -> bool:
    """SQLite: refresh the query planner's statistics (``ANALYZE``, sampled); whether it ran.

    Without them SQLite reads ``status IN (…)`` as selective and picks an index that needs
    every row (the teams page's counts: 54–72 ms at 100,000 items, 27–32 ms once analysed).
    PostgreSQL's autovacuum keeps its own statistics: nothing to do there."""
    if session.get_bind().dialect.name != "sqlite":
        return False
    session.connection().exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
    session.connection().exec_driver_sql("ANALYZE")
    return True


def _alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


@lru_cache(maxsize=1)
def schema_head() -> str | None:
    """The newest Alembic revision this code knows (the schema it expects)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def schema_revision(session: Session) -> str | None:
    """The Alembic revision the database of ``session`` is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(session.connection()).get_current_revision()
