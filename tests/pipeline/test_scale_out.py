"""Scale-out: one replay through 2 `townhall worker` processes gives what one process gives,
and survives a worker killed mid-batch, a broker restart and a database restart.

Real parts: a redis-server started here (append-only file on, as in production), the run's
database (SQLite, or PostgreSQL under ``make test``; the database restart test runs its own
PostgreSQL server, in the PostgreSQL run), and the `townhall` commands as subprocesses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from networks import ACME_POLICY
from postgres_server import PostgresServer
from redis_server import RedisServer
from townhall.config import Settings
from townhall.db import make_engine, migrate
from townhall.models import AlertRecord, CrisisRoom, Item, PostRecord
from townhall.org.policy import load_policy
from townhall.org.source import PolicySource
from townhall.pipeline import heartbeat
from townhall.pipeline.streams import PIPELINE_GROUP, STREAM
from townhall.web.app import create_app

pytestmark = pytest.mark.skipif(
    not os.environ.get("TOWNHALL_TEST_REDIS_URL"),
    reason="TOWNHALL_TEST_REDIS_URL not set (make test installs and starts redis-server)",
)

DEADLINE = 240.0
"""Seconds the workers get to process the replay (a few seconds on an idle machine)."""


def townhall(env: dict[str, str], *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "townhall.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kw,
    )


def base_env(home: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
    env.update(
        TOWNHALL_HOME=str(home),
        TOWNHALL_DATABASE_URL=database_url,
        TOWNHALL_POLICY=str(ACME_POLICY),
    )
    return env


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four hours of ACME traffic with the melted-basket crisis one hour in."""
    out = tmp_path_factory.mktemp("replay") / "day.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "townhall.cli",
            "simulate",
            "--seed",
            "11",
            "--hours",
            "4",
            "--rate",
            "150",
            "--crisis-at",
            "1",
            "--start",
            "2026-11-30T08:00:00Z",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stat().st_size > 0, done.stderr
    return out


Snapshot = dict[str, Any]


def snapshot(database_url: str) -> Snapshot:
    """What a replay leaves: stored posts, routed items, alerts and crisis rooms."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            posts = sorted(conn.execute(select(PostRecord.channel, PostRecord.external_id)))
            items = sorted(
                (channel, ext, dept, rule, str(status), priority, level)
                for channel, ext, dept, rule, status, priority, level in conn.execute(
                    select(
                        PostRecord.channel,
                        PostRecord.external_id,
                        Item.department,
                        Item.rule,
                        Item.status,
                        Item.priority,
                        Item.escalation_level,
                    ).join(PostRecord, PostRecord.id == Item.post_pk)
                )
            )
            alerts = sorted(
                (kind, topic or "", severity, story)
                for kind, topic, severity, story in conn.execute(
                    select(
                        AlertRecord.kind,
                        AlertRecord.topic,
                        AlertRecord.severity,
                        AlertRecord.story,
                    )
                )
            )
            rooms = sorted(
                (story, topic or "", str(status), lead)
                for story, topic, status, lead in conn.execute(
                    select(
                        CrisisRoom.story,
                        CrisisRoom.topic,
                        CrisisRoom.status,
                        CrisisRoom.lead_department,
                    )
                )
            )
            in_rooms = sorted(
                ext
                for (ext,) in conn.execute(
                    select(PostRecord.external_id)
                    .join(Item, PostRecord.id == Item.post_pk)
                    .where(Item.crisis_id.is_not(None))
                )
            )
    finally:
        engine.dispose()
    return {"posts": posts, "items": items, "alerts": alerts, "rooms": rooms, "in_rooms": in_rooms}


@pytest.fixture(scope="module")
def one_process(
    replay: Path, make_database_url: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Snapshot:
    """The replay stored by `townhall ingest` in one process (no broker)."""
    url = make_database_url()
    done = townhall(base_env(tmp_path_factory.mktemp("one"), url), "ingest", str(replay))
    assert done.returncode == 0, done.stderr
    result = snapshot(url)
    # The replay must exercise what the test compares, or equality would prove nothing.
    assert result["alerts"] and result["rooms"] and result["in_rooms"], result
    return result


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


class Workers:
    """`townhall worker` subprocesses on one database and broker, stopped at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "townhall.cli", "worker", "--name", name, *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.running.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.logs.glob("*.log"))


@pytest.fixture
def scaled(
    broker: RedisServer, make_database_url: Callable[[], str], tmp_path: Path
) -> Iterator[tuple[Workers, str]]:
    url = make_database_url()
    env = base_env(tmp_path, url) | {"TOWNHALL_BROKER_URL": broker.url}
    workers = Workers(env, tmp_path)
    yield workers, url
    workers.stop_all()


def wait_until_done(broker: RedisServer, url: str, expected_posts: int, workers: Workers) -> None:
    """Until every message is checked by the radar (the stream is empty) and stored."""
    client = redis.Redis.from_url(broker.url, socket_timeout=5)
    engine = make_engine(url)
    deadline = time.monotonic() + DEADLINE
    try:
        while time.monotonic() < deadline:
            try:
                left = client.xlen(STREAM)
            except redis.exceptions.ConnectionError:
                left = -1
            with engine.connect() as conn:
                stored = len(list(conn.execute(select(PostRecord.id))))
            if left == 0 and stored >= expected_posts:
                return
            time.sleep(0.25)
    finally:
        engine.dispose()
    raise AssertionError(f"not done in {DEADLINE} s:\n{workers.output()}")


def test_two_workers_give_the_same_answers_as_one_process(
    replay: Path, one_process: Snapshot, scaled: tuple[Workers, str], broker: RedisServer
) -> None:
    workers, url = scaled
    workers.start("w1")
    workers.start("w2")
    queued = townhall(workers.env, "ingest", str(replay))
    assert queued.returncode == 0, queued.stderr
    assert '"queued"' in queued.stdout

    wait_until_done(broker, url, len(one_process["posts"]), workers)

    assert snapshot(url) == one_process
    # Each worker reports to the System page (every few seconds), and one of them the radar.
    client = redis.Redis.from_url(broker.url)
    deadline = time.monotonic() + 30
    while True:
        reported = heartbeat.processes(client, datetime.now(UTC))
        radars = [p.name for p in reported if p.kind == "radar"]
        if radars or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sorted(p.name for p in reported if p.kind == "worker") == ["w1", "w2"]
    assert len(radars) == 1 and radars[0] in ("w1", "w2"), reported


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(
    replay: Path, one_process: Snapshot, scaled: tuple[Workers, str], broker: RedisServer
) -> None:
    workers, url = scaled
    queued = townhall(workers.env, "ingest", str(replay))
    assert queued.returncode == 0, queued.stderr
    doomed = workers.start("doomed", "--no-radar", "--batch-size", "50")
    client = redis.Redis.from_url(broker.url)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:  # kill it while it holds unacknowledged messages
        pending = client.xpending(STREAM, PIPELINE_GROUP) if client.exists(STREAM) else None
        if (
            pending
            and pending["pending"]
            and any(c["name"] == b"doomed" for c in pending["consumers"])
        ):
            break
        time.sleep(0.01)
    else:
        raise AssertionError(f"the worker never took a batch:\n{workers.output()}")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    assert client.xpending(STREAM, PIPELINE_GROUP)["pending"] > 0  # it died holding a batch

    workers.start("survivor", "--claim-idle", "1")
    wait_until_done(broker, url, len(one_process["posts"]), workers)

    assert snapshot(url) == one_process


def test_workers_ride_out_a_broker_restart(
    replay: Path,
    one_process: Snapshot,
    scaled: tuple[Workers, str],
    broker: RedisServer,
    tmp_path: Path,
) -> None:
    workers, url = scaled
    lines = replay.read_bytes().splitlines(keepends=True)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_bytes(b"".join(lines[: len(lines) // 2]))
    second.write_bytes(b"".join(lines[len(lines) // 2 :]))
    workers.start("w1")
    workers.start("w2")
    assert townhall(workers.env, "ingest", str(first)).returncode == 0
    client = redis.Redis.from_url(broker.url)
    deadline = time.monotonic() + DEADLINE
    while client.xinfo_groups(STREAM)[0]["pending"] == 0:  # until the workers are at it
        assert time.monotonic() < deadline, workers.output()
        time.sleep(0.01)

    broker.restart(down_for=2.0)  # while the workers are busy with the first half
    assert townhall(workers.env, "ingest", str(second)).returncode == 0

    wait_until_done(broker, url, len(one_process["posts"]), workers)
    assert snapshot(url) == one_process
    assert "retrying" in workers.output()  # they did lose the broker for a while


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


def readiness(url: str, broker_url: str, home: Path) -> tuple[int, dict[str, Any]]:
    """``/readyz`` of a web app over ``url``, asked as an operator."""
    token = "operator-token-for-the-restart-test-0123456789"
    settings = Settings(
        home=home,
        secret_key="test-secret-key-for-the-restart-test-0123456789",
        cookie_secure=False,
        queue_interval=0,
        operator_token=token,
        broker_url=broker_url,
    )
    engine = make_engine(url)
    try:
        app = create_app(settings, engine, PolicySource(ACME_POLICY, load_policy(ACME_POLICY)))
        http = TestClient(app, base_url="http://127.0.0.1")
        response = http.get("/readyz", headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.json()
    finally:
        engine.dispose()


@pytest.mark.skipif(
    not os.environ.get("TOWNHALL_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="runs in the PostgreSQL run (against a PostgreSQL server of its own)",
)
def test_workers_ride_out_a_database_restart_and_readiness_says_so(
    replay: Path,
    one_process: Snapshot,
    broker: RedisServer,
    own_postgres: PostgresServer,
    tmp_path: Path,
) -> None:
    url = own_postgres.url
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    lines = replay.read_bytes().splitlines(keepends=True)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_bytes(b"".join(lines[: len(lines) // 2]))
    second.write_bytes(b"".join(lines[len(lines) // 2 :]))
    env = base_env(tmp_path, url) | {"TOWNHALL_BROKER_URL": broker.url}
    workers = Workers(env, tmp_path)
    try:
        workers.start("w1")
        workers.start("w2")
        assert townhall(env, "ingest", str(first)).returncode == 0
        client = redis.Redis.from_url(broker.url)
        deadline = time.monotonic() + DEADLINE
        while client.xinfo_groups(STREAM)[0]["pending"] == 0:  # until the workers are at it
            assert time.monotonic() < deadline, workers.output()
            time.sleep(0.01)

        own_postgres.stop()  # while the workers are busy with the first half
        status, body = readiness(url, broker.url, tmp_path)
        assert (status, body["status"]) == (503, "unavailable"), body
        assert body["database"] == "does not answer (see the server log)"
        time.sleep(2.0)
        own_postgres.start()
        status, body = readiness(url, broker.url, tmp_path)
        assert (status, body["database"], body["broker"]) == (200, "ok", "ok"), body

        assert townhall(env, "ingest", str(second)).returncode == 0
        wait_until_done(broker, url, len(one_process["posts"]), workers)
        assert snapshot(url) == one_process
        assert "retrying" in workers.output()  # they did lose the database for a while
    finally:
        workers.stop_all()
