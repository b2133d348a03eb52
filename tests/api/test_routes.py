"""The API as a whole: every route declares its action, errors are JSON, the OpenAPI document
is served and published."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from api.conftest import SOFIA, Mint, bearer
from townhall.web.access import declared_actions
from townhall.web.api.auth import RateLimiter
from web.conftest import Site

DOCS = Path(__file__).resolve().parents[2] / "docs"

READS = {"/api/v1/conduct/check"}
"""POSTs that change nothing (a text to check is too long for a query string)."""

UNGUARDED = {("GET", "/api/v1/openapi.json")}
"""The API's routes anyone may call: the document (it describes, it tells nothing)."""


def _api_routes(site: Site) -> list[tuple[str, APIRoute]]:
    """(full path, route) of every API route of the app."""
    found = []
    for context in iter_route_contexts(site.app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and (context.path or "").startswith("/api/v1/"):
            found.append((str(context.path), route))
    return found


def test_every_api_route_declares_what_it_needs(site: Site) -> None:
    routes = _api_routes(site)
    assert len(routes) >= 17
    missing = [
        f"{method} {path}"
        for path, route in routes
        for method in route.methods
        if (method, path) not in UNGUARDED
        and path != "/api/v1/{rest:path}"
        and not declared_actions(route)
    ]
    assert missing == []


def test_every_write_takes_an_idempotency_key(site: Site) -> None:
    writes = [
        (p, r)
        for p, r in _api_routes(site)
        if "POST" in r.methods and r.include_in_schema and p not in READS
    ]
    assert len(writes) >= 8
    for path, route in writes:
        headers = {p.alias for p in route.dependant.header_params}
        stack = list(route.dependant.dependencies)
        while stack:
            dependency = stack.pop()
            headers |= {p.alias for p in dependency.header_params}
            stack.extend(dependency.dependencies)
        assert "Idempotency-Key" in headers, path


def test_the_published_document_is_the_served_one(client: httpx.Client) -> None:
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    document = served.json()
    assert document["info"]["title"] == "Townhall API" and document["info"]["version"] == "1"
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    published = json.loads((DOCS / "openapi.json").read_text())
    assert published == document, "run: python -m townhall.web.api.openapi > docs/openapi.json"


def test_docs_name_every_endpoint(client: httpx.Client) -> None:
    text = (DOCS / "api.md").read_text()
    document = client.get("/api/v1/openapi.json").json()
    for path, operations in document["paths"].items():
        for method in operations:
            assert f"{method.upper()} {path.removeprefix('/api/v1')}" in text, (method, path)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/nothing", 404),
        ("GET", "/api/v1/items/1/nothing", 404),
        ("DELETE", "/api/v1/items", 405),
        ("PUT", "/api/v1/items/1/notes", 405),
    ],
)
def test_what_is_not_there_answers_json(
    client: httpx.Client, mint: Mint, method: str, path: str, status: int
) -> None:
    answer = client.request(method, path, headers=bearer(mint(SOFIA)) | {"Accept": "text/html"})
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["detail"]


def test_errors_are_json_whatever_the_client_accepts(client: httpx.Client, mint: Mint) -> None:
    token = mint(SOFIA)
    html = {"Accept": "text/html"}
    for answer in (
        client.get("/api/v1/items/99", headers=bearer(token) | html),
        client.get("/api/v1/items", params={"limit": "x"}, headers=bearer(token) | html),
        client.post("/api/v1/items/1/notes", content=b"{not json", headers=bearer(token) | html),
        client.get("/api/v1/audit", headers=bearer(token) | html),
    ):
        assert answer.headers["content-type"].startswith("application/json"), answer.text
        assert set(answer.json()) == {"detail", "errors"}
        assert answer.status_code in (403, 404, 422)


def test_too_many_requests_is_429_with_retry_after(
    site: Site, client: httpx.Client, mint: Mint
) -> None:
    site.app.state.api_limiter = RateLimiter(limit=3)
    token = mint(SOFIA)
    answers = [client.get("/api/v1/token", headers=bearer(token)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["retry-after"]) >= 1
    other = mint(SOFIA)
    assert client.get("/api/v1/token", headers=bearer(other)).status_code == 200


def test_nul_characters_are_refused_everywhere(
    client: httpx.Client, mint: Mint, admin: str
) -> None:
    # PostgreSQL text cannot hold NUL: a query or body carrying one is a 422, never a 500.
    token = bearer(mint(admin, ["view", "audit"]))
    for answer in (
        client.get("/api/v1/items", params={"q": "a\x00b"}, headers=token),
        client.get("/api/v1/audit", params={"subject_id": "\x00"}, headers=token),
        client.post(
            "/api/v1/conduct/check", json={"text": "hi\x00", "channel": "mastodon"}, headers=token
        ),
    ):
        assert answer.status_code == 422, answer.text
