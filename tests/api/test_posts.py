"""``/api/v1/posts``: push posts in through ingest's checks and pipeline; read one back."""

from __future__ import annotations

from typing import Any

import httpx

from api.conftest import ADMIN, DAN, Mint, bearer
from web.conftest import Site


def _post(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"forum:{n}",
        "channel": "forum",
        "created_at": "2026-11-20T13:00:00Z",
        "text": f"Does the AirFry {n} come in blue?",
        "author": {"handle": f"@ann{n}", "followers": 10},
        **fields,
    }


def test_valid_posts_are_stored_and_bad_ones_named(
    site: Site, client: httpx.Client, mint: Mint, admin: str
) -> None:
    token = mint(ADMIN, ["channels", "view"])
    batch = [_post(1), _post(2, created_at="2026-11-20T13:00:00"), _post(3), "not an object"]
    refused = client.post("/api/v1/posts", json={"posts": batch}, headers=bearer(token))
    assert refused.status_code == 422  # a list item that is not an object: the whole request
    batch = [_post(1), _post(2, created_at="2026-11-20T13:00:00"), _post(3), {"id": "x"}]
    answer = client.post("/api/v1/posts", json={"posts": batch}, headers=bearer(token))
    assert answer.status_code == 207, answer.text
    body = answer.json()
    assert (body["received"], body["accepted"], body["stored"], body["rejected"]) == (4, 2, 2, 2)
    assert (body["errors"][0]["index"], body["errors"][0]["field"]) == (1, "created_at")
    assert body["errors"][1]["index"] == 3
    again = client.post("/api/v1/posts", json={"posts": [_post(1)]}, headers=bearer(token))
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 1)
    read = client.get("/api/v1/posts/forum:3", headers=bearer(token))
    assert read.status_code == 200
    assert read.json()["text"] == "Does the AirFry 3 come in blue?"
    assert read.json()["item_id"] is not None


def test_nothing_valid_is_422_with_every_problem(
    client: httpx.Client, mint: Mint, admin: str
) -> None:
    token = mint(ADMIN, ["channels"])
    answer = client.post(
        "/api/v1/posts",
        json={"posts": [_post(1, created_at="1970-01-01T00:00:00Z"), _post(2, text=5)]},
        headers=bearer(token),
    )
    assert answer.status_code == 422
    assert [e["index"] for e in answer.json()["errors"]] == [0, 1]


def test_pushing_posts_needs_the_channels_action(client: httpx.Client, mint: Mint) -> None:
    # Dan may not manage channels, whatever his token says.
    answer = client.post(
        "/api/v1/posts", json={"posts": [_post(1)]}, headers=bearer(mint(DAN, ["channels"]))
    )
    assert answer.status_code == 403


def test_a_post_nobody_may_see_is_404(site: Site, client: httpx.Client, mint: Mint) -> None:
    site.feed(site.post("A journalist asks", channel="rss"))
    _make_hr(site, "rss:1")
    token = mint(DAN, ["view"])
    assert client.get("/api/v1/posts/rss:1", headers=bearer(token)).status_code == 404
    assert client.get("/api/v1/posts/rss:2", headers=bearer(token)).status_code == 404


def _make_hr(site: Site, post_id: str) -> None:
    """Move the item of ``post_id`` to HR, whose items only HR (and PR, admins) may see."""
    from sqlalchemy import select, update

    from townhall.db import session_factory, transaction
    from townhall.models import Item, PostRecord

    with transaction(session_factory(site.engine)) as session:
        pk = session.scalar(select(PostRecord.id).where(PostRecord.post_id == post_id))
        session.execute(update(Item).where(Item.post_pk == pk).values(department="hr"))
