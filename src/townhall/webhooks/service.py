"""Endpoints and deliveries: register an endpoint, list them, read a delivery log, replay.

Services never commit: the transaction belongs to the caller. Changes to endpoints clear the
process's emit hint (``outgoing.invalidate``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.channels.secrets import SecretBox
from townhall.config import Settings
from townhall.errors import ConflictError, InputError, NotFoundError
from townhall.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from townhall.webhooks import outgoing
from townhall.webhooks.events import EVENTS
from townhall.webhooks.signing import new_secret

PAGE = 50
"""Deliveries per page of an endpoint's log."""

_URL = re.compile(r"^https?://[^\s/?#@]+(:\d{1,5})?(/[^\s]*)?$", re.IGNORECASE)
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")


@dataclass(frozen=True)
class Created:
    """A new endpoint and its secret (shown this once, never again)."""

    endpoint: WebhookEndpoint
    secret: str


@dataclass(frozen=True)
class EndpointRow:
    """An endpoint with its newest delivery (None before the first) and its pending count."""

    endpoint: WebhookEndpoint
    last: WebhookDelivery | None
    pending: int


def check_events(events: Sequence[str]) -> list[str]:
    """The events, each once, in ``EVENTS`` order; ``InputError`` names an unknown one."""
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise InputError(f"events: unknown event {unknown[0]!r} (known: {', '.join(EVENTS)}).")
    if not events:
        raise InputError("events: choose at least one event.")
    return [e for e in EVENTS if e in set(events)]


def add_endpoint(
    session: Session,
    settings: Settings,
    *,
    name: str,
    url: str,
    events: Sequence[str],
    actor: str,
    now: datetime,
) -> Created:
    """Register an endpoint with a fresh secret, sealed with ``TOWNHALL_SECRETS_KEY`` (a
    ``ConfigError`` when there is none). Raises ``InputError`` for a bad name, URL or event,
    ``ConflictError`` for a name already taken."""
    name, url = name.strip(), url.strip()
    if not _NAME.match(name):
        raise InputError("name: 1 to 100 characters, on one line.")
    if len(url) > 2048 or not _URL.match(url):
        raise InputError(
            "url: an http:// or https:// address without user or password, "
            "e.g. https://chat.example/hooks/townhall."
        )
    chosen = check_events(events)
    if session.scalar(select(WebhookEndpoint.id).where(WebhookEndpoint.name == name)):
        raise ConflictError(f"There is already a webhook endpoint named {name!r}.")
    box = SecretBox(settings.secrets_key)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        name=name,
        url=url,
        events=chosen,
        secret_sealed=box.seal(secret),
        active=True,
        created_at=now,
        created_by=actor,
    )
    session.add(endpoint)
    session.flush()
    record(
        session,
        at=now,
        actor=actor,
        action="webhook.endpoint_added",
        subject_type="webhook",
        subject_id=endpoint.id,
        why=f"Webhook endpoint {name} added for {', '.join(chosen)}",
        details={"url": url, "events": chosen},
    )
    outgoing.invalidate()
    return Created(endpoint, secret)


def set_active(
    session: Session, endpoint_id: int, active: bool, *, actor: str, now: datetime
) -> WebhookEndpoint:
    """Switch an endpoint on or off (off: nothing new is recorded for it, and what is pending
    fails at its next attempt)."""
    endpoint = get_endpoint(session, endpoint_id)
    if endpoint.active != active:
        endpoint.active = active
        record(
            session,
            at=now,
            actor=actor,
            action="webhook.endpoint_" + ("enabled" if active else "disabled"),
            subject_type="webhook",
            subject_id=endpoint.id,
            why=f"Webhook endpoint {endpoint.name} switched {'on' if active else 'off'}",
        )
        outgoing.invalidate()
    return endpoint


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint ``endpoint_id``; raises ``NotFoundError``."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFoundError(f"There is no webhook endpoint #{endpoint_id}.")
    return endpoint


def endpoints(session: Session) -> list[EndpointRow]:
    """Every endpoint, oldest first, with its newest delivery and pending count."""
    rows = list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
    newest: dict[int, int] = {
        endpoint_id: last_id
        for endpoint_id, last_id in session.execute(
            select(WebhookDelivery.endpoint_id, func.max(WebhookDelivery.id)).group_by(
                WebhookDelivery.endpoint_id
            )
        )
    }
    pending: dict[int, int] = {
        endpoint_id: count
        for endpoint_id, count in session.execute(
            select(WebhookDelivery.endpoint_id, func.count())
            .where(WebhookDelivery.status == DeliveryStatus.PENDING)
            .group_by(WebhookDelivery.endpoint_id)
        )
    }
    last = {
        d.endpoint_id: d
        for d in session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.id.in_(list(newest.values())))
        )
    }
    return [EndpointRow(e, last.get(e.id), pending.get(e.id, 0)) for e in rows]


def deliveries(
    session: Session, endpoint_id: int, page: int = 1, per_page: int = PAGE
) -> tuple[list[WebhookDelivery], int]:
    """One page (1-based) of an endpoint's deliveries, newest first, and how many it has."""
    total = session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
    )
    rows = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), int(total or 0)


def find_delivery(session: Session, key: str | int) -> WebhookDelivery:
    """A delivery by its number or its uuid; raises ``NotFoundError``."""
    delivery: WebhookDelivery | None
    if isinstance(key, int) or key.isdigit():
        delivery = session.get(WebhookDelivery, int(key))
    else:
        delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.uuid == key))
    if delivery is None:
        raise NotFoundError(f"There is no webhook delivery {key}.")
    return delivery


def replay(session: Session, key: str | int, *, actor: str, now: datetime) -> WebhookDelivery:
    """Send a failed delivery again: pending now, its attempts from zero, the same uuid and
    payload (so a receiver that did get it can tell). ``ConflictError`` unless it failed."""
    delivery = find_delivery(session, key)
    if delivery.status != DeliveryStatus.FAILED:
        raise ConflictError(
            f"Webhook delivery #{delivery.id} is {delivery.status}; only failed deliveries "
            "are replayed."
        )
    endpoint = get_endpoint(session, delivery.endpoint_id)
    if not endpoint.active:
        raise ConflictError(
            f"The endpoint {endpoint.name} is switched off: switch it on to replay."
        )
    record(
        session,
        at=now,
        actor=actor,
        action="webhook.replayed",
        subject_type="webhook_delivery",
        subject_id=delivery.id,
        why=f"{delivery.event} to {endpoint.name} sent again after {delivery.attempts} failed "
        "attempts",
        details={
            "uuid": delivery.uuid,
            "attempts": delivery.attempts,
            "last_status_code": delivery.last_status_code,
            "last_error": delivery.last_error,
        },
    )
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    return delivery
