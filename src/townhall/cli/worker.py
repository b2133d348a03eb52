"""`townhall worker`: store the broker's posts into the database, one of any number.

Every worker reads the stream ``townhall:posts`` in consumer group ``pipeline`` (understand,
route, store, acknowledge after commit); one of them at a time, the holder of a lease, also
runs the radar stage in stream order (see ``townhall.pipeline.streams``).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import Annotated

import redis
import typer
from rich.markup import escape
from sqlalchemy.exc import OperationalError

from townhall.cli.common import err
from townhall.cli.runtime import open_runtime
from townhall.pipeline.heartbeat import Reporter, stream_facts
from townhall.pipeline.streams import (
    BROKER_ERRORS,
    LEADER_KEY,
    PIPELINE_GROUP,
    RADAR_GROUP,
    Lease,
    RadarStage,
    StreamWorker,
    connect,
    consumer_name,
    ensure_groups,
)

log = logging.getLogger(__name__)


def _radar_loop(stage: RadarStage, lease: Lease, stop: threading.Event) -> None:
    """Take part in the radar's leadership; while leader, check batches in stream order."""
    attempt = 0
    leading = False
    while not stop.is_set():
        try:
            if lease.acquire():
                if not leading:
                    fed = stage.take_over()
                    log.warning("%s runs the radar stage (warmed with %d posts)", stage.name, fed)
                    leading = True
                stage.step(stop)
            else:
                leading = False
                stop.wait(1.0)
            attempt = 0
        except InterruptedError:
            return
        except (*BROKER_ERRORS, OperationalError) as exc:
            attempt += 1
            stage.counters.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("radar stage: %s (retrying)", stage.counters.last_error)
            stop.wait(min(0.2 * 2 ** min(attempt, 5), 5.0))
        except Exception as exc:  # a bug must not stop the worker; it shows on the System page
            stage.counters.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.exception("radar stage failed")
            stop.wait(1.0)


HEARTBEAT = 5.0
"""Seconds between a worker's reports to the System page."""


def _lag(client: redis.Redis, group: str) -> int | None:
    """Messages of ``group`` not acknowledged yet (delivered or not)."""
    facts = stream_facts(client)
    found = next((g for g in facts.groups if g.name == group), None)
    if found is None:
        return None
    return found.pending + (found.lag or 0)


def _heartbeats(
    client: redis.Redis,
    storing: StreamWorker,
    stage: RadarStage | None,
    lease: Lease,
    stop: threading.Event,
) -> None:
    """Report throughput, lag and the last error every ``HEARTBEAT`` seconds (never raises)."""
    worker = Reporter(client, "worker", storing.name)
    radar = Reporter(client, "radar", storing.name) if stage is not None else None
    while not stop.is_set():
        now = datetime.now(UTC)
        try:
            worker.report(
                processed=storing.counters.processed,
                lag=_lag(client, PIPELINE_GROUP),
                last_error=storing.counters.last_error,
                now=now,
            )
            if (
                radar is not None
                and stage is not None
                and client.get(LEADER_KEY) == (lease.holder.encode())
            ):
                radar.report(
                    processed=stage.counters.processed,
                    lag=_lag(client, RADAR_GROUP),
                    last_error=stage.counters.last_error,
                    now=now,
                )
        except BROKER_ERRORS as exc:
            log.warning("heartbeat: %s", exc)
        stop.wait(HEARTBEAT)


def worker(
    name: Annotated[
        str | None, typer.Option(help="Consumer name (default: worker-<host>-<pid>).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="Messages per batch.")
    ] = None,
    claim_idle: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds a message may stay unacknowledged with a silent worker before "
            "another worker takes it over.",
        ),
    ] = 30.0,
    radar: Annotated[
        bool,
        typer.Option(help="Take part in running the radar stage (one worker at a time runs it)."),
    ] = True,
) -> None:
    """Process posts from the broker (TOWNHALL_BROKER_URL) into the database
    (TOWNHALL_DATABASE_URL) until Ctrl-C or SIGTERM; run as many as the machines allow.

    Listeners (`townhall listen`, `townhall serve`) and `townhall ingest` publish to the
    broker when TOWNHALL_BROKER_URL is set. A worker killed mid-batch loses nothing: after
    --claim-idle seconds another worker processes its batch, and a post is stored once.
    """
    with open_runtime() as runtime:
        url = runtime.settings.broker_url
        if not url:
            err.print(
                "[red]error:[/] TOWNHALL_BROKER_URL is not set: a worker reads posts from the "
                "broker (e.g. redis://127.0.0.1:6379/0)"
            )
            raise typer.Exit(2)
        client = connect(url)
        try:
            ensure_groups(client)
        except BROKER_ERRORS as exc:
            err.print(f"[red]error:[/] the broker at {escape(url)} does not answer ({exc})")
            raise typer.Exit(1) from None
        me = name or consumer_name()
        size = batch_size or runtime.settings.batch_size
        stop = threading.Event()
        storing = StreamWorker(
            client, runtime.pipeline(radar=False), me, batch_size=size, claim_idle=claim_idle
        )
        lease = Lease(client, me)
        stage = (
            RadarStage(
                client,
                runtime.sessions,
                runtime.radar_pipeline(),
                me,
                batch_size=size,
                new_radar=runtime.new_radar,
            )
            if radar
            else None
        )
        threads = [
            threading.Thread(
                target=_heartbeats,
                args=(client, storing, stage, lease, stop),
                name="heartbeat",
                daemon=True,
            )
        ]
        if stage is not None:
            threads.append(
                threading.Thread(
                    target=_radar_loop, args=(stage, lease, stop), name="radar", daemon=True
                )
            )

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        err.print(f"worker {escape(me)} reading the broker's posts (Ctrl-C stops)")
        for thread in threads:
            thread.start()
        try:
            storing.run(stop)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            if radar:
                with contextlib.suppress(*BROKER_ERRORS):
                    lease.release()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        err.print(f"worker {escape(me)} stopped after {storing.counters.processed:,} messages")
