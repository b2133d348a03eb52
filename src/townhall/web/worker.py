"""The web server's background loops. Every few seconds: reload the policy file when it changes,
then one pass of the queue worker (SLA breaches, escalation, automatic assignment), one pass of
the outbox publisher, and the radar's new alerts by e-mail and webhook (outside any database
transaction); beside it, the webhook delivery loop.

With several web processes on one database, the passes run in one of them only: the process
whose ``Leader`` holds the family's lock (``townhall.leader``); the others reload their policy
and try to take the lock again each interval. ``leader_of(app)`` says which loops this process
runs (for a System page).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import redis
from fastapi import FastAPI

from townhall.cases.tasks import QueuePass, work_queues
from townhall.db import refresh_statistics
from townhall.insights.proposals import HourlyProposals
from townhall.insights.tasks import DigestSender
from townhall.leader import QUEUE_LOOP, WEBHOOK_LOOP, Leader
from townhall.pipeline import health_alerts
from townhall.pipeline.streams import connect
from townhall.radar import tasks as radar_tasks
from townhall.radar.notify import Notifier
from townhall.web.context import WebState
from townhall.webhooks.tasks import run_sender

log = logging.getLogger(__name__)


class Deliverer:
    """Sends pending alerts with a notifier built from the policy's ``alerts:`` section (rebuilt
    when the policy changes)."""

    def __init__(self) -> None:
        self._version = -1
        self._notifier: Notifier | None = None
        self._digests: DigestSender | None = None
        self._proposals = HourlyProposals()

    def notifier(self, web: WebState) -> Notifier | None:
        """The notifier for the policy in force (None without an ``alerts:`` section)."""
        if self._version != web.source.version:
            if self._notifier is not None:
                self._notifier.close()
            alerts = web.policy.alerts
            self._notifier = (
                None if alerts is None else Notifier.from_settings(web.settings, alerts)
            )
            self._version = web.source.version
        return self._notifier

    def run(self, web: WebState) -> int:
        """Send what is pending; how many alerts were sent (or marked as not to be sent).
        First the weekly digests due, over the alerts' SMTP server (cheap when none is due),
        and the insight cards the data suggests (once an hour)."""
        if self._digests is None:
            self._digests = DigestSender.from_settings(web.settings)
        try:
            self._digests.run(web.sessions, web.policy, web.clock)
        except Exception:  # a digest must never hold up the alerts
            log.exception("sending the weekly digests failed")
        try:  # insight cards proposed from the data, once an hour
            with web.sessions() as session, session.begin():
                self._proposals.run(session, web.policy, web.clock())
        except Exception:
            log.exception("proposing insight cards failed")
        with web.sessions() as session, session.begin():
            todo = radar_tasks.pending(session, web.policy, web.clock())
        notifier = self.notifier(web)
        if not todo or notifier is None:
            return len(todo)
        outcomes = {p.alert_id: notifier.notify(p.notice, p.posts) for p in todo}
        with web.sessions() as session, session.begin():
            radar_tasks.record(session, outcomes, web.clock())
        return len(todo)


@functools.cache
def _broker(url: str) -> redis.Redis:
    """One client (and connection pool) per broker URL for the process's passes."""
    return connect(url)


STATISTICS_EVERY = 3600.0
"""Seconds between refreshes of SQLite's planner statistics by the queue loop."""


def queue_tick(web: WebState, leader: Leader | None = None) -> QueuePass:
    """One pass in its own transaction (reloading an edited policy file first), then alerts.

    With a ``leader``, the pass runs only while it holds the queue loop's lock (an empty
    ``QueuePass`` otherwise); without one this process is taken to be the only one (tests).
    """
    if web.source.refresh():
        log.warning("policy reloaded from %s (version %d)", web.source.path, web.source.version)
    if leader is not None and not leader.holds(QUEUE_LOOP):
        return QueuePass()
    with web.sessions() as session, session.begin():
        result = work_queues(session, web.policy, web.clock())
    if time.monotonic() >= web.statistics_due:
        with web.sessions() as session, session.begin():
            refresh_statistics(session)
        web.statistics_due = time.monotonic() + STATISTICS_EVERY
    if web.settings.broker_url:  # workers, the radar and listeners that lag or fall silent
        with web.sessions() as session, session.begin():
            health_alerts.check(session, _broker(web.settings.broker_url), web.clock())
    if web.publisher is not None:
        published = web.publisher.run_once()
        for line in published.errors:
            log.warning("outbox: %s", line)
    if web.deliverer is not None:
        web.deliverer.run(web)
    return result


async def _loop(web: WebState, leader: Leader, interval: float) -> None:
    while not web.stopping.is_set():
        try:
            await anyio.to_thread.run_sync(queue_tick, web, leader)
        except Exception:  # a bad pass must not stop the next one
            log.exception("queue pass failed")
        await anyio.sleep(interval)


async def _send_webhooks(web: WebState, leader: Leader, interval: float) -> None:
    """The webhook sender, running while this process holds its lock (checked every
    ``interval`` seconds; a pass under way when the lock is lost finishes first)."""

    async def leads() -> bool:
        return await anyio.to_thread.run_sync(leader.holds, WEBHOOK_LOOP)

    while not web.stopping.is_set():
        if not await leads():
            await anyio.sleep(interval)
            continue
        try:
            async with anyio.create_task_group() as sending:
                sending.start_soon(
                    run_sender, web.sessions, web.settings, web.clock, web.stopping, interval
                )
                while not web.stopping.is_set():
                    await anyio.sleep(interval)
                    if not await leads():
                        break
                sending.cancel_scope.cancel()
        except Exception:  # the sender failed to start: try again on the next interval
            log.exception("the webhook sender stopped")
            await anyio.sleep(interval)


def leader_of(app: FastAPI) -> Leader | None:
    """This process's claim to the background loops (None: they are off, ``queue_interval``
    0); ``leader_of(app).leading`` names the loop families it runs now."""
    leader: Leader | None = getattr(app.state, "leader", None)
    return leader


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the loops while the app serves (``queue_interval`` 0 turns them off)."""
    web: WebState = app.state.web
    interval = web.settings.queue_interval
    leader = Leader(web.sessions.kw["bind"]) if interval > 0 else None
    app.state.leader = leader
    try:
        async with anyio.create_task_group() as tasks:
            if leader is not None:
                tasks.start_soon(_loop, web, leader, interval)
                tasks.start_soon(_send_webhooks, web, leader, interval)
            try:
                yield
            finally:
                web.stopping.set()
                tasks.cancel_scope.cancel()
    finally:
        # After the passes under way have finished: nobody else runs them until then.
        if web.publisher is not None:
            web.publisher.close()
        if leader is not None:
            leader.close()
