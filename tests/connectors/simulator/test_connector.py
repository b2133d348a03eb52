"""``SimulatorConnector``: the source contract, accelerated replay and skipping ahead."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from townhall.connectors.base import Capability, LiveSource, Source
from townhall.connectors.simulator.connector import SimulatorConnector
from townhall.posts import Post

START = datetime(2026, 11, 20, tzinfo=UTC)


class FakeSleep:
    """Records the requested sleeps instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _collect(connector: SimulatorConnector, limit: int | None = None) -> list[Post]:
    async def run() -> list[Post]:
        out: list[Post] = []
        async for post in connector.stream():
            out.append(post)
            if limit is not None and len(out) >= limit:
                break
        return out

    return asyncio.run(run())


def test_implements_the_live_source_protocol() -> None:
    connector = SimulatorConnector(start=START)
    assert isinstance(connector, Source) and isinstance(connector, LiveSource)
    assert connector.info.name == "simulator"
    assert connector.info.capabilities == {Capability.FETCH, Capability.STREAM}


def test_fetch_yields_the_whole_day() -> None:
    connector = SimulatorConnector(start=START, seed=3, hours=4)
    posts = list(connector.fetch())
    assert posts and all(isinstance(p, Post) for p in posts)
    assert posts == list(SimulatorConnector(start=START, seed=3, hours=4).fetch())


def test_stream_sleeps_the_scaled_gaps_in_time_order() -> None:
    sleep = FakeSleep()
    connector = SimulatorConnector(start=START, seed=3, hours=3, speed=60.0, sleep=sleep)
    posts = _collect(connector)
    assert posts == connector.posts()
    assert [p.created_at for p in posts] == sorted(p.created_at for p in posts)
    distinct = sorted({p.created_at for p in posts})
    expected = [(distinct[0] - START).total_seconds() / 60.0]
    expected += [(b - a).total_seconds() / 60.0 for a, b in itertools.pairwise(distinct)]
    assert sleep.calls == expected
    assert sum(sleep.calls) == pytest.approx((posts[-1].created_at - START).total_seconds() / 60)
    assert all(s > 0 for s in sleep.calls)


def test_speed_changes_the_sleeps() -> None:
    slow, fast = FakeSleep(), FakeSleep()
    _collect(SimulatorConnector(start=START, seed=3, hours=2, speed=10, sleep=slow))
    _collect(SimulatorConnector(start=START, seed=3, hours=2, speed=1000, sleep=fast))
    assert sum(slow.calls) == pytest.approx(sum(fast.calls) * 100)


def test_skip_to_hours_yields_the_early_posts_without_sleeping() -> None:
    sleep = FakeSleep()
    connector = SimulatorConnector(start=START, seed=3, hours=12, skip_to_hours=10, sleep=sleep)
    early = [p for p in connector.posts() if p.created_at <= START + timedelta(hours=10)]
    assert len(early) > 100
    posts = _collect(connector, limit=len(early))
    assert posts == early
    assert sleep.calls == []
    _collect(connector, limit=len(early) + 1)
    assert len(sleep.calls) == 1
    later = connector.posts()[len(early)]
    assert sleep.calls[0] == (later.created_at - START - timedelta(hours=10)).total_seconds() / 60
