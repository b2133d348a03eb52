"""The admin pages (endpoints, a delivery log, replay) and the incoming webhook route."""

from __future__ import annotations

import re
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from networks import policy_with
from townhall.db import transaction
from townhall.models import DeliveryStatus, Item, PostRecord, Role, WebhookDelivery
from townhall.org.accounts import upsert_user
from townhall.org.policy import load_policy
from townhall.org.source import PolicySource
from townhall.web.app import create_app
from townhall.webhooks import service
from townhall.webhooks.incoming import MAX_BODY_BYTES, MAX_OBJECTS
from townhall.webhooks.outgoing import emit
from townhall.webhooks.signing import hub_signature

PASSWORD = "a long passphrase nobody guesses 7"
ADMIN = "ada.admin@acme.example"
MEMBER = "dan.murphy@acme.example"
HOOK_SECRET = "helpdesk-shared-secret-" + "x1y2z3"
TOKEN_ENV = "TOWNHALL_TEST_HELPDESK_SECRET"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

HELPDESK = {
    "id": "helpdesk",
    "kind": "webhook",
    "account": "ACME helpdesk",
    "default_owner": "customer_service",
    "token_env": TOKEN_ENV,
    "mapping": {
        "id": "ticket.id",
        "text": "ticket.body",
        "created_at": "ticket.opened",
        "author.handle": "ticket.requester.login",
        "author.name": "ticket.requester.name",
        "author.followers": "ticket.requester.followers",
        "url": "ticket.link",
        "extra.priority": "ticket.priority",
    },
}


@pytest.fixture
def app(db, sessions, settings, clock, tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, HOOK_SECRET)
    folder = tmp_path / "policy"
    folder.mkdir()
    path = policy_with(folder, HELPDESK)
    with transaction(sessions) as session:
        for email, role, dept in (
            (ADMIN, Role.ADMIN, "marketing"),
            (MEMBER, Role.MEMBER, "customer_service"),
        ):
            upsert_user(
                session,
                email=email,
                name=email.split("@")[0].replace(".", " ").title(),
                department=dept,
                role=role,
                password=PASSWORD,
                now=clock(),
            )
    return create_app(settings, db, PolicySource(path, load_policy(path)), clock=clock)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as http:
        yield http


def _csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF field"
    return match.group(1)


def _login(client: TestClient, email: str) -> None:
    token = _csrf(client.get("/login").text)
    answer = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token, "next": "/inbox"}
    )
    assert answer.status_code == 303, answer.text


# -- admin pages ----------------------------------------------------------------------------
def test_only_admins_see_the_webhooks_pages(client):
    _login(client, MEMBER)

    assert client.get("/admin/webhooks").status_code == 403
    assert client.get("/admin/webhooks/1").status_code == 403


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(client, sessions):
    _login(client, ADMIN)
    page = client.get("/admin/webhooks")
    assert page.status_code == 200 and "No endpoint yet" in page.text

    added = client.post(
        "/admin/webhooks",
        data={
            "name": "Chat <script>alert(1)</script>",
            "url": "https://chat.example/hooks/townhall",
            "events": ["crisis.opened", "sla.breached"],
            "csrf_token": _csrf(page.text),
        },
    )

    assert added.status_code == 200
    assert added.headers["cache-control"] == "no-store"
    secret = re.search(r'id="secret">(whsec_[^<]+)<', added.text).group(1)
    assert "<script>alert(1)</script>" not in added.text
    assert "Chat &lt;script&gt;" in added.text
    again = client.get("/admin/webhooks")
    assert secret not in again.text
    assert "sla.breached, crisis.opened" in again.text
    with sessions() as session:
        (row,) = service.endpoints(session)
        assert row.endpoint.events == ["sla.breached", "crisis.opened"]
        assert secret not in row.endpoint.secret_sealed


def test_a_bad_address_or_no_event_is_explained_and_nothing_added(client, sessions):
    _login(client, ADMIN)
    token = _csrf(client.get("/admin/webhooks").text)

    bad_url = client.post(
        "/admin/webhooks",
        data={
            "name": "x",
            "url": "ftp://x.example",
            "events": ["post.failed"],
            "csrf_token": token,
        },
    )
    no_event = client.post(
        "/admin/webhooks", data={"name": "x", "url": "https://x.example/", "csrf_token": token}
    )
    no_csrf = client.post(
        "/admin/webhooks",
        data={"name": "x", "url": "https://x.example/", "events": ["post.failed"]},
    )

    assert bad_url.status_code == 422 and "url:" in bad_url.text
    assert no_event.status_code == 422 and "at least one event" in no_event.text
    assert no_csrf.status_code == 403
    with sessions() as session:
        assert service.endpoints(session) == []


def test_the_delivery_log_pages_newest_first_and_replays_a_failure(
    client, sessions, settings, clock
):
    with transaction(sessions) as session:
        endpoint = service.add_endpoint(
            session,
            settings,
            name="pager",
            url="https://pager.example/",
            events=["sla.breached"],
            actor=ADMIN,
            now=clock(),
        ).endpoint
        for n in range(55):
            emit(session, "sla.breached", {"item_id": n}, clock())
        session.flush()
        oldest = session.scalar(select(WebhookDelivery).order_by(WebhookDelivery.id))
        oldest.status, oldest.attempts = DeliveryStatus.FAILED, 6
        oldest.last_status_code, oldest.last_error = 500, "HTTP 500: <b>down</b>"
        oldest_id = oldest.id
    _login(client, ADMIN)

    first = client.get(f"/admin/webhooks/{endpoint.id}")
    second = client.get(f"/admin/webhooks/{endpoint.id}?page=2")

    ids = [int(i) for i in re.findall(r'id="delivery-(\d+)"', first.text)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    later = [int(i) for i in re.findall(r'id="delivery-(\d+)"', second.text)]
    assert len(later) == 5 and later[-1] == oldest_id
    assert "Replay" not in first.text
    assert "Replay" in second.text and "&lt;b&gt;down&lt;/b&gt;" in second.text
    assert "page 2 of 2" in second.text

    token = _csrf(second.text)
    assert client.post(f"/admin/webhooks/deliveries/{oldest_id}/replay").status_code == 403
    replayed = client.post(
        f"/admin/webhooks/deliveries/{oldest_id}/replay", data={"csrf_token": token}
    )
    assert replayed.status_code == 303
    assert replayed.headers["location"] == f"/admin/webhooks/{endpoint.id}?replayed={oldest_id}"
    with sessions() as session:
        row = session.get(WebhookDelivery, oldest_id)
        assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 0)
    twice = client.post(
        f"/admin/webhooks/deliveries/{oldest_id}/replay", data={"csrf_token": token}
    )
    assert twice.status_code == 409
    assert client.get("/admin/webhooks/999").status_code == 404


# -- incoming -------------------------------------------------------------------------------
def _ticket(n: int, body: str = "My ACME KettleOne leaks everywhere, can you help?", **more):
    ticket = {
        "id": f"T-{n}",
        "body": body,
        "opened": "2026-11-20T13:55:00Z",
        "requester": {"login": f"customer{n}", "name": f"Customer {n}", "followers": 40},
        "link": f"https://help.acme.example/t/{n}",
        "priority": "high",
    }
    ticket.update(more)
    return {"ticket": ticket}


def _push(client: TestClient, payload, *, secret: str = HOOK_SECRET, channel="helpdesk", sign=True):
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    headers = {"Content-Type": "application/json"}
    if sign:
        headers["X-Hub-Signature-256"] = hub_signature(secret, body)
    return client.post(f"/hooks/{channel}", content=body, headers=headers)


def test_a_signed_push_is_stored_and_routed(client, sessions):
    answer = _push(client, [_ticket(1), _ticket(2, "Where can I buy the AirFry 5 in Leeds?")])

    assert answer.status_code == 200, answer.text
    assert answer.json() | {"problems": None} == {
        "received": 2,
        "accepted": 2,
        "stored": 2,
        "duplicates": 0,
        "items": 2,
        "dead_letters": 0,
        "rejected": 0,
        "problems": None,
    }
    with sessions() as session:
        post = session.scalar(select(PostRecord).where(PostRecord.post_id == "helpdesk:T-1"))
        assert post is not None
        assert post.text.startswith("My ACME KettleOne leaks")
        assert (post.author_handle, post.author_name) == ("customer1", "Customer 1")
        assert post.url == "https://help.acme.example/t/1"
        assert post.extra == {"priority": "high"}
        assert post.intent is not None  # understood like any other post
        item = session.scalar(select(Item).where(Item.post_pk == post.id))
        assert item is not None and item.rule and item.why

    again = _push(client, [_ticket(1)])
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 1)


def test_a_bad_or_missing_signature_is_401_and_stores_nothing(client, sessions):
    assert _push(client, [_ticket(1)], secret="guessed").status_code == 401
    assert _push(client, [_ticket(1)], sign=False).status_code == 401
    with sessions() as session:
        assert session.scalars(select(PostRecord)).first() is None


def test_an_unknown_or_non_webhook_channel_is_404(client):
    assert _push(client, [_ticket(1)], channel="nowhere").status_code == 404
    assert _push(client, [_ticket(1)], channel="mastodon").status_code == 404


def test_a_partly_bad_batch_keeps_the_valid_objects_and_names_the_bad_ones(client, sessions):
    no_id = _ticket(2)
    del no_id["ticket"]["id"]
    answer = _push(
        client,
        [
            _ticket(1),
            no_id,
            _ticket(3, opened=1_700_000_000),
            "not an object",
            _ticket(5, opened="2099-01-01T00:00:00Z"),
        ],
    )

    assert answer.status_code == 207, answer.text
    data = answer.json()
    assert (data["received"], data["accepted"], data["stored"], data["rejected"]) == (5, 1, 1, 4)
    by_index = {p["index"]: p for p in data["problems"]}
    assert by_index[1]["field"] == "id" and by_index[1]["path"] == "ticket.id"
    assert by_index[2]["field"] == "created_at" and "ISO 8601" in by_index[2]["error"]
    assert by_index[3]["field"] == "object"
    assert by_index[4]["field"] == "created_at" and "in the future" in by_index[4]["error"]
    with sessions() as session:
        assert [p.post_id for p in session.scalars(select(PostRecord))] == ["helpdesk:T-1"]


def test_a_batch_with_nothing_valid_is_422_and_bad_bodies_are_refused(client):
    no_id = _ticket(1)
    del no_id["ticket"]["id"]
    assert _push(client, [no_id]).status_code == 422
    assert _push(client, b"{not json").status_code == 422
    assert _push(client, [_ticket(n) for n in range(MAX_OBJECTS + 1)]).status_code == 413
    huge = b'{"ticket": {"id": "1", "body": "' + b"a" * MAX_BODY_BYTES + b'"}}'
    assert _push(client, huge).status_code == 413


def test_a_single_object_is_taken_too(client):
    answer = _push(client, _ticket(9))
    assert answer.status_code == 200 and answer.json()["stored"] == 1


def test_no_secret_on_the_server_refuses_every_push(client, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV)
    assert _push(client, [_ticket(1)]).status_code == 503


def test_the_web_servers_background_loop_delivers(
    db, sessions, settings, clock, tmp_path, receiver
):
    import time

    path = policy_with(tmp_path, HELPDESK)
    busy = settings.model_copy(update={"queue_interval": 0.05})
    app = create_app(busy, db, PolicySource(path, load_policy(path)), clock=clock)
    with transaction(sessions) as session:
        service.add_endpoint(
            session,
            settings,
            name="r",
            url=receiver.url,
            events=["crisis.opened"],
            actor=ADMIN,
            now=clock(),
        )
        emit(session, "crisis.opened", {"room_id": 1}, clock())

    with TestClient(app, base_url="http://127.0.0.1"):
        deadline = time.monotonic() + 15
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)

    assert len(receiver.received) == 1
    with sessions() as session:
        assert session.scalar(select(WebhookDelivery.status)) == DeliveryStatus.DELIVERED
