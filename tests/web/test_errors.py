"""Error pages: 404, 403, 422 and 500 are pages in the app's style with a way back; a 500
shows a request id that is also in the log."""

from __future__ import annotations

import html
import logging
import re
from typing import Any

import httpx
import pytest


def page_of(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("text/html"), response.text[:200]
    return html.unescape(response.text)


def test_an_unknown_address_is_a_not_found_page(site: Any, logged_in: httpx.Client) -> None:
    response = logged_in.get("/no/such/page<b>", headers={"referer": f"{logged_in.base_url}/teams"})
    assert response.status_code == 404
    text = page_of(response)
    assert "<title>Not found · Townhall</title>" in text
    assert "There is no page at /no/such/page<b>." in text
    assert "&lt;b&gt;" in response.text  # the address is quoted back escaped
    assert 'href="/teams" class="btn btn-primary" id="error-back"' in text
    assert 'href="/inbox" class="btn">Go to the inbox' in text
    assert 'class="topnav"' in text  # the app's own page, with its navigation
    api = logged_in.get("/no/such/page", headers={"accept": "application/json"})
    assert api.status_code == 404 and api.json() == {"detail": "There is no page at /no/such/page."}


def test_a_way_back_only_to_our_own_pages(site: Any, logged_in: httpx.Client) -> None:
    for referer in ("https://evil.example/inbox", "//evil.example/x", "javascript:alert(1)"):
        text = page_of(logged_in.get("/items/999", headers={"referer": referer}))
        assert "There is no item #999." in text and 'id="error-back"' not in text


def test_a_bad_id_in_the_address_is_named_not_echoed_as_jargon(
    site: Any, logged_in: httpx.Client
) -> None:
    for path, noun in (("/items/abc", "an item number"), ("/crises/x1", "a crisis room number")):
        response = logged_in.get(path)
        assert response.status_code == 422
        text = page_of(response)
        assert "Please check your input" in text
        value = path.rsplit("/", 1)[1]
        assert f"“{value}” in the address is not {noun} (" in text
        assert "must be a whole number" in text and "could not be accepted" not in text


def test_a_forbidden_action_is_a_page_with_a_way_back(site: Any, logged_in: httpx.Client) -> None:
    site.feed(site.post("My AirFry 5 basket melted", channel="bluesky"))
    token = site.csrf_of(logged_in.get("/items/1").text)
    assert logged_in.post("/items/1/crisis", data={"csrf_token": token}).status_code == 303
    denied = logged_in.post(
        "/crises/1/status",
        data={"csrf_token": token, "status": "active"},
        headers={"referer": f"{logged_in.base_url}/crises/1"},
    )
    assert denied.status_code == 403
    text = page_of(denied)
    assert "<title>Not allowed · Townhall</title>" in text and "Not allowed" in text
    assert 'href="/crises/1" class="btn btn-primary" id="error-back"' in text


def test_an_unexpected_error_shows_a_request_id_that_is_logged(
    site: Any,
    logged_in: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("townhall.cases.repository.logins", broken)
    with caplog.at_level(logging.ERROR, logger="townhall.web.app"):
        response = logged_in.get("/teams")
    assert response.status_code == 500
    text = page_of(response)
    match = re.search(r'<code id="request-id">([0-9a-f]{12})</code>', text)
    assert match, text[:2000]
    request_id = match.group(1)
    assert response.headers["x-request-id"] == request_id
    assert "secret internals" not in text and "Go to the inbox" in text
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert len(logged) == 1 and "GET /teams" in logged[0].getMessage()
    assert logged[0].exc_info is not None and "secret internals" in str(logged[0].exc_info[1])
