"""``emit``: record an event for every endpoint that subscribes to it, in the caller's
transaction (an outbox: a change that is rolled back sends nothing, a crash after the commit
loses nothing; the delivery loop sends the rows later).

Emitting must cost next to nothing when no endpoint listens, since the pipeline emits
``item.routed`` for thousands of items a second. So each process keeps, per database, the set of
events some active endpoint subscribes to, for ``HINT_SECONDS``: an event outside it returns at
once, without a query. The hint only ever skips work: when it says someone listens, the
endpoints are read again in the caller's transaction. Changes made through this package clear
it at once; an endpoint added by another process is seen within ``HINT_SECONDS``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from townhall.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from townhall.webhooks.events import EVENTS

HINT_SECONDS = 5.0
"""How long a process trusts its list of subscribed events before reading it again."""

DELIVERIES = cast(Table, WebhookDelivery.__table__)

_hints: dict[URL, tuple[float, frozenset[str]]] = {}
_lock = threading.Lock()


def invalidate() -> None:
    """Forget every process-wide hint (after endpoints were added, changed or switched off)."""
    with _lock:
        _hints.clear()


def _subscribed(session: Session, now_mono: float) -> frozenset[str]:
    """The events some active endpoint of this session's database subscribes to (cached)."""
    key = session.get_bind().engine.url
    hint = _hints.get(key)
    if hint is not None and hint[0] > now_mono:
        return hint[1]
    events: set[str] = set()
    for subscribed in session.scalars(
        select(WebhookEndpoint.events).where(WebhookEndpoint.active.is_(True))
    ):
        events.update(subscribed or ())
    found = frozenset(events)
    with _lock:
        _hints[key] = (now_mono + HINT_SECONDS, found)
    return found


def listening(session: Session, event: str) -> bool:
    """Whether some active endpoint may subscribe to ``event`` (cheap: see the module)."""
    return event in _subscribed(session, time.monotonic())


def payload(event: str, delivery: str, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The JSON body of one delivery: ``id`` (the delivery's uuid), ``event``, ``created_at``
    and the event's ``data``."""
    return {
        "id": delivery,
        "event": event,
        "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": dict(data),
    }


def emit_many(
    session: Session, event: str, datas: Iterable[Mapping[str, Any]], now: datetime
) -> int:
    """Add one pending delivery per ``data`` and per active endpoint subscribed to ``event``, to
    the caller's transaction; returns how many. ``datas`` is consumed only when someone
    listens (pass a generator: nothing is built otherwise)."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if event not in _subscribed(session, time.monotonic()):
        return 0
    endpoints = [
        endpoint_id
        for endpoint_id, events in session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.events).where(
                WebhookEndpoint.active.is_(True)
            )
        )
        if event in (events or ())
    ]
    if not endpoints:
        return 0
    rows = []
    for data in datas:
        for endpoint_id in endpoints:
            delivery = str(uuid.uuid4())
            rows.append(
                {
                    "endpoint_id": endpoint_id,
                    "event": event,
                    "uuid": delivery,
                    "payload": payload(event, delivery, data, now),
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_status_code": None,
                    "last_error": "",
                    "created_at": now,
                    "delivered_at": None,
                }
            )
    if rows:
        session.execute(DELIVERIES.insert(), rows)
    return len(rows)


def emit(session: Session, event: str, data: Mapping[str, Any], now: datetime) -> int:
    """Record ``event`` with ``data`` for every subscribed endpoint, in the caller's
    transaction (see ``emit_many``); returns how many deliveries were added."""
    return emit_many(session, event, (data,), now)
