"""The in-process bus batches posts, applies back-pressure and drains on close."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import OperationalError

from townhall.pipeline import worker as worker_module
from townhall.pipeline.bus import MemoryBus
from townhall.pipeline.runner import BatchResult
from townhall.pipeline.worker import run_worker


async def test_batches_fill_up_to_max_size(make_post):
    bus = MemoryBus()
    for n in range(5):
        await bus.publish(make_post(n))
    await bus.close()

    sizes = []
    while batch := await bus.next_batch(max_size=2, max_wait=1.0):
        sizes.append(len(batch))
    assert sizes == [2, 2, 1]


async def test_a_partial_batch_leaves_after_max_wait(make_post):
    bus = MemoryBus()
    await bus.publish(make_post(1))

    batch = await asyncio.wait_for(bus.next_batch(max_size=100, max_wait=0.05), timeout=5)

    assert [p.id for p in batch] == ["mastodon:100001"]


async def test_publish_waits_when_full(make_post):
    bus = MemoryBus(capacity=1)
    await bus.publish(make_post(1))
    blocked = asyncio.create_task(bus.publish(make_post(2)))
    await asyncio.sleep(0)
    assert not blocked.done()

    await bus.next_batch(max_size=1, max_wait=0)
    await asyncio.wait_for(blocked, timeout=5)


async def test_publish_after_close_is_an_error(make_post):
    bus = MemoryBus()
    await bus.close()
    with pytest.raises(RuntimeError, match="closed"):
        await bus.publish(make_post(1))


class CountingPipeline:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def process_batch(self, posts, now):
        self.batches.append([p.id for p in posts])
        return BatchResult(len(posts), len(posts), 0, len(posts))


async def test_worker_processes_everything_then_stops(make_post, now):
    bus = MemoryBus()
    pipeline = CountingPipeline()
    worker = asyncio.create_task(
        run_worker(bus, pipeline, lambda: now, batch_size=3, max_wait=0.01)  # type: ignore[arg-type]
    )
    for n in range(7):
        await bus.publish(make_post(n))
    await bus.close()

    total = await asyncio.wait_for(worker, timeout=10)

    assert total.stored == 7
    assert sum(len(b) for b in pipeline.batches) == 7
    assert all(len(b) <= 3 for b in pipeline.batches)


class FlakyPipeline(CountingPipeline):
    """Fails ``failures`` times as a busy database would, then works."""

    def __init__(self, failures: int, error: Exception) -> None:
        super().__init__()
        self.failures, self.error = failures, error

    def process_batch(self, posts, now):
        if self.failures:
            self.failures -= 1
            raise self.error
        return super().process_batch(posts, now)


async def test_a_busy_database_is_retried_and_no_post_is_lost(make_post, now, monkeypatch):
    monkeypatch.setattr(worker_module, "BACKOFF", 0.0)
    locked = OperationalError("INSERT", {}, Exception("database is locked"))
    bus, pipeline = MemoryBus(), FlakyPipeline(3, locked)
    for n in range(4):
        await bus.publish(make_post(n))
    await bus.close()

    total = await asyncio.wait_for(
        run_worker(bus, pipeline, lambda: now, batch_size=10, max_wait=0.01),  # type: ignore[arg-type]
        timeout=10,
    )

    assert total.stored == 4 and pipeline.batches == [[make_post(n).id for n in range(4)]]


async def test_a_database_that_stays_down_stops_the_worker_loudly(make_post, now, monkeypatch):
    monkeypatch.setattr(worker_module, "BACKOFF", 0.0)
    down = OperationalError("INSERT", {}, Exception("connection refused"))
    bus, pipeline = MemoryBus(), FlakyPipeline(99, down)
    await bus.publish(make_post(1))
    await bus.close()

    with pytest.raises(OperationalError):
        await asyncio.wait_for(
            run_worker(bus, pipeline, lambda: now, max_wait=0.01),  # type: ignore[arg-type]
            timeout=10,
        )
    assert pipeline.failures == 99 - worker_module.RETRIES
