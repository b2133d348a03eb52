"""The leader lock: one holder per loop family and database, taken over when the holder goes.

Runs on the run's backend (SQLite: flock; PostgreSQL: advisory locks); the flock and the
advisory-lock specifics also have tests of their own.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from townhall.connectors.standin import free_port
from townhall.db import make_engine
from townhall.leader import FAMILIES, QUEUE_LOOP, WEBHOOK_LOOP, Leader, lock_file, lock_key

pytestmark = pytest.mark.timeout(60)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


@pytest.fixture
def engines(make_database_url: Callable[[], str]) -> Iterator[Callable[[], Engine]]:
    """Engines on one fresh database (each as another process would open it)."""
    url = make_database_url()
    made: list[Engine] = []

    def another() -> Engine:
        made.append(make_engine(url))
        return made[-1]

    yield another
    for engine in made:
        engine.dispose()


def test_lock_keys_are_the_documented_stable_64_bit_numbers() -> None:
    documented = dict(re.findall(r"`(townhall:[a-z-]+)`\s*\|\s*`(-?\d+)`", DOCS.read_text()))
    assert set(documented) == set(FAMILIES)
    for name in FAMILIES:
        key = lock_key(name)
        assert -(2**63) <= key < 2**63
        assert str(key) == documented[name]
    assert len({lock_key(name) for name in FAMILIES}) == len(FAMILIES)


def test_exactly_one_of_two_holds_a_family_until_it_lets_go(
    engines: Callable[[], Engine],
) -> None:
    first, second = Leader(engines()), Leader(engines())
    try:
        assert first.holds(QUEUE_LOOP)
        assert not second.holds(QUEUE_LOOP)
        assert first.holds(QUEUE_LOOP)  # asking again keeps it
        assert not second.holds(QUEUE_LOOP)
        assert first.leading == {QUEUE_LOOP} and second.leading == frozenset()
        # Each family is its own lock.
        assert second.holds(WEBHOOK_LOOP)
        assert not first.holds(WEBHOOK_LOOP)

        first.close()
        assert not first.holds(QUEUE_LOOP)  # a closed leader never runs a pass again
        assert second.holds(QUEUE_LOOP)
        assert second.leading == {QUEUE_LOOP, WEBHOOK_LOOP}
    finally:
        first.close()
        second.close()


def test_disposing_the_engine_does_not_free_the_lock_closing_the_leader_does(
    engines: Callable[[], Engine],
) -> None:
    # The lock lives on a connection of its own, not in the app's pool.
    engine = engines()
    first, second = Leader(engine), Leader(engines())
    try:
        assert first.holds(QUEUE_LOOP)
        engine.dispose()
        assert not second.holds(QUEUE_LOOP)
        first.close()
        assert second.holds(QUEUE_LOOP)
    finally:
        first.close()
        second.close()


# -- PostgreSQL -----------------------------------------------------------------------------------
@pytest.fixture
def pg(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("needs PostgreSQL (TOWNHALL_TEST_DATABASE_URL)")


def _advisory_holders(engine: Engine) -> list[int]:
    """Backend pids holding an advisory lock in ``engine``'s database."""
    query = text(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with engine.connect() as conn:
        return [int(pid) for pid in conn.execute(query).scalars()]


@pytest.mark.usefixtures("pg")
def test_a_broken_lock_connection_skips_passes_and_reconnects(
    engines: Callable[[], Engine], caplog: pytest.LogCaptureFixture
) -> None:
    admin = engines()
    first, second = Leader(engines()), Leader(engines())
    try:
        assert first.holds(QUEUE_LOOP)
        (holder,) = _advisory_holders(admin)
        with admin.connect() as conn:  # as a server restart would end it (waits up to 5 s)
            ended = conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": holder})
            assert ended.scalar()
        assert second.holds(QUEUE_LOOP)  # the lock went with the session
        with caplog.at_level(logging.WARNING, logger="townhall.leader"):
            assert not first.holds(QUEUE_LOOP)  # no pass, and no exception
        assert first.leading == frozenset()
        assert "lost the lock of townhall:queue-pass" in caplog.text
        # That try reconnected: the free family is taken on the new connection.
        assert first.holds(WEBHOOK_LOOP)
        assert not first.holds(QUEUE_LOOP)
        second.close()
        assert first.holds(QUEUE_LOOP)
        assert len(set(_advisory_holders(admin))) == 1
    finally:
        first.close()
        second.close()


def test_an_unreachable_server_is_not_the_leader_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nowhere = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/townhall")
    leader = Leader(nowhere)
    try:
        with caplog.at_level(logging.WARNING, logger="townhall.leader"):
            assert not any(leader.holds(QUEUE_LOOP) for _ in range(3))
        assert caplog.text.count("cannot take the lock") == 1
    finally:
        leader.close()
        nowhere.dispose()


# -- SQLite ---------------------------------------------------------------------------------------
def _sqlite(path: Path) -> Engine:
    return make_engine(f"sqlite:///{path}")


HOLDER = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import create_engine
    from townhall.leader import QUEUE_LOOP, Leader
    leader = Leader(create_engine(sys.argv[1]))
    print("held" if leader.holds(QUEUE_LOOP) else "refused", flush=True)
    time.sleep(60)
    """
)


def test_another_process_holds_the_file_lock_until_it_is_killed(tmp_path: Path) -> None:
    database = tmp_path / "townhall.db"
    engine = _sqlite(database)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, f"sqlite:///{database}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    leader = Leader(engine)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert lock_file(database, QUEUE_LOOP).read_text() == f"{holder.pid}\n"
        assert not leader.holds(QUEUE_LOOP)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        assert leader.holds(QUEUE_LOOP)
        assert lock_file(database, QUEUE_LOOP).read_text() == f"{os.getpid()}\n"
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
        leader.close()
        engine.dispose()


def test_a_removed_lock_file_is_a_lost_lock(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path / "townhall.db")
    first, second = Leader(engine), Leader(engine)
    try:
        assert first.holds(QUEUE_LOOP)
        path = lock_file(tmp_path / "townhall.db", QUEUE_LOOP)
        assert path.name == "townhall.db.queue-pass.lock"
        assert path.stat().st_mode & 0o777 == 0o600
        path.unlink()  # a new file excludes nobody the old one locks: both would lead
        assert second.holds(QUEUE_LOOP)
        assert not first.holds(QUEUE_LOOP)
    finally:
        first.close()
        second.close()
        engine.dispose()


def test_an_in_memory_database_always_leads() -> None:
    engine = create_engine("sqlite://")
    first, second = Leader(engine), Leader(engine)
    assert first.holds(QUEUE_LOOP) and second.holds(QUEUE_LOOP)
    first.close()
    second.close()
