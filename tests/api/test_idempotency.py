"""``Idempotency-Key``: a repeated write gets the first answer and does nothing again."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select

from api.conftest import DAN, Mint, bearer, item_of
from townhall.db import session_factory
from townhall.models import ApiIdempotency, AuditEvent, Note
from web.conftest import Site


def _notes(site: Site) -> int:
    with session_factory(site.engine)() as session:
        return int(session.scalar(select(func.count(Note.id))) or 0)


def _setup(site: Site, mint: Mint) -> tuple[int, dict[str, str]]:
    site.feed(site.post("Is the shop open on Sunday?"))
    item = item_of(site, "mastodon:1")
    return item.id, bearer(mint(DAN, ["view", "note", "assign"]))


def test_a_repeated_key_returns_the_first_answer(
    site: Site, client: httpx.Client, mint: Mint
) -> None:
    item_id, headers = _setup(site, mint)
    keyed = headers | {"Idempotency-Key": "note-1"}
    first = client.post(f"/api/v1/items/{item_id}/notes", json={"text": "Yes"}, headers=keyed)
    second = client.post(f"/api/v1/items/{item_id}/notes", json={"text": "Yes"}, headers=keyed)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert _notes(site) == 1
    with session_factory(site.engine)() as session:
        writes = session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "api.write")
        )
    assert writes == 1


def test_without_a_key_each_write_happens(site: Site, client: httpx.Client, mint: Mint) -> None:
    item_id, headers = _setup(site, mint)
    for _ in range(2):
        client.post(f"/api/v1/items/{item_id}/notes", json={"text": "Yes"}, headers=headers)
    assert _notes(site) == 2


def test_a_key_used_for_another_request_is_refused(
    site: Site, client: httpx.Client, mint: Mint
) -> None:
    item_id, headers = _setup(site, mint)
    keyed = headers | {"Idempotency-Key": "k"}
    client.post(f"/api/v1/items/{item_id}/notes", json={"text": "Yes"}, headers=keyed)
    other = client.post(f"/api/v1/items/{item_id}/notes", json={"text": "No"}, headers=keyed)
    assert other.status_code == 422
    assert "another request" in other.json()["detail"]
    assert _notes(site) == 1


def test_keys_belong_to_a_token_and_last_a_day(
    site: Site, client: httpx.Client, mint: Mint
) -> None:
    item_id, headers = _setup(site, mint)
    other = bearer(mint(DAN, ["view", "note"]))
    for auth in (headers, other):
        client.post(
            f"/api/v1/items/{item_id}/notes",
            json={"text": "Yes"},
            headers=auth | {"Idempotency-Key": "same"},
        )
    assert _notes(site) == 2
    site.clock.advance(timedelta(hours=24, seconds=1))
    client.post(
        f"/api/v1/items/{item_id}/notes",
        json={"text": "Yes"},
        headers=headers | {"Idempotency-Key": "same"},
    )
    assert _notes(site) == 3


def test_a_failed_write_keeps_nothing_and_may_be_retried(
    site: Site, client: httpx.Client, mint: Mint
) -> None:
    item_id, headers = _setup(site, mint)
    keyed = headers | {"Idempotency-Key": "assign-1"}
    body = {"assignee": 424242}
    assert (
        client.post(f"/api/v1/items/{item_id}/assign", json=body, headers=keyed).status_code == 404
    )
    with session_factory(site.engine)() as session:
        assert session.scalar(select(func.count(ApiIdempotency.id))) == 0
    # Nothing was kept under the key: the corrected request may use it.
    again = client.post(f"/api/v1/items/{item_id}/assign", json={"assignee": "me"}, headers=keyed)
    assert again.status_code == 200
    replay = client.post(f"/api/v1/items/{item_id}/assign", json={"assignee": "me"}, headers=keyed)
    assert replay.status_code == 200 and replay.json() == again.json()


def test_an_invalid_body_keeps_no_key(site: Site, client: httpx.Client, mint: Mint) -> None:
    item_id, headers = _setup(site, mint)
    keyed = headers | {"Idempotency-Key": "bad-body"}
    bad = client.post(f"/api/v1/items/{item_id}/notes", json={"txt": "x"}, headers=keyed)
    assert bad.status_code == 422
    with session_factory(site.engine)() as session:
        assert session.scalar(select(func.count(ApiIdempotency.id))) == 0


def test_a_key_over_200_characters_is_refused(site: Site, client: httpx.Client, mint: Mint) -> None:
    item_id, headers = _setup(site, mint)
    answer = client.post(
        f"/api/v1/items/{item_id}/notes",
        json={"text": "Yes"},
        headers=headers | {"Idempotency-Key": "k" * 201},
    )
    assert answer.status_code == 422
    assert _notes(site) == 0
