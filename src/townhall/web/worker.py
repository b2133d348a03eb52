"""The web server's background loop: reload the policy file when it changes, then one pass of
the queue worker (SLA breaches, escalation, automatic assignment), every few seconds."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from townhall.cases.tasks import QueuePass, work_queues
from townhall.web.context import WebState

log = logging.getLogger(__name__)


def queue_tick(web: WebState) -> QueuePass:
    """One pass in its own transaction (reloading an edited policy file first)."""
    if web.source.refresh():
        log.warning("policy reloaded from %s (version %d)", web.source.path, web.source.version)
    with web.sessions() as session, session.begin():
        return work_queues(session, web.policy, web.clock())


async def _loop(web: WebState, interval: float) -> None:
    while not web.stopping.is_set():
        try:
            await anyio.to_thread.run_sync(queue_tick, web)
        except Exception:  # a bad pass must not stop the next one
            log.exception("queue pass failed")
        await anyio.sleep(interval)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the loop while the app serves (``queue_interval`` 0 turns it off)."""
    web: WebState = app.state.web
    interval = web.settings.queue_interval
    async with anyio.create_task_group() as tasks:
        if interval > 0:
            tasks.start_soon(_loop, web, interval)
        try:
            yield
        finally:
            web.stopping.set()
            tasks.cancel_scope.cancel()
