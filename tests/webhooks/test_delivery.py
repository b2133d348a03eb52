"""The delivery loop against a real HTTP receiver on 127.0.0.1: signed POSTs, retries with
backoff, failure after the last attempt, replay, and claims that two senders never share."""

from __future__ import annotations

import time
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import select

from townhall.channels.secrets import new_key
from townhall.connectors.standin import free_port
from townhall.db import transaction
from townhall.errors import ConflictError
from townhall.models import AuditEvent, DeliveryStatus, WebhookDelivery
from townhall.webhooks import delivery as delivery_module
from townhall.webhooks import service
from townhall.webhooks.delivery import BACKOFF, MAX_ATTEMPTS, WebhookSender, backoff
from townhall.webhooks.outgoing import emit
from townhall.webhooks.signing import verify_signature


def _endpoint(sessions, settings, clock, url, events=("crisis.opened",)) -> tuple[int, str]:
    with transaction(sessions) as session:
        created = service.add_endpoint(
            session,
            settings,
            name=f"ep-{url[-12:]}",
            url=url,
            events=list(events),
            actor="admin@acme.example",
            now=clock(),
        )
        return created.endpoint.id, created.secret


def _emit(sessions, clock, data=None) -> None:
    with transaction(sessions) as session:
        assert emit(session, "crisis.opened", data or {"room_id": 3, "link": "/crises/3"}, clock())


def _delivery(sessions) -> WebhookDelivery:
    with sessions() as session:
        (row,) = session.scalars(select(WebhookDelivery))
        return row


@pytest.fixture
def sender(sessions, settings, clock):
    s = WebhookSender(sessions, settings, clock)
    yield s
    s.close()


def test_a_delivery_reaches_the_receiver_signed(sessions, settings, clock, receiver, sender):
    _, secret = _endpoint(sessions, settings, clock, receiver.url)
    _emit(sessions, clock)

    result = sender.run_once()

    assert (result.delivered, result.retried, result.failed) == (1, 0, 0)
    (got,) = receiver.received
    row = _delivery(sessions)
    assert got.headers["townhall-event"] == "crisis.opened"
    assert got.headers["townhall-delivery"] == row.uuid
    assert got.headers["content-type"] == "application/json"
    # The receiver checks the signature over the raw body with the secret it was given.
    assert verify_signature(secret, got.headers["townhall-signature"], got.body, time.time())
    assert not verify_signature(new_key(), got.headers["townhall-signature"], got.body, time.time())
    assert orjson.loads(got.body) == {
        "id": row.uuid,
        "event": "crisis.opened",
        "created_at": "2026-11-20T14:00:00Z",
        "data": {"room_id": 3, "link": "/crises/3"},
    }
    assert row.status == DeliveryStatus.DELIVERED
    assert (row.attempts, row.last_status_code, row.last_error) == (1, 200, "")
    assert row.delivered_at == clock()
    assert sender.run_once().sent == 0  # nothing sent twice


def test_a_500_is_retried_after_the_backoff_then_delivered(
    sessions, settings, clock, receiver, sender
):
    _endpoint(sessions, settings, clock, receiver.url)
    receiver.script = [500]
    _emit(sessions, clock)

    first = sender.run_once()
    row = _delivery(sessions)
    assert (first.retried, row.status, row.attempts) == (1, DeliveryStatus.PENDING, 1)
    assert (row.last_status_code, row.last_error) == (500, "HTTP 500: receiver says no")
    wait = row.next_attempt_at - clock()
    assert timedelta(seconds=24) <= wait <= timedelta(seconds=36)  # 30 s ± 20 % jitter

    assert sender.run_once().sent == 0  # not due yet
    clock.now += timedelta(seconds=37)
    assert sender.run_once().delivered == 1

    row = _delivery(sessions)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DELIVERED, 2, 200)
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["townhall-delivery"] == row.uuid
    assert receiver.received[1].headers["townhall-delivery"] == row.uuid


def test_after_the_last_attempt_the_delivery_fails_then_replay_sends_it_again(
    sessions, settings, clock, receiver, sender
):
    _endpoint(sessions, settings, clock, receiver.url)
    receiver.script = [503] * MAX_ATTEMPTS
    _emit(sessions, clock)

    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        result = sender.run_once()
        outcomes.append((result.retried, result.failed))
        clock.now += timedelta(hours=8)  # past the longest wait
    assert outcomes == [(1, 0)] * (MAX_ATTEMPTS - 1) + [(0, 1)]
    row = _delivery(sessions)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.FAILED, 6, 503)
    assert row.next_attempt_at is None
    assert sender.run_once().sent == 0

    with transaction(sessions) as session:
        replayed = service.replay(session, row.uuid, actor="admin@acme.example", now=clock())
        assert (replayed.status, replayed.attempts) == (DeliveryStatus.PENDING, 0)
        with pytest.raises(ConflictError):
            service.replay(session, row.id, actor="admin@acme.example", now=clock())
    assert sender.run_once().delivered == 1
    row2 = _delivery(sessions)
    assert (row2.status, row2.attempts, row2.uuid) == (DeliveryStatus.DELIVERED, 1, row.uuid)
    with sessions() as session:
        audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "webhook.replayed"))
        assert audit is not None and audit.details["attempts"] == 6
    with transaction(sessions) as session, pytest.raises(ConflictError, match="only failed"):
        service.replay(session, row.id, actor="admin@acme.example", now=clock())


def test_the_backoff_schedule_grows_with_jitter():
    assert [backoff(n, 0.5) for n in range(1, MAX_ATTEMPTS)] == list(BACKOFF)
    assert backoff(1, 0.0) == timedelta(seconds=24)
    assert backoff(5, 0.999999) < timedelta(hours=7.2)
    assert BACKOFF[0] < BACKOFF[1] < BACKOFF[2] < BACKOFF[3] < BACKOFF[4]


def test_an_unreachable_endpoint_is_retried_with_the_reason(sessions, settings, clock, sender):
    _endpoint(sessions, settings, clock, f"http://127.0.0.1:{free_port()}/nobody")
    _emit(sessions, clock)

    assert sender.run_once().retried == 1
    row = _delivery(sessions)
    assert row.status == DeliveryStatus.PENDING
    assert row.last_status_code is None
    assert row.last_error.startswith("Cannot reach the endpoint")


def test_a_claimed_delivery_is_not_sent_by_a_second_sender(
    sessions, settings, clock, receiver, sender, monkeypatch
):
    _endpoint(sessions, settings, clock, receiver.url)
    _emit(sessions, clock)
    claimed = sender._claim(10)
    assert len(claimed) == 1

    other = WebhookSender(sessions, settings, clock)
    try:
        assert other.run_once().sent == 0  # leased by the first sender
        # The first sender died: once the lease runs out, the delivery is sent after all.
        clock.now += timedelta(seconds=delivery_module.TIMEOUT * 10) + timedelta(minutes=2)
        assert other.run_once().delivered == 1
    finally:
        other.close()
    # The dead sender's late outcome does not overwrite the settled row.
    sender._settle(claimed[0], 500, "HTTP 500", delivery_module.DeliveryPass())
    assert _delivery(sessions).status == DeliveryStatus.DELIVERED


def test_a_switched_off_endpoint_fails_its_pending_deliveries_unsent(
    sessions, settings, clock, receiver, sender
):
    endpoint_id, _ = _endpoint(sessions, settings, clock, receiver.url)
    _emit(sessions, clock)
    with transaction(sessions) as session:
        service.set_active(session, endpoint_id, False, actor="a", now=clock())

    assert sender.run_once().failed == 1
    assert receiver.received == []
    assert "switched off" in _delivery(sessions).last_error


def test_without_the_secrets_key_nothing_is_sent_unsigned(sessions, settings, clock, receiver):
    _endpoint(sessions, settings, clock, receiver.url)
    _emit(sessions, clock)
    keyless = WebhookSender(sessions, settings.model_copy(update={"secrets_key": None}), clock)
    try:
        assert keyless.run_once().retried == 1
    finally:
        keyless.close()
    assert receiver.received == []
    assert "TOWNHALL_SECRETS_KEY" in _delivery(sessions).last_error


def test_on_postgresql_a_row_locked_by_another_sender_is_skipped_not_waited_for(
    backend, sessions, settings, clock, receiver, sender
):
    if backend != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite serialises the claim")
    _endpoint(sessions, settings, clock, receiver.url)
    _emit(sessions, clock, {"room_id": 1})
    _emit(sessions, clock, {"room_id": 2})
    with sessions() as other, other.begin():
        # Another sender is in the middle of claiming the oldest row.
        locked = other.scalar(
            select(WebhookDelivery).order_by(WebhookDelivery.id).limit(1).with_for_update()
        )
        started = time.monotonic()
        result = sender.run_once()
        assert time.monotonic() - started < 5
        assert result.delivered == 1
        (got,) = receiver.received
        assert orjson.loads(got.body)["id"] != locked.uuid
