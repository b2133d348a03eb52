"""``emit``: deliveries are written in the transaction of the change, for subscribed active
endpoints only, and cost no query when nobody listens."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from townhall.db import transaction
from townhall.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from townhall.pipeline.runner import Pipeline
from townhall.webhooks import outgoing, service
from townhall.webhooks.outgoing import emit


def _count(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(WebhookDelivery))


@pytest.fixture
def endpoint(sessions, settings, now):
    with transaction(sessions) as session:
        created = service.add_endpoint(
            session,
            settings,
            name="chat",
            url="https://chat.example/hook",
            events=["item.routed", "crisis.opened"],
            actor="admin@acme.example",
            now=now,
        )
        return created.endpoint.id


def test_emit_adds_one_pending_delivery_per_subscribed_endpoint(sessions, settings, endpoint, now):
    with transaction(sessions) as session:
        other = service.add_endpoint(
            session,
            settings,
            name="pager",
            url="https://pager.example/",
            events=["sla.breached"],
            actor="a",
            now=now,
        )
        added = emit(session, "item.routed", {"item_id": 5, "link": "/items/5"}, now)
        assert emit(session, "crisis.changed", {"room_id": 1}, now) == 0  # nobody listens

    assert added == 1
    with sessions() as session:
        (delivery,) = session.scalars(select(WebhookDelivery))
        assert delivery.endpoint_id == endpoint != other.endpoint.id
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.attempts == 0
        assert delivery.next_attempt_at == now
        assert delivery.payload == {
            "id": delivery.uuid,
            "event": "item.routed",
            "created_at": "2026-11-20T14:00:00Z",
            "data": {"item_id": 5, "link": "/items/5"},
        }


def test_a_rolled_back_change_leaves_no_delivery(sessions, endpoint, now):
    with sessions() as session:
        session.begin()
        assert emit(session, "item.routed", {"item_id": 1}, now) == 1
        session.rollback()

    assert _count(sessions) == 0


def test_a_switched_off_endpoint_gets_nothing(sessions, endpoint, now):
    with transaction(sessions) as session:
        service.set_active(session, endpoint, False, actor="a", now=now)
    with transaction(sessions) as session:
        assert emit(session, "item.routed", {"item_id": 1}, now) == 0

    assert _count(sessions) == 0


def test_unknown_events_are_a_programming_error(sessions, now):
    with sessions() as session, pytest.raises(ValueError, match="unknown webhook event"):
        emit(session, "item.exploded", {}, now)


def test_without_endpoints_emit_runs_no_query_once_the_hint_is_loaded(db, sessions, now):
    outgoing.invalidate()
    statements: list[str] = []

    def seen(conn, cursor, statement, *rest):
        statements.append(statement)

    with transaction(sessions) as session:
        emit(session, "item.routed", {"item_id": 0}, now)  # loads the hint: one query
        event.listen(db, "before_cursor_execute", seen)
        try:
            for n in range(100):
                emit(session, "item.routed", {"item_id": n}, now)
        finally:
            event.remove(db, "before_cursor_execute", seen)
        emit(session, "item.routed", {"item_id": -1}, now)
    assert statements == []
    assert _count(sessions) == 0


def test_an_endpoint_added_elsewhere_is_seen_once_the_hint_expires(sessions, now, monkeypatch):
    outgoing.invalidate()
    with transaction(sessions) as session:
        assert emit(session, "item.routed", {"item_id": 1}, now) == 0
        # Another process adds an endpoint: this process's hint does not know yet.
        session.add(
            WebhookEndpoint(
                name="elsewhere",
                url="https://x.example/",
                events=["item.routed"],
                secret_sealed="-",
                active=True,
                created_at=now,
                created_by="other process",
            )
        )
        session.flush()
        assert emit(session, "item.routed", {"item_id": 2}, now) == 0
        later = outgoing.time.monotonic() + outgoing.HINT_SECONDS + 1
        monkeypatch.setattr(outgoing.time, "monotonic", lambda: later)
        assert emit(session, "item.routed", {"item_id": 3}, now) == 1


def test_the_pipeline_emits_item_routed_with_links_and_a_short_excerpt(
    sessions, endpoint, now, make_post, acme_policy
):
    long_text = "My ACME KettleOne leaks <script>alert(1)</script> " + "drip " * 200
    result = Pipeline(sessions, acme_policy).process_batch(
        [make_post(1, text=long_text), make_post(2, reshare_of="mastodon:100001", text="")], now
    )

    assert result.items == 1  # the plain reshare opens no item, so it sends nothing
    with sessions() as session:
        (delivery,) = session.scalars(select(WebhookDelivery))
    data = delivery.payload["data"]
    assert delivery.event == "item.routed"
    assert data["link"] == f"/items/{data['item_id']}"
    assert data["department"] == "customer_service"
    assert data["post"]["id"] == "mastodon:100001"
    assert data["post"]["author"] == "@user1@example.social"
    assert len(data["post"]["excerpt"]) == 200
    assert data["post"]["excerpt"].endswith("…")
    assert "text" not in data["post"]
