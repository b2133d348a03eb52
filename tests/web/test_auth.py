"""Login, logout, and what needs a login."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx

from townhall.config import Settings
from townhall.web.app import SESSION_COOKIE, create_app

PASSWORD = "correct horse battery"


def test_login_ok_lands_on_my_department(site: Any, client: httpx.Client) -> None:
    response = site.login(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/inbox"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    page = client.get("/inbox")
    assert page.status_code == 200
    assert "Sofia Rossi" in page.text
    assert '<span class="list-title">Customer service</span>' in page.text


def test_bad_password_and_unknown_user_are_refused(site: Any, client: httpx.Client) -> None:
    for email, password in [("sofia.rossi@acme.example", "wrong"), ("nobody@x.example", "x")]:
        response = site.login(client, email=email, password=password)
        assert response.status_code == 401
        assert "E-mail or password is wrong." in response.text
    assert client.get("/inbox").status_code == 303


def test_pages_redirect_to_login_and_htmx_gets_401(client: httpx.Client) -> None:
    response = client.get("/inbox?department=pr")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Finbox%3Fdepartment%3Dpr"
    assert client.get("/items/1").status_code == 303
    htmx = client.get("/inbox", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"] == "/login"
    assert client.get("/inbox/stream", headers={"Accept": "text/event-stream"}).status_code == 401
    assert client.get("/inbox/rows?before=5").status_code == 303


def test_login_redirects_only_to_local_paths(site: Any, client: httpx.Client) -> None:
    token = site.csrf_of(client.get("/login").text)
    form = {"email": "sofia.rossi@acme.example", "password": PASSWORD, "csrf_token": token}
    response = client.post("/login", data={**form, "next": "//evil.example/x"})
    assert response.headers["location"] == "/inbox"
    client.cookies.clear()
    token = site.csrf_of(client.get("/login").text)
    response = client.post("/login", data={**form, "csrf_token": token, "next": "/items/3"})
    assert response.headers["location"] == "/items/3"


def test_login_starts_a_new_session_and_token(site: Any, client: httpx.Client) -> None:
    before = site.csrf_of(client.get("/login").text)
    site.login(client)
    after = site.csrf_of(client.get("/inbox").text)
    assert before != after


def test_logout_ends_the_session(site: Any, logged_in: httpx.Client) -> None:
    token = site.csrf_of(logged_in.get("/inbox").text)
    response = logged_in.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert logged_in.get("/inbox").status_code == 303


def test_inactive_user_is_logged_out(site: Any, logged_in: httpx.Client) -> None:
    from sqlalchemy import update

    from townhall.db import session_factory, transaction
    from townhall.models import User

    with transaction(session_factory(site.engine)) as session:
        session.execute(update(User).values(active=False))
    assert logged_in.get("/inbox").status_code == 303


def test_secure_cookie_when_configured(site: Any, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        secret_key="test-secret-key-for-the-web-fixtures-0123456789",
        cookie_secure=True,
        trusted_hosts=["testserver"],
    )
    app = create_app(settings, site.engine, site.source)
    transport = httpx.ASGITransport(app=app)

    async def fetch() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
            return await http.get("/login")

    response = anyio.run(fetch)
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_anonymous_post_with_valid_token_goes_to_login(site: Any, client: httpx.Client) -> None:
    token = site.csrf_of(client.get("/login").text)
    response = client.post("/items/1/notes", data={"text": "x", "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Finbox"
    htmx = client.post(
        "/items/1/notes", data={"text": "x"}, headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert htmx.status_code == 401
