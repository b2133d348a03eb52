"""Heartbeats in the broker: throughput from two reports, a stale report shows as silent, a
long-silent one is forgotten, a lag above the threshold shows as lagging; and stream facts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from townhall.pipeline.heartbeat import (
    PROCESSES_KEY,
    ProcessState,
    Reporter,
    processes,
    stream_facts,
)
from townhall.pipeline.streams import DEAD_STREAM, STREAM, ensure_groups

REDIS_URL = os.environ.get("TOWNHALL_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(
    not REDIS_URL, reason="TOWNHALL_TEST_REDIS_URL not set (make test starts redis-server)"
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    assert REDIS_URL
    r = redis.Redis.from_url(REDIS_URL)
    r.delete(PROCESSES_KEY, STREAM, DEAD_STREAM)
    yield r
    r.delete(PROCESSES_KEY, STREAM, DEAD_STREAM)
    r.close()


def test_throughput_is_posts_per_second_over_the_last_interval(client: redis.Redis) -> None:
    reporter = Reporter(client, "worker", "worker-a")
    reporter.report(processed=100, lag=5, last_error=None, now=T0)
    reporter.report(processed=600, lag=5, last_error=None, now=T0 + timedelta(seconds=5))
    (status,) = processes(client, T0 + timedelta(seconds=6))
    assert (status.kind, status.name, status.processed, status.rate) == (
        "worker",
        "worker-a",
        600,
        100.0,
    )
    assert status.state is ProcessState.OK
    assert status.seen_text == "1 s ago"
    assert status.started_at == T0


def test_a_stale_report_shows_as_silent_and_a_day_old_one_is_dropped(
    client: redis.Redis,
) -> None:
    Reporter(client, "listener", "mastodon").report(
        processed=3, lag=None, last_error="ConnectionError: refused", now=T0
    )
    Reporter(client, "radar", "radar-b").report(processed=0, lag=None, last_error=None, now=T0)
    (radar, listener) = processes(client, T0 + timedelta(seconds=31))  # radar lists first
    assert radar.state is ProcessState.SILENT
    assert listener.state is ProcessState.SILENT
    assert listener.text == "silent for 31 s: dead or stuck"
    assert listener.last_error == "ConnectionError: refused"
    assert processes(client, T0 + timedelta(days=1, seconds=1)) == []
    assert client.hlen(PROCESSES_KEY) == 0


def test_lag_above_the_threshold_shows_as_lagging(client: redis.Redis) -> None:
    Reporter(client, "worker", "w").report(processed=1, lag=20_001, last_error=None, now=T0)
    (status,) = processes(client, T0, lag_threshold=20_000)
    assert status.state is ProcessState.LAGGING
    assert "20,001 messages waiting" in status.text
    (status,) = processes(client, T0, lag_threshold=30_000)
    assert status.state is ProcessState.OK


def test_a_broker_that_does_not_answer_is_logged_not_raised() -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    Reporter(dead, "worker", "w").report(processed=1, lag=0, last_error=None, now=T0)


def test_stream_facts_count_messages_pending_lag_and_dead_letters(client: redis.Redis) -> None:
    assert stream_facts(client).length == 0
    ensure_groups(client)
    for n in range(3):
        client.xadd(STREAM, {"post": b"{}", "n": n})
    client.xreadgroup("pipeline", "w", {STREAM: ">"}, count=2)
    client.xadd(DEAD_STREAM, {"id": "1-0", "error": "bad", "raw": b"x"})
    facts = stream_facts(client)
    assert (facts.length, facts.dead_letters) == (3, 1)
    assert [(g.name, g.pending, g.lag) for g in facts.groups] == [
        ("pipeline", 2, 1),
        ("radar", 0, 3),
    ]
