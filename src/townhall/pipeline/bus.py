"""The bus between connectors and the pipeline: in-process by default, or Redis Streams."""

from __future__ import annotations

import asyncio
from typing import Protocol

from townhall.posts import Post


class Bus(Protocol):
    """Carries posts from connectors to pipeline workers, in batches."""

    async def publish(self, post: Post) -> None:
        """Hand one post to the pipeline (waits when the bus is full: back-pressure)."""
        ...

    async def next_batch(self, max_size: int, max_wait: float) -> list[Post]:
        """Up to ``max_size`` posts, waiting at most ``max_wait`` seconds after the first.

        Returns an empty list only once the bus is closed and drained.
        """
        ...

    async def ack(self) -> None:
        """The last batch is committed: it need not be delivered again."""
        ...

    async def close(self) -> None:
        """No more posts will be published; consumers drain what is left."""
        ...


class MemoryBus:
    """A bounded in-process bus built on ``asyncio.Queue``."""

    _CLOSED = object()

    def __init__(self, capacity: int = 10_000) -> None:
        self._queue: asyncio.Queue[Post | object] = asyncio.Queue(maxsize=capacity)
        self._closed = False

    async def publish(self, post: Post) -> None:
        """Queue one post."""
        if self._closed:
            raise RuntimeError("bus is closed")
        await self._queue.put(post)

    async def ack(self) -> None:
        """Nothing to do: an in-process bus does not survive a crash anyway."""

    async def close(self) -> None:
        """Mark the end of the stream."""
        if not self._closed:
            self._closed = True
            await self._queue.put(self._CLOSED)

    async def next_batch(self, max_size: int, max_wait: float) -> list[Post]:
        """Collect a batch: block for the first post, then take more until full or timed out."""
        batch: list[Post] = []
        first = await self._queue.get()
        if first is self._CLOSED:
            await self._queue.put(self._CLOSED)  # let other consumers see the end too
            return batch
        assert isinstance(first, Post)
        batch.append(first)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while len(batch) < max_size:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                item = await asyncio.wait_for(self._queue.get(), remaining)
            except TimeoutError:
                break
            if item is self._CLOSED:
                await self._queue.put(self._CLOSED)
                break
            assert isinstance(item, Post)
            batch.append(item)
        return batch
