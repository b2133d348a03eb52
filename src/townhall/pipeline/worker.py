"""The worker loop: take batches off the bus and run them through the pipeline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from townhall.pipeline.bus import Bus
from townhall.pipeline.runner import EMPTY, BatchResult, Pipeline

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
        # The database work is blocking: keep the event loop (web server) responsive.
        result = await asyncio.to_thread(pipeline.process_batch, batch, clock())
        await bus.ack()
        total = total + result
        if on_batch is not None:
            on_batch(result)
        log.debug("batch: %s", result)
