"""A Redis Streams bus: many pipeline workers share one stream through a consumer group.

Delivery is at least once: a batch is acknowledged (XACK) only after the pipeline committed
it, and a worker that died holding a batch loses it to the next worker after ``claim_idle``
seconds (XAUTOCLAIM). Storing is idempotent (one row per channel + external id), so a batch
processed twice is stored once.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, cast

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from townhall.errors import PostFormatError
from townhall.posts import Post, parse_post


class RedisStreamsBus:
    """The ``Bus`` over a Redis stream and consumer group."""

    def __init__(
        self,
        client: Redis,
        stream: str = "townhall:posts",
        group: str = "pipeline",
        consumer: str | None = None,
        claim_idle: float = 60.0,
        maxlen: int = 1_000_000,
    ) -> None:
        self._redis = client
        self.stream = stream
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}-{id(self):x}"
        self._claim_idle_ms = int(claim_idle * 1000)
        self._maxlen = maxlen
        self._closed_key = f"{stream}:closed"
        self._unacked: list[bytes] = []
        self.rejected: list[PostFormatError] = []

    async def setup(self) -> None:
        """Create the stream and the consumer group if they do not exist yet."""
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def publish(self, post: Post) -> None:
        """Append one post to the stream (trimmed to about ``maxlen`` entries)."""
        await self._redis.xadd(
            self.stream,
            {"post": orjson.dumps(post.to_json())},
            maxlen=self._maxlen,
            approximate=True,
        )

    async def close(self) -> None:
        """Tell every consumer that no more posts will come."""
        await self._redis.set(self._closed_key, b"1")

    async def reopen(self) -> None:
        """Clear the closed mark (for a new run on the same stream)."""
        await self._redis.delete(self._closed_key)

    async def next_batch(self, max_size: int, max_wait: float) -> list[Post]:
        """Reclaimed stale messages first, then new ones; [] once closed and drained."""
        while True:
            entries = await self._claim_stale(max_size)
            if not entries:
                reply = await self._redis.xreadgroup(
                    self.group,
                    self.consumer,
                    {self.stream: ">"},
                    count=max_size,
                    block=max(1, int(max_wait * 1000)),
                )
                # RESP2 reply: [[stream, [(id, fields), ...]]]
                entries = cast(list[Any], reply)[0][1] if reply else []
            if entries:
                return self._decode(entries)
            if await self._redis.exists(self._closed_key) and not await self._pending():
                return []
            await asyncio.sleep(0)

    async def ack(self) -> None:
        """Acknowledge the last batch: the pipeline has committed it."""
        if self._unacked:
            await self._redis.xack(self.stream, self.group, *self._unacked)
            self._unacked = []

    async def _claim_stale(self, count: int) -> list[Any]:
        _next, entries, *_deleted = await self._redis.xautoclaim(
            self.stream, self.group, self.consumer, self._claim_idle_ms, "0-0", count=count
        )
        return list(entries)

    async def _pending(self) -> int:
        info = await self._redis.xpending(self.stream, self.group)
        return int(info["pending"])

    def _decode(self, entries: list[Any]) -> list[Post]:
        posts: list[Post] = []
        for message_id, fields in entries:
            self._unacked.append(message_id)
            if fields is None:  # trimmed away before it was claimed
                continue
            try:
                posts.append(parse_post(fields[b"post"]))
            except PostFormatError as exc:  # written by something else: keep the reason
                self.rejected.append(exc)
        return posts
