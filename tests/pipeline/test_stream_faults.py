"""What a worker and the radar stage do when the database fails under them, in one process:
a worker takes its own failed batch again at once (not after the claim delay), and the radar
stage stores the alerts of a batch whose commit failed without feeding the radar that batch
again (its state moves once per post), then acknowledges it.

Real parts: the run's Redis (a stream of this test's own) and the run's database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from townhall.db import make_engine, session_factory
from townhall.models import PostRecord
from townhall.org.policy import Policy
from townhall.pipeline.runner import Pipeline
from townhall.pipeline.streams import (
    PIPELINE_GROUP,
    RADAR_GROUP,
    Publisher,
    RadarStage,
    StreamWorker,
)
from townhall.radar.replay import Radar, RadarSettings
from townhall.routing.rules import router_for
from townhall.understand.enrich import Understander

pytestmark = pytest.mark.skipif(
    not os.environ.get("TOWNHALL_TEST_REDIS_URL"), reason="TOWNHALL_TEST_REDIS_URL not set"
)

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(os.environ["TOWNHALL_TEST_REDIS_URL"])
    yield connection
    connection.close()


@pytest.fixture
def stream(client: redis.Redis) -> Iterator[str]:
    """A stream of this test's own (its groups go with it)."""
    name = f"test:faults:{uuid.uuid4().hex}"
    yield name
    client.delete(name)


@pytest.fixture
def stored(
    make_database_url: Callable[[], str], acme_policy: Policy
) -> Iterator[tuple[sessionmaker[Session], Pipeline]]:
    """Sessions on a fresh database and a pipeline that understands, routes and stores."""
    engine = make_engine(make_database_url())
    sessions = session_factory(engine)
    yield (
        sessions,
        Pipeline(
            sessions, acme_policy, Understander.from_policy(acme_policy), router_for(acme_policy)
        ),
    )
    engine.dispose()


def _failing_once(real: Callable[..., Any]) -> tuple[Callable[..., Any], list[int]]:
    calls: list[int] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return real(*args, **kwargs)

    return wrapper, calls


def test_a_failed_batch_is_taken_again_at_once_and_stored_once(
    make_database_url: Callable[[], str],
    acme_policy: Policy,
    client: redis.Redis,
    stream: str,
    make_post: Callable[..., Any],
) -> None:
    engine = make_engine(make_database_url())
    sessions = session_factory(engine)
    pipeline = Pipeline(sessions, acme_policy)
    Publisher(client, sessions, stream).publish([make_post(n) for n in range(5)])
    # An hour's claim delay: only the worker's own retry can take the batch again this soon.
    worker = StreamWorker(client, pipeline, "w", claim_idle=3600, stream=stream, clock=lambda: NOW)
    pipeline.process_batch, calls = _failing_once(pipeline.process_batch)  # type: ignore[method-assign]

    with pytest.raises(OperationalError):
        worker.step()
    assert client.xpending(stream, PIPELINE_GROUP)["pending"] == 5  # still ours, unacknowledged
    assert worker.step() == 5
    assert len(calls) == 2
    assert client.xpending(stream, PIPELINE_GROUP)["pending"] == 0
    with sessions() as session:
        assert session.scalar(select(func.count(PostRecord.id))) == 5
    assert worker.step() == 0  # nothing left, nothing taken twice
    engine.dispose()


def test_the_radar_stage_stores_a_failed_batch_s_alerts_without_feeding_it_twice(
    stored: tuple[sessionmaker[Session], Pipeline],
    acme_policy: Policy,
    client: redis.Redis,
    stream: str,
    make_post: Callable[..., Any],
) -> None:
    sessions, storing = stored
    watching = Pipeline(sessions, acme_policy, radar=Radar(acme_policy, RadarSettings()))
    Publisher(client, sessions, stream).publish([make_post(n) for n in range(4)])
    # Stored now (the stage feeds only posts stored after their message arrived).
    StreamWorker(client, storing, "w", stream=stream).step()
    stage = RadarStage(client, sessions, watching, "r", stream=stream, clock=lambda: NOW)
    observed: list[list[Any]] = []
    real_observe = watching.observe

    def observe(stored: Any) -> Any:
        observed.append([row_id for row_id, _, _ in stored])
        return real_observe(stored)

    watching.observe = observe  # type: ignore[method-assign]
    watching.record, recorded = _failing_once(watching.record)  # type: ignore[method-assign]

    with pytest.raises(OperationalError):
        stage.step()
    assert client.xpending(stream, RADAR_GROUP)["pending"] == 4
    assert stage.step() == 4
    assert len(observed) == 1 and len(observed[0]) == 4  # fed once
    assert len(recorded) == 2  # stored on the second try
    assert client.xlen(stream) == 0  # acknowledged and deleted
    assert stage.step() == 0


def test_a_new_leader_warms_its_radar_with_what_the_old_one_checked(
    stored: tuple[sessionmaker[Session], Pipeline],
    acme_policy: Policy,
    client: redis.Redis,
    stream: str,
    make_post: Callable[..., Any],
) -> None:
    sessions, storing = stored
    # Ten posts stored (and checked) ten minutes ago, five still in the stream, stored now.
    checked_at = datetime.now(UTC) - timedelta(minutes=10)
    storing.process_batch([make_post(n) for n in range(10)], checked_at)
    Publisher(client, sessions, stream).publish([make_post(n) for n in range(10, 15)])
    StreamWorker(client, storing, "w", stream=stream).step()
    watching = Pipeline(sessions, acme_policy, radar=Radar(acme_policy, RadarSettings()))
    radars: list[Radar] = []

    def new_radar() -> Radar:
        radars.append(Radar(acme_policy, RadarSettings()))
        return radars[-1]

    stage = RadarStage(client, sessions, watching, "r", stream=stream, new_radar=new_radar)
    assert stage.take_over() == 10  # the five in the stream are left for the stage to check
    assert stage.step() == 5
    assert client.xlen(stream) == 0
    assert stage.take_over() == 15  # the stream is empty: everything stored was checked
    assert len(radars) == 2 and watching._radar is radars[-1]  # watching with the new one
