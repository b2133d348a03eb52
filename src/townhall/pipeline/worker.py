"""The worker loop: take batches off the bus and run them through the pipeline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import OperationalError

from townhall.pipeline.bus import Bus
from townhall.pipeline.runner import EMPTY, BatchResult, Pipeline
from townhall.posts import Post

log = logging.getLogger(__name__)


async def run_worker(
    bus: Bus,
    pipeline: Pipeline,
    clock: Callable[[], datetime],
    batch_size: int = 500,
    max_wait: float = 0.25,
    on_batch: Callable[[BatchResult], None] | None = None,
) -> BatchResult:
    """Process batches until the bus is closed and drained; returns the totals.

    ``max_wait`` (seconds) bounds how long a post waits for its batch to fill.
    """
    total = EMPTY
    while True:
        batch = await bus.next_batch(batch_size, max_wait)
        if not batch:
            return total
        result = await _process(pipeline, batch, clock)
        await bus.ack()
        total = total + result
        if on_batch is not None:
            on_batch(result)
        log.debug("batch: %s", result)


RETRIES = 8
"""Attempts at a batch when the database is busy or unreachable."""

BACKOFF = 0.25
"""Seconds before the first retry, doubling each time (at most 5 s)."""


async def _process(
    pipeline: Pipeline, batch: list[Post], clock: Callable[[], datetime]
) -> BatchResult:
    """Run one batch, retrying while the database is busy or briefly unreachable."""
    for attempt in range(1, RETRIES + 1):
        try:
            # The database work is blocking: keep the event loop (web server) responsive.
            return await asyncio.to_thread(pipeline.process_batch, batch, clock())
        except OperationalError:
            if attempt == RETRIES:
                raise
            log.warning(
                "batch of %d posts failed (attempt %d), retrying",
                len(batch),
                attempt,
                exc_info=True,
            )
            await asyncio.sleep(min(BACKOFF * 2 ** (attempt - 1), 5.0))
    raise AssertionError("unreachable")  # pragma: no cover
