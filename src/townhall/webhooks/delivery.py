"""The delivery loop: send due webhook deliveries, signed, and retry with backoff.

One ``run_once`` pass:

1. **Claim** up to ``BATCH`` due pending rows in one short transaction (on PostgreSQL
   ``FOR UPDATE SKIP LOCKED``, so parallel senders take different rows; SQLite's write lock
   serialises the claim): each gets ``attempts + 1`` and a lease (``next_attempt_at`` moved past
   the time the batch may take), then the claim commits.
2. **Send** each outside any transaction: POST the stored payload with ``Townhall-Event``,
   ``Townhall-Delivery`` and ``Townhall-Signature`` (signed at the wall clock's time).
3. **Settle** each in a transaction of its own, only if the row is still the one claimed (same
   attempt count, still pending): a 2xx is delivered; anything else is retried after
   ``BACKOFF`` (with jitter) until ``MAX_ATTEMPTS``, then failed.

A sender that dies between 1 and 3 leaves its rows pending with the lease as their due time:
they are sent again after it (at least once; receivers drop repeats by ``Townhall-Delivery``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
import orjson
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from townhall.channels.secrets import SecretBox
from townhall.config import Settings
from townhall.errors import ConfigError
from townhall.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from townhall.posts import now_utc, terminal_safe
from townhall.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

TIMEOUT = 10.0
"""Seconds one POST to an endpoint may take."""

BACKOFF: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
"""The wait after the 1st, 2nd … failed attempt; after ``MAX_ATTEMPTS`` the delivery fails."""

MAX_ATTEMPTS = len(BACKOFF) + 1

JITTER = 0.2
"""Each wait is stretched or shrunk by up to this fraction, at random (no thundering herd)."""

BATCH = 20
"""Deliveries claimed per pass."""

LEASE_MARGIN = timedelta(seconds=60)

MAX_ERROR = 500
"""Most characters of an error (or a receiver's answer) kept."""

USER_AGENT = "Townhall-Webhooks/1"


def backoff(attempts: int, rand: float = 0.5) -> timedelta:
    """The wait after ``attempts`` failed attempts; ``rand`` in [0, 1) picks the jitter."""
    base = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    return base * (1 + JITTER * (2 * rand - 1))


@dataclass
class DeliveryPass:
    """What one pass did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def sent(self) -> int:
        """Deliveries attempted."""
        return self.delivered + self.retried + self.failed


@dataclass(frozen=True)
class _Claimed:
    id: int
    attempts: int
    event: str
    uuid: str
    body: bytes
    url: str | None
    """None: the endpoint is gone or switched off."""
    secret: str | None
    problem: str = ""
    final: bool = False
    """Fail at once, without retrying (the endpoint is switched off)."""


def _clean(text: str) -> str:
    return terminal_safe(" ".join(text.split()))[:MAX_ERROR]


class WebhookSender:
    """Sends due deliveries (see the module); ``clock`` is the app's "now" for due times, and
    ``wall`` the real Unix time signatures carry (receivers compare it with theirs)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        clock: Callable[[], datetime] = now_utc,
        *,
        client: httpx.Client | None = None,
        wall: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self._wall = wall
        self._rand = rand
        self._own_client = client is None
        self._client = client or httpx.Client(
            timeout=TIMEOUT, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )

    def close(self) -> None:
        """Close the HTTP client (when this sender made it)."""
        if self._own_client:
            self._client.close()

    def run_once(self, limit: int = BATCH, stop: threading.Event | None = None) -> DeliveryPass:
        """One pass: claim, send, settle (see the module); stops early when ``stop`` is set."""
        result = DeliveryPass()
        for claimed in self._claim(limit):
            if stop is not None and stop.is_set():
                break  # its lease runs out and the next pass sends it
            code, error = self._send(claimed)
            self._settle(claimed, code, error, result)
        return result

    def _box(self) -> SecretBox | None:
        try:
            return SecretBox(self._settings.secrets_key)
        except ConfigError:
            return None

    def _claim(self, limit: int) -> list[_Claimed]:
        now = self._clock()
        lease = timedelta(seconds=TIMEOUT) * limit + LEASE_MARGIN
        with self._sessions() as session, session.begin():
            query = (
                select(WebhookDelivery)
                .where(
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            if not rows:
                return []
            endpoints = {
                e.id: e
                for e in session.scalars(
                    select(WebhookEndpoint).where(
                        WebhookEndpoint.id.in_({r.endpoint_id for r in rows})
                    )
                )
            }
            box = self._box()
            claimed = []
            for row in rows:
                row.attempts += 1
                row.next_attempt_at = now + lease
                endpoint = endpoints.get(row.endpoint_id)
                url = secret = None
                problem, final = "", False
                if endpoint is None or not endpoint.active:
                    problem, final = "The endpoint is switched off: not sent.", True
                elif box is None:
                    problem = (
                        "TOWNHALL_SECRETS_KEY is not set or not valid: the endpoint's secret "
                        "cannot be read to sign the delivery."
                    )
                else:
                    try:
                        secret = box.open(endpoint.secret_sealed, f"webhook {endpoint.name}")
                        url = endpoint.url
                    except ConfigError as exc:
                        problem = exc.message
                claimed.append(
                    _Claimed(
                        id=row.id,
                        attempts=row.attempts,
                        event=row.event,
                        uuid=row.uuid,
                        body=orjson.dumps(row.payload),
                        url=url,
                        secret=secret,
                        problem=problem,
                        final=final,
                    )
                )
        return claimed

    def _send(self, claimed: _Claimed) -> tuple[int | None, str]:
        """POST one delivery; (status code or None, error: empty when delivered)."""
        if claimed.url is None or claimed.secret is None:
            return None, claimed.problem
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: claimed.event,
            DELIVERY_HEADER: claimed.uuid,
            SIGNATURE_HEADER: sign(claimed.secret, claimed.body, int(self._wall())),
        }
        try:
            response = self._client.post(claimed.url, content=claimed.body, headers=headers)
        except httpx.TimeoutException:
            return None, f"No answer within {TIMEOUT:g} s."
        except httpx.HTTPError as exc:
            return None, _clean(f"Cannot reach the endpoint: {type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return response.status_code, ""
        answer = _clean(response.text[:MAX_ERROR]) if response.content else ""
        return response.status_code, f"HTTP {response.status_code}" + (
            f": {answer}" if answer else ""
        )

    def _settle(
        self, claimed: _Claimed, code: int | None, error: str, result: DeliveryPass
    ) -> None:
        now = self._clock()
        values: dict[str, Any] = {"last_status_code": code, "last_error": error}
        if not error:
            values |= {
                "status": DeliveryStatus.DELIVERED,
                "delivered_at": now,
                "next_attempt_at": None,
            }
        elif claimed.final or claimed.attempts >= MAX_ATTEMPTS:
            values |= {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
        else:
            values["next_attempt_at"] = now + backoff(claimed.attempts, self._rand())
        with self._sessions() as session, session.begin():
            won = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claimed.id,
                    WebhookDelivery.attempts == claimed.attempts,
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        if cast(CursorResult[Any], won).rowcount != 1:
            return  # replayed or re-claimed meanwhile: that outcome counts, not ours
        if not error:
            result.delivered += 1
        elif claimed.final or claimed.attempts >= MAX_ATTEMPTS:
            result.failed += 1
            log.warning("webhook delivery %s failed for good: %s", claimed.uuid, error)
        else:
            result.retried += 1
