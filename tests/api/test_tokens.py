"""Personal access tokens: hashed at rest, shown once, expiring, revocable, narrowing."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, text

from api.conftest import ALL_ACTIONS, DAN, GRACE, SOFIA, Mint, bearer, item_of
from townhall.db import session_factory, transaction
from townhall.errors import InputError
from townhall.models import ApiToken, AuditEvent, User
from townhall.web.api import tokens
from web.conftest import Site


def test_the_token_is_kept_only_as_its_hash(site: Site, client: httpx.Client, mint: Mint) -> None:
    secret = mint(SOFIA, ["view"])
    assert secret.startswith("thp_") and len(secret) >= 40
    with site.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM api_tokens")).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert row["prefix"] == secret[:8]
    assert all(secret not in str(value) for value in row.values())
    answer = client.get("/api/v1/token", headers=bearer(secret))
    assert answer.status_code == 200
    assert answer.json()["person"]["email"] == SOFIA
    assert answer.json()["prefix"] == secret[:8]


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer thp_nope", "Basic dXNlcjpwYXNz", "Bearer " + "thp_" + "x" * 300],
)
def test_no_valid_token_is_401_json(client: httpx.Client, header: str | None) -> None:
    headers = {"Accept": "text/html"} | ({"Authorization": header} if header else {})
    answer = client.get("/api/v1/items", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["detail"]


def test_an_expired_token_stops_working(site: Site, client: httpx.Client, mint: Mint) -> None:
    secret = mint(SOFIA, ["view"], days=1)
    assert client.get("/api/v1/token", headers=bearer(secret)).status_code == 200
    site.clock.advance(timedelta(days=1, seconds=1))
    assert client.get("/api/v1/token", headers=bearer(secret)).status_code == 401


def test_a_revoked_token_stops_working_at_once(
    site: Site, client: httpx.Client, mint: Mint
) -> None:
    secret = mint(SOFIA, ["view"])
    assert client.get("/api/v1/token", headers=bearer(secret)).status_code == 200
    with transaction(session_factory(site.engine)) as session:
        token = session.scalar(select(ApiToken))
        assert token is not None
        tokens.revoke_token(session, token.id, now=site.clock(), by=None, actor="test")
    assert client.get("/api/v1/token", headers=bearer(secret)).status_code == 401
    with session_factory(site.engine)() as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    assert "api_token.created" in actions and "api_token.revoked" in actions


def test_a_deactivated_person_s_token_stops_working(
    site: Site, client: httpx.Client, mint: Mint
) -> None:
    secret = mint(DAN, ["view"])
    with transaction(session_factory(site.engine)) as session:
        user = session.scalar(select(User).where(User.email == DAN))
        assert user is not None
        user.active = False
    assert client.get("/api/v1/token", headers=bearer(secret)).status_code == 401


def test_life_and_scopes_are_checked(site: Site) -> None:
    with transaction(session_factory(site.engine)) as session:
        user = session.scalar(select(User).where(User.email == SOFIA))
        assert user is not None
        for days, scopes in ((0, ["view"]), (367, ["view"]), (30, []), (30, ["fly"])):
            with pytest.raises(InputError):
                tokens.create_token(
                    session, user, name="x", scopes=scopes, days=days, now=site.clock(), by="t"
                )
        made = tokens.create_token(
            session, user, name="x", scopes=["view"], days=366, now=site.clock(), by="t"
        )
        assert made.row.expires_at - site.clock() == timedelta(days=366)


def test_scopes_narrow_what_the_person_may_do(site: Site, client: httpx.Client, mint: Mint) -> None:
    site.feed(site.post("Where is my order?"))  # a customer-service item
    item = item_of(site, "mastodon:1")
    reader = mint(DAN, ["view"])
    worker = mint(DAN, ["view", "assign"])
    body = {"assignee": "me"}
    refused = client.post(f"/api/v1/items/{item.id}/assign", json=body, headers=bearer(reader))
    assert refused.status_code == 403
    assert "assign" in refused.json()["detail"]
    done = client.post(f"/api/v1/items/{item.id}/assign", json=body, headers=bearer(worker))
    assert done.status_code == 200, done.text
    assert done.json()["assignee"]["email"] == DAN


def test_a_token_never_adds_to_the_person_s_role(
    site: Site, client: httpx.Client, mint: Mint
) -> None:
    # Dan is a customer-service member: however wide his token, HR's items are not his.
    site.feed(site.post("A journalist asks about the recall", channel="rss"))
    _make_hr(site, "rss:1")
    item = item_of(site, "rss:1")
    assert item.department == "hr"
    secret = mint(DAN, ALL_ACTIONS)
    headers = bearer(secret)
    assert client.get(f"/api/v1/items/{item.id}", headers=headers).status_code == 403
    for path, body in (
        ("assign", {"assignee": "me"}),
        ("status", {"status": "done"}),
        ("notes", {"text": "mine now"}),
    ):
        answer = client.post(f"/api/v1/items/{item.id}/{path}", json=body, headers=headers)
        assert answer.status_code == 403, (path, answer.text)
    listed = client.get("/api/v1/items", params={"status": "any"}, headers=headers).json()
    assert item.id not in [i["id"] for i in listed["items"]]
    # Grace works in PR: her token sees it.
    grace = mint(GRACE, ["view"])
    assert client.get(f"/api/v1/items/{item.id}", headers=bearer(grace)).status_code == 200


def test_the_tokens_page_shows_a_new_token_once(site: Site, logged_in: httpx.Client) -> None:
    page = logged_in.get("/account/tokens")
    assert page.status_code == 200
    csrf = site.csrf_of(page.text)
    made = logged_in.post(
        "/account/tokens",
        data={"csrf_token": csrf, "name": "Reporting", "days": "30", "scope": ["view", "note"]},
    )
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    start = made.text.index('id="token-secret">') + len('id="token-secret">')
    secret = made.text[start : made.text.index("<", start)]
    assert secret.startswith("thp_")
    again = logged_in.get("/account/tokens")
    assert secret not in again.text and secret[:8] in again.text
    assert logged_in.get("/api/v1/token", headers=bearer(secret)).json()["scopes"] == [
        "note",
        "view",
    ]
    with session_factory(site.engine)() as session:
        token = session.scalar(select(ApiToken))
        assert token is not None
    revoked = logged_in.post(
        f"/account/tokens/{token.id}/revoke", data={"csrf_token": site.csrf_of(again.text)}
    )
    assert revoked.status_code == 303
    assert logged_in.get("/api/v1/token", headers=bearer(secret)).status_code == 401


def test_the_tokens_page_needs_csrf(site: Site, logged_in: httpx.Client) -> None:
    answer = logged_in.post("/account/tokens", data={"name": "x", "scope": ["view"]})
    assert answer.status_code == 403
    with session_factory(site.engine)() as session:
        assert session.scalar(select(ApiToken)) is None


def test_someone_else_s_token_cannot_be_revoked_from_the_page(
    site: Site, logged_in: httpx.Client, mint: Mint
) -> None:
    mint(GRACE, ["view"])
    with session_factory(site.engine)() as session:
        token = session.scalar(select(ApiToken))
        assert token is not None
    page = logged_in.get("/account/tokens")
    answer = logged_in.post(
        f"/account/tokens/{token.id}/revoke", data={"csrf_token": site.csrf_of(page.text)}
    )
    assert answer.status_code == 404
    with session_factory(site.engine)() as session:
        assert session.get(ApiToken, token.id).revoked_at is None  # type: ignore[union-attr]


def _make_hr(site: Site, post_id: str) -> None:
    """Move the item of ``post_id`` to HR, whose items only HR (and PR, admins) may see."""
    from sqlalchemy import select, update

    from townhall.db import session_factory, transaction
    from townhall.models import Item, PostRecord

    with transaction(session_factory(site.engine)) as session:
        pk = session.scalar(select(PostRecord.id).where(PostRecord.post_id == post_id))
        session.execute(update(Item).where(Item.post_pk == pk).values(department="hr"))
