"""/healthz answers without login and counts posts and open items."""

from __future__ import annotations

from typing import Any

import httpx


def test_healthz_counts_posts_and_open_items(site: Any, client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "posts": 0, "items": 0}
    site.feed(
        site.post("Kettle broke"),
        site.post("Great blender", channel="forum"),
        site.post("", reshare_of="mastodon:1"),
    )
    assert client.get("/healthz").json() == {"status": "ok", "posts": 3, "items": 2}
