"""The in-process bus batches posts, applies back-pressure and drains on close."""

from __future__ import annotations

import asyncio

import pytest

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
