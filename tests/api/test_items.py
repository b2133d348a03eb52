"""``/api/v1/items``: the inbox's filters, cursor pagination, and the item actions."""

from __future__ import annotations

import httpx
import pytest

from api.conftest import DAN, SOFIA, Mint, bearer, item_of
from web.conftest import Site


def _ids(client: httpx.Client, token: str, **params: object) -> list[list[int]]:
    """Every page of the listing, following ``next_cursor``."""
    pages: list[list[int]] = []
    cursor = None
    while True:
        query = dict(params) | ({"cursor": cursor} if cursor else {})
        answer = client.get("/api/v1/items", params=query, headers=bearer(token))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50


@pytest.mark.parametrize("sort", ["newest", "oldest", "triage", "due"])
def test_pages_cover_every_item_once(
    site: Site, client: httpx.Client, mint: Mint, sort: str
) -> None:
    site.feed(*(site.post(f"Question number {n}?") for n in range(7)))
    token = mint(SOFIA, ["view"])
    pages = _ids(client, token, limit=3, sort=sort)
    assert [len(page) for page in pages] == [3, 3, 1]
    flat = [i for page in pages for i in page]
    assert len(set(flat)) == 7
    if sort == "newest":
        assert flat == sorted(flat, reverse=True)
    if sort == "oldest":
        assert flat == sorted(flat)


def test_filters_narrow_the_list(site: Site, client: httpx.Client, mint: Mint) -> None:
    site.feed(site.post("My blender broke"), site.post("Love the kettle", channel="bluesky"))
    token = mint(SOFIA, ["view"])
    by_channel = _ids(client, token, channel="bluesky")
    assert len(by_channel[0]) == 1
    by_text = client.get("/api/v1/items", params={"q": "BLENDER"}, headers=bearer(token))
    assert [i["post"]["text"] for i in by_text.json()["items"]] == ["My blender broke"]
    nobody = client.get("/api/v1/items", params={"owner": "none"}, headers=bearer(token))
    assert len(nobody.json()["items"]) == 2


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"sort": "sideways"},
        {"status": "maybe"},
        {"limit": "0"},
        {"limit": "101"},
        {"owner": "someone"},
    ],
)
def test_bad_list_parameters_are_422_naming_the_field(
    site: Site, client: httpx.Client, mint: Mint, params: dict[str, str]
) -> None:
    answer = client.get("/api/v1/items", params=params, headers=bearer(mint(SOFIA)))
    assert answer.status_code == 422
    body = answer.json()
    assert next(iter(params)) in body["detail"] or any(
        next(iter(params)) in e["field"] for e in body["errors"]
    )


def test_a_cursor_of_another_sort_is_refused(site: Site, client: httpx.Client, mint: Mint) -> None:
    site.feed(*(site.post(f"Question {n}?") for n in range(3)))
    token = mint(SOFIA)
    first = client.get("/api/v1/items", params={"limit": 1}, headers=bearer(token)).json()
    other = client.get(
        "/api/v1/items",
        params={"limit": 1, "sort": "newest", "cursor": first["next_cursor"]},
        headers=bearer(token),
    )
    assert other.status_code == 422


def test_read_assign_status_and_note(site: Site, client: httpx.Client, mint: Mint) -> None:
    site.feed(site.post("Where is my parcel?"))
    item = item_of(site, "mastodon:1")
    token = mint(DAN, ["view", "assign", "status", "note"])
    headers = bearer(token)
    one = client.get(f"/api/v1/items/{item.id}", headers=headers)
    assert one.status_code == 200
    assert one.json()["post"]["text"] == "Where is my parcel?"
    assert one.json()["department"] == "customer_service"
    assigned = client.post(
        f"/api/v1/items/{item.id}/assign", json={"assignee": "me"}, headers=headers
    )
    assert assigned.json()["assignee"]["email"] == DAN
    again = client.post(f"/api/v1/items/{item.id}/assign", json={"assignee": "me"}, headers=headers)
    assert again.status_code == 409
    moved = client.post(
        f"/api/v1/items/{item.id}/status", json={"status": "in_progress"}, headers=headers
    )
    assert moved.status_code == 200 and moved.json()["status"] == "in_progress"
    noted = client.post(
        f"/api/v1/items/{item.id}/notes", json={"text": "Called them back"}, headers=headers
    )
    assert noted.status_code == 201
    assert noted.json()["author"]["email"] == DAN
    notes = client.get(f"/api/v1/items/{item.id}", headers=headers).json()["notes"]
    assert [n["text"] for n in notes] == ["Called them back"]
    audit = client.get(f"/api/v1/items/{item.id}", headers=headers)
    assert audit.status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("assign", {"assignee": 999999}),
        ("assign", {"assignee": "you"}),
        ("status", {"status": "closed"}),
        ("notes", {"text": ""}),
        ("notes", {"text": "ok", "extra": 1}),
        ("notes", {"text": "nul \x00 here"}),
    ],
)
def test_bad_writes_are_json_errors(
    site: Site, client: httpx.Client, mint: Mint, path: str, body: dict[str, object]
) -> None:
    site.feed(site.post("Hello?"))
    item = item_of(site, "mastodon:1")
    token = mint(DAN, ["view", "assign", "status", "note"])
    answer = client.post(f"/api/v1/items/{item.id}/{path}", json=body, headers=bearer(token))
    assert answer.status_code in (404, 422), answer.text
    assert answer.json()["detail"]


def test_an_unknown_item_is_404_and_a_bad_id_422(client: httpx.Client, mint: Mint) -> None:
    token = mint(SOFIA)
    assert client.get("/api/v1/items/12345", headers=bearer(token)).status_code == 404
    bad = client.get("/api/v1/items/abc", headers=bearer(token) | {"Accept": "text/html"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"].endswith("item_id")
