"""Which web process runs the background loops: one lock per loop family, held for life.

Every web process runs the same loops (``townhall.web.worker``), but with several processes on
one database each pass must run in one of them only: two digests for one week, or every
escalation looked at M times, is wrong or wasted. Before a pass the loop asks
``Leader.holds(family)``; only the process holding that family's lock runs it. The others try
to take the lock again on each pass, so when the leader dies another one takes over within one
interval (``TOWNHALL_QUEUE_INTERVAL``).

The loop families and their names (``FAMILIES``):

- ``townhall:queue-pass``: the queue pass (SLA breaches, escalation, automatic assignment), the
  outbox publisher, alert delivery, weekly digests and insight-card proposals;
- ``townhall:webhook-sender``: the webhook delivery loop.

**PostgreSQL**: a session-level advisory lock, ``pg_try_advisory_lock(key)`` with the key
``lock_key(name)`` (the first 8 bytes of the name's SHA-256, as a signed 64-bit integer: the
same in every process and version), taken on a connection of its own that stays open, outside
any transaction, as long as the process lives. A killed process releases it when the server
sees its connection close. Each pass first checks that connection (``SELECT 1``); if it broke
(the server restarted, the network dropped, an operator ended the backend), the lock is gone
with it: the pass is skipped, and the next one reconnects and tries to take the lock again.
Advisory locks are per database, so two installations sharing one server never meet. They need
a real session: connect directly, not through a PgBouncer in transaction pooling mode.

**SQLite** (one machine, one file): an exclusive, non-blocking ``fcntl.flock`` on a file next to
the database (``townhall.db.queue-pass.lock``), kept open for the life of the process; the kernel
releases it when the process dies, however it dies. The lock file holds the pid of the process
that took it. flock belongs to an open file description, so two ``Leader`` objects in one process
exclude each other too. An in-memory database (or a ``file:`` URI) lives in one process only:
that process always leads.

A leader that loses its lock between the check and the end of its pass may overlap one pass with
its successor; the passes tolerate that (the queue pass locks the rows it changes, digests are
checked against the audit log before sending, webhook deliveries are claimed with
``FOR UPDATE SKIP LOCKED``). ``holds`` never raises: a database it cannot reach means "not the
leader now", logged once per change.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from contextlib import suppress
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

QUEUE_LOOP = "townhall:queue-pass"
"""The queue pass, outbox publisher, alert delivery, digests and insight-card proposals."""

WEBHOOK_LOOP = "townhall:webhook-sender"
"""The webhook delivery loop."""

FAMILIES: tuple[str, ...] = (QUEUE_LOOP, WEBHOOK_LOOP)
"""Every loop family, in the order a System page lists them."""

CONNECT_TIMEOUT = 5
"""Seconds the lock connection may take to connect to PostgreSQL."""

DEAD_PEER_MS = 15_000
"""Milliseconds of unanswered TCP traffic after which the lock connection counts as broken, so a
pass never hangs on a server that vanished without closing the connection."""


def lock_key(name: str) -> int:
    """The PostgreSQL advisory lock key of a family name: a signed 64-bit integer, stable."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def lock_file(database: Path, name: str) -> Path:
    """The SQLite lock file of a family: ``townhall.db.queue-pass.lock`` next to ``database``."""
    return database.with_name(f"{database.name}.{name.rpartition(':')[2]}.lock")


class _Locks(Protocol):
    """One way of holding locks: take one, check the ones held are still held, let all go."""

    def take(self, name: str) -> bool: ...

    def check(self, held: set[str]) -> set[str]: ...

    def release(self) -> None: ...


class Leader:
    """This process's claim to each loop family: ``holds(family)`` before every pass.

    Thread-safe: the loops ask from worker threads. Opens nothing until first asked.
    """

    def __init__(self, engine: Engine) -> None:
        self._locks = _locks_for(engine.url)
        self._held: set[str] = set()
        self._guard = threading.Lock()
        self._closed = False
        self._failing = False

    def holds(self, family: str) -> bool:
        """Whether this process holds ``family``'s lock now, taking it if it is free; never
        raises (an unreachable database: not now)."""
        with self._guard:
            if self._closed:
                return False
            try:
                self._recheck()
                if family not in self._held and self._locks.take(family):
                    self._held.add(family)
                    log.warning("this process (pid %d) now runs %s", os.getpid(), family)
                self._failing = False
            except Exception as exc:  # a broken lock is "not the leader", never a failed loop
                if not self._failing:  # once per outage, not once per pass
                    log.warning("cannot take the lock of %s (retrying each pass): %s", family, exc)
                self._failing = True
                with suppress(Exception):
                    self._recheck()
            return family in self._held

    def _recheck(self) -> None:
        """Forget the locks that are no longer held (a broken connection, a removed file)."""
        if not self._held:
            return
        still = self._locks.check(self._held)
        for lost in sorted(self._held - still):
            log.warning("lost the lock of %s; its passes are skipped until it is taken again", lost)
        self._held = still

    @property
    def leading(self) -> frozenset[str]:
        """The families this process held at its last check (no I/O: for a status page)."""
        return frozenset(self._held)

    def close(self) -> None:
        """Let every lock go (another process takes them on its next pass)."""
        with self._guard:
            self._closed = True
            self._drop()

    def _drop(self) -> None:
        for lost in sorted(self._held):
            log.warning("this process (pid %d) no longer runs %s", os.getpid(), lost)
        self._held = set()
        with suppress(Exception):
            self._locks.release()


def _locks_for(url: URL) -> _Locks:
    if url.get_backend_name() == "postgresql":
        return _AdvisoryLocks(url)
    database = url.database
    if url.get_backend_name() != "sqlite":
        raise ValueError(f"no leader lock for {url.get_backend_name()} databases")
    if not database or database == ":memory:" or database.startswith("file:"):
        return _OneProcess()
    return _FileLocks(Path(database))


class _OneProcess:
    """A database only this process can open: it always leads."""

    def take(self, name: str) -> bool:
        return True

    def check(self, held: set[str]) -> set[str]:
        return set(held)

    def release(self) -> None:
        return None


class _AdvisoryLocks:
    """Session-level advisory locks on one dedicated PostgreSQL connection (autocommit)."""

    def __init__(self, url: URL) -> None:
        connect_args: dict[str, object] = {}
        if url.get_driver_name() in ("psycopg", "psycopg2"):  # libpq: see DEAD_PEER_MS
            connect_args = {
                "connect_timeout": CONNECT_TIMEOUT,
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
                "tcp_user_timeout": DEAD_PEER_MS,
            }
        self._engine = create_engine(
            url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args=connect_args
        )
        self._conn: Connection | None = None

    def take(self, name: str) -> bool:
        if self._conn is None:
            self._conn = self._engine.connect()
        got = self._conn.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(name)}
        ).scalar()
        return bool(got)

    def check(self, held: set[str]) -> set[str]:
        # Session-level locks end only with the session: a live connection still holds them.
        if self._conn is None:
            return set()
        try:
            self._conn.execute(text("SELECT 1"))
        except Exception:
            self.release()
            return set()
        return set(held)

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Unlock first: the server ends a closed session's backend a moment later, and
            # until then its locks are still held (another process asking at once would lose).
            with suppress(Exception):
                conn.execute(text("SELECT pg_advisory_unlock_all()"))
            with suppress(Exception):
                conn.invalidate()  # the server ends the session, and its locks with it
            with suppress(Exception):
                conn.close()


class _FileLocks:
    """Exclusive ``flock`` on one file per family next to the SQLite database."""

    def __init__(self, database: Path) -> None:
        self._database = database
        self._files: dict[str, int] = {}

    def take(self, name: str) -> bool:
        path = lock_file(self._database, name)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._files[name] = fd
        return True

    def check(self, held: set[str]) -> set[str]:
        # A lock on a file that was deleted or replaced no longer excludes anyone.
        still = set()
        for name in held:
            fd = self._files.get(name)
            if fd is not None and _same_file(fd, lock_file(self._database, name)):
                still.add(name)
            elif fd is not None:
                os.close(self._files.pop(name))
        return still

    def release(self) -> None:
        files, self._files = self._files, {}
        for fd in files.values():
            os.close(fd)  # closing the only descriptor releases the flock


def _same_file(fd: int, path: Path) -> bool:
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino)
