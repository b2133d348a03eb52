"""Heartbeats of workers, the radar and listeners, kept in the broker for the System page.

Each process reports every few seconds into one field of the hash ``townhall:processes``
(the field is ``<kind>:<name>``, the value JSON: kind, name, host, pid, started_at, seen_at,
processed, rate, lag, last_error). ``processes`` reads them back with a state: ``ok``,
``lagging`` (more messages waiting than ``LAG_THRESHOLD``) or ``silent`` (no report for
``SILENT_AFTER`` seconds: dead or stuck). The hash lives in Redis, not PostgreSQL, so a
report costs no database write and still works while the database restarts.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

import orjson
import redis

from townhall.pipeline.streams import (
    BROKER_ERRORS,
    DEAD_STREAM,
    PIPELINE_GROUP,
    RADAR_GROUP,
    STREAM,
)

log = logging.getLogger(__name__)

PROCESSES_KEY = "townhall:processes"
"""Hash of heartbeats: field ``<kind>:<name>``, value the report's JSON."""

SILENT_AFTER = timedelta(seconds=30)
"""A process not heard from for this long is shown (and alerted) as silent."""

FORGET_AFTER = timedelta(days=1)
"""A process silent this long is dropped from the hash when the list is read."""

LAG_THRESHOLD = 10_000
"""Messages waiting (stream lag) above which a process is shown as lagging."""

KINDS = ("worker", "radar", "listener")


class ProcessState(StrEnum):
    """How a process is doing, as the System page and the alerts say it."""

    OK = "ok"
    LAGGING = "lagging"
    SILENT = "silent"


@dataclass(frozen=True)
class ProcessStatus:
    """One process's last report and what it means now."""

    kind: str
    name: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    processed: int
    rate: float
    """Posts per second over the last report interval."""
    lag: int | None
    """Messages waiting for this process's group (None: not known, e.g. a listener)."""
    last_error: str | None
    state: ProcessState
    seen_seconds_ago: float

    @property
    def key(self) -> str:
        """The hash field of this process (also its identity for alerts)."""
        return f"{self.kind}:{self.name}"

    @property
    def text(self) -> str:
        """The state as a person reads it, e.g. ``silent for 2 min: dead or stuck``."""
        if self.state is ProcessState.SILENT:
            return f"silent for {ago(self.seen_seconds_ago)}: dead or stuck"
        if self.state is ProcessState.LAGGING:
            return f"lagging: {self.lag:,} messages waiting"
        return "ok"

    @property
    def seen_text(self) -> str:
        """``12 s ago``, ``3 min ago``."""
        return f"{ago(self.seen_seconds_ago)} ago"


def ago(seconds: float) -> str:
    """A duration in the largest unit that fits: ``12 s``, ``3 min``, ``2 h``, ``1 d``."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 2 * 86400:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


class Reporter:
    """Writes one process's heartbeat; computes its throughput from the previous report."""

    def __init__(self, client: redis.Redis, kind: str, name: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        self._redis = client
        self.kind, self.name = kind, name
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.started_at: datetime | None = None
        self._previous: tuple[datetime, int] | None = None

    def report(
        self, *, processed: int, lag: int | None, last_error: str | None, now: datetime
    ) -> None:
        """Store the heartbeat (``processed``: total since start); never raises: a broker that
        does not answer is logged, and the next report tries again."""
        if self.started_at is None:
            self.started_at = now
        rate = 0.0
        if self._previous is not None:
            then, before = self._previous
            seconds = (now - then).total_seconds()
            if seconds > 0:
                rate = max(0, processed - before) / seconds
        self._previous = (now, processed)
        body = {
            "kind": self.kind,
            "name": self.name,
            "host": self.host,
            "pid": self.pid,
            "started_at": self.started_at.isoformat(),
            "seen_at": now.isoformat(),
            "processed": processed,
            "rate": round(rate, 2),
            "lag": lag,
            "last_error": last_error[:500] if last_error else None,
        }
        try:
            self._redis.hset(PROCESSES_KEY, f"{self.kind}:{self.name}", orjson.dumps(body))
        except BROKER_ERRORS as exc:
            log.warning("heartbeat of %s %s not stored: %s", self.kind, self.name, exc)


def _status(raw: dict[str, Any], now: datetime, lag_threshold: int) -> ProcessStatus:
    seen = datetime.fromisoformat(str(raw["seen_at"]))
    if seen.tzinfo is None:
        seen = seen.replace(tzinfo=UTC)
    started = datetime.fromisoformat(str(raw.get("started_at") or raw["seen_at"]))
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    lag = raw.get("lag")
    age = (now - seen).total_seconds()
    if age >= SILENT_AFTER.total_seconds():
        state = ProcessState.SILENT
    elif lag is not None and int(lag) > lag_threshold:
        state = ProcessState.LAGGING
    else:
        state = ProcessState.OK
    return ProcessStatus(
        kind=str(raw.get("kind", "")),
        name=str(raw.get("name", "")),
        host=str(raw.get("host", "")),
        pid=int(raw.get("pid", 0)),
        started_at=started,
        seen_at=seen,
        processed=int(raw.get("processed", 0)),
        rate=float(raw.get("rate", 0.0)),
        lag=None if lag is None else int(lag),
        last_error=raw.get("last_error") or None,
        state=state,
        seen_seconds_ago=age,
    )


def processes(
    client: redis.Redis, now: datetime, lag_threshold: int = LAG_THRESHOLD
) -> list[ProcessStatus]:
    """Every process heard from in the last day, by kind then name; older entries (and
    unreadable ones) are removed. Raises the broker's error when it does not answer."""
    rows = cast(dict[bytes, bytes], client.hgetall(PROCESSES_KEY))
    out, stale = [], []
    for field, value in rows.items():
        try:
            status = _status(orjson.loads(value), now, lag_threshold)
        except (ValueError, KeyError, TypeError):
            stale.append(field)
            continue
        if now - status.seen_at >= FORGET_AFTER:
            stale.append(field)
        else:
            out.append(status)
    if stale:
        client.hdel(PROCESSES_KEY, *stale)
    return sorted(out, key=lambda p: (KINDS.index(p.kind) if p.kind in KINDS else 9, p.name))


@dataclass(frozen=True)
class GroupFacts:
    """One consumer group of the posts stream."""

    name: str
    pending: int
    """Delivered to a consumer, not acknowledged yet."""
    lag: int | None
    """Not delivered yet (None when the broker cannot tell, e.g. after XDEL)."""


@dataclass(frozen=True)
class StreamFacts:
    """The posts stream, its groups and the dead-letter stream."""

    length: int
    groups: list[GroupFacts]
    dead_letters: int


def stream_facts(client: redis.Redis) -> StreamFacts:
    """Length of ``townhall:posts``, pending and lag of each group, dead-letter stream length.

    A missing stream reads as empty; the broker's error is raised when it does not answer."""
    length = int(client.xlen(STREAM))
    groups: list[GroupFacts] = []
    try:
        infos = cast(list[dict[Any, Any]], client.xinfo_groups(STREAM))
    except redis.ResponseError:  # no such stream yet
        infos = []
    for info in infos:
        name = info.get("name", b"")
        lag = info.get("lag")
        groups.append(
            GroupFacts(
                name=name.decode() if isinstance(name, bytes) else str(name),
                pending=int(info.get("pending", 0)),
                lag=None if lag is None else int(lag),
            )
        )
    order = {PIPELINE_GROUP: 0, RADAR_GROUP: 1}
    groups.sort(key=lambda g: (order.get(g.name, 9), g.name))
    dead = int(client.xlen(DEAD_STREAM))
    return StreamFacts(length=length, groups=groups, dead_letters=dead)
