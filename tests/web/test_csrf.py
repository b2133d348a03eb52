"""Every POST needs the session's CSRF token, in the form or the X-CSRF-Token header."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.routing import APIRoute, iter_route_contexts

from townhall.web.csrf import require_csrf


def test_login_without_or_with_wrong_token_is_403(client: httpx.Client) -> None:
    client.get("/login")
    form = {"email": "sofia.rossi@acme.example", "password": "correct horse battery"}
    missing = client.post("/login", data=form)
    assert missing.status_code == 403
    assert "security token (CSRF)" in missing.text
    wrong = client.post("/login", data={**form, "csrf_token": "forged"})
    assert wrong.status_code == 403
    assert "does not match" in wrong.text


def test_login_without_a_session_is_403(client: httpx.Client) -> None:
    response = client.post(
        "/login", data={"email": "a@b.example", "password": "x", "csrf_token": "anything"}
    )
    assert response.status_code == 403
    assert "Reload the page" in response.text


def test_item_actions_need_the_token(site: Any, logged_in: httpx.Client) -> None:
    site.feed(site.post("Kettle leaks"))
    token = site.csrf_of(logged_in.get("/items/1").text)
    assert logged_in.post("/items/1/notes", data={"text": "hi"}).status_code == 403
    assert (
        logged_in.post("/items/1/notes", data={"text": "hi", "csrf_token": "x" * 43}).status_code
        == 403
    )
    assert (
        logged_in.post(
            "/items/1/status", data={"status": "done"}, headers={"X-CSRF-Token": "nope"}
        ).status_code
        == 403
    )
    assert (
        logged_in.post(
            "/items/1/notes", data={"text": "hi"}, headers={"X-CSRF-Token": token}
        ).status_code
        == 303
    )
    assert logged_in.post("/logout").status_code == 403


def test_non_ascii_token_is_rejected_not_crashing(site: Any, logged_in: httpx.Client) -> None:
    response = logged_in.post("/logout", data={"csrf_token": "é" * 10})
    assert response.status_code == 403


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # FastAPI keeps included routers nested
            found += _api_routes(route.original_router.routes)
    return found


def test_every_post_route_checks_csrf(site: Any) -> None:
    # Signed webhooks and the bearer-token API take no cookie, so there is nothing to forge.
    own_auth = [
        c.original_route
        for c in iter_route_contexts(site.app.routes)
        if str(c.path or "").startswith(("/hooks/", "/api/"))
    ]
    posts = [
        r
        for r in _api_routes(site.app.routes)
        if "POST" in r.methods and not any(r is o for o in own_auth)
    ]
    assert {r.path for r in posts} >= {"/login", "/logout", "/items/{item_id}/notes"}
    for route in posts:
        calls = {dep.call for dep in route.dependant.dependencies}
        assert require_csrf in calls, f"{route.path} does not check CSRF"
