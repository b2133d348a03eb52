"""``/api/v1/audit``: the audit log for those who may read it, filtered and paged."""

from __future__ import annotations

import httpx

from api.conftest import ADMIN, DAN, Mint, bearer, item_of
from web.conftest import Site


def test_the_audit_log_is_for_the_audit_action(
    site: Site, client: httpx.Client, mint: Mint, admin: str
) -> None:
    site.feed(site.post("Hello?"), site.post("Anyone there?"))
    item = item_of(site, "mastodon:1")
    assert client.get("/api/v1/audit", headers=bearer(mint(DAN, ["audit"]))).status_code == 403
    no_scope = client.get("/api/v1/audit", headers=bearer(mint(ADMIN, ["view"])))
    assert no_scope.status_code == 403
    token = bearer(mint(ADMIN, ["audit", "view"]))
    every = client.get("/api/v1/audit", params={"limit": 100}, headers=token).json()["events"]
    ids = [e["id"] for e in every]
    assert ids == sorted(ids, reverse=True) and len(ids) >= 4
    pages, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/audit", params=params, headers=token).json()
        pages.extend(e["id"] for e in body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == ids
    about = client.get(
        "/api/v1/audit",
        params={"subject_type": "item", "subject_id": str(item.id)},
        headers=token,
    ).json()["events"]
    assert about and all(e["subject_id"] == str(item.id) for e in about)
    by_admin = client.get("/api/v1/audit", params={"actor": ADMIN}, headers=token).json()
    assert all(e["actor"] == ADMIN for e in by_admin["events"])
    later = client.get(
        "/api/v1/audit", params={"since": "2999-01-01T00:00:00Z"}, headers=token
    ).json()
    assert later["events"] == []
    naive = client.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"}, headers=token)
    assert naive.status_code == 422
