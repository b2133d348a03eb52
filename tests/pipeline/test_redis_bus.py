"""The Redis Streams bus against a real redis-server (started by `make test`)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from townhall.pipeline.redis_bus import RedisStreamsBus
from townhall.pipeline.runner import BatchResult
from townhall.pipeline.worker import run_worker

REDIS_URL = os.environ.get("TOWNHALL_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(
    not REDIS_URL, reason="TOWNHALL_TEST_REDIS_URL not set (make test starts redis-server)"
)


@pytest.fixture
async def client() -> AsyncIterator[Redis]:
    assert REDIS_URL
    redis = Redis.from_url(REDIS_URL)
    yield redis
    await redis.aclose()


@pytest.fixture
def stream() -> str:
    return f"test:{uuid.uuid4().hex}"


async def make_bus(client: Redis, stream: str, **kw: object) -> RedisStreamsBus:
    bus = RedisStreamsBus(client, stream=stream, **kw)  # type: ignore[arg-type]
    await bus.setup()
    return bus


async def test_posts_round_trip_in_batches(client, stream, make_post):
    bus = await make_bus(client, stream)
    sent = [make_post(n, text=f"post {n} ✓ <b>") for n in range(5)]
    for post in sent:
        await bus.publish(post)

    first = await bus.next_batch(max_size=3, max_wait=0.1)
    await bus.ack()
    second = await bus.next_batch(max_size=3, max_wait=0.1)
    await bus.ack()

    assert first + second == sent
    assert (await client.xpending(stream, "pipeline"))["pending"] == 0


async def test_a_dead_workers_batch_is_claimed_by_another(client, stream, make_post):
    dead = await make_bus(client, stream, consumer="dead")
    alive = await make_bus(client, stream, consumer="alive", claim_idle=0.05)
    for n in range(3):
        await dead.publish(make_post(n))
    taken = await dead.next_batch(max_size=10, max_wait=0.1)  # never acknowledged
    assert len(taken) == 3

    await asyncio.sleep(0.1)  # let the messages become idle
    reclaimed = await alive.next_batch(max_size=10, max_wait=0.1)
    await alive.ack()

    assert [p.id for p in reclaimed] == [p.id for p in taken]
    assert (await client.xpending(stream, "pipeline"))["pending"] == 0


async def test_close_ends_the_worker_after_draining(client, stream, make_post, now):
    bus = await make_bus(client, stream)
    seen: list[str] = []

    class Recorder:
        def process_batch(self, posts, now):
            seen.extend(p.id for p in posts)
            return BatchResult(len(posts), len(posts), 0, 0)

    for n in range(7):
        await bus.publish(make_post(n))
    await bus.close()
    total = await asyncio.wait_for(
        run_worker(bus, Recorder(), lambda: now, batch_size=2, max_wait=0.05),  # type: ignore[arg-type]
        timeout=10,
    )

    assert total.read == 7
    assert len(seen) == 7
    await client.delete(stream, f"{stream}:closed")
