"""/healthz answers anyone with nothing but "ok"; /readyz counts posts and open items for an
operator (the token) and nobody else."""

from __future__ import annotations

import secrets
from typing import Any

import httpx


def test_healthz_says_only_ok(site: Any, client: httpx.Client) -> None:
    site.feed(site.post("Kettle broke"))
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_counts_posts_and_open_items_for_the_operator(
    site: Any, client: httpx.Client
) -> None:
    token = secrets.token_urlsafe(32)
    web = site.app.state.web
    web.settings = web.settings.model_copy(update={"operator_token": token})
    operator = {"Authorization": f"Bearer {token}"}
    assert client.get("/readyz").status_code == 401
    assert client.get("/readyz", headers=operator).json()["posts"] == 0
    site.feed(
        site.post("Kettle broke"),
        site.post("Great blender", channel="forum"),
        site.post("", reshare_of="mastodon:1"),
    )
    body = client.get("/readyz", headers=operator).json()
    assert (body["status"], body["posts"], body["items"]) == ("ok", 3, 2)
