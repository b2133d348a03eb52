"""The item page: post, thread, routing, assignment, status, notes and history."""

from __future__ import annotations

from typing import Any

import httpx


def test_item_page_shows_post_thread_and_routing(site: Any, logged_in: httpx.Client) -> None:
    site.feed(
        site.post(
            "Is anyone else's AirFry 5 smoking?",
            group="ACME owners club",
            url="https://forum.example/t/1",
            media=[{"alt": "Burnt basket photo"}],
        ),
        site.post("Mine too!", reply_to="mastodon:1"),
        site.post("", reshare_of="mastodon:1"),
    )
    html = logged_in.get("/items/1").text
    assert "Is anyone else&#39;s AirFry 5 smoking?" in html
    assert "ACME owners club" in html and "Leeds, UK" in html and "Burnt basket photo" in html
    assert 'href="https://forum.example/t/1" rel="noopener noreferrer nofollow"' in html
    assert "Mine too!" in html and "1 reshare ·" in html
    assert "channel_default" in html and "Customer service" in html
    assert "item.routed" in html
    reply = logged_in.get("/items/2").text
    assert "In reply to" in reply and "Is anyone else" in reply


def test_assign_status_and_notes_are_recorded(site: Any, logged_in: httpx.Client) -> None:
    site.feed(site.post("Kettle leaks"))
    token = site.csrf_of(logged_in.get("/items/1").text)

    def post(path: str, **data: str) -> httpx.Response:
        return logged_in.post(f"/items/1/{path}", data={**data, "csrf_token": token})

    assert post("assign", assignee="me").status_code == 303
    assert post("status", status="in_progress").headers["location"] == "/items/1"
    assert post("notes", text="Replacement <b>sent</b>").headers["location"] == "/items/1#notes"
    assert post("status", status="done").status_code == 303
    html = logged_in.get("/items/1").text
    assert '<dd id="assignee">Sofia Rossi</dd>' in html
    assert "Replacement &lt;b&gt;sent&lt;/b&gt;" in html
    for why in [
        "Sofia Rossi took the item",
        "moved the item to in progress",
        "Sofia Rossi added a note",
        "moved the item to done",
    ]:
        assert why in html
    # The history credits her by name, not by e-mail address.
    assert html.count('<span class="history-actor">Sofia Rossi</span>') >= 4
    assert "sofia.rossi@acme.example" not in html
    assert ">Reopen<" in html


def test_assign_to_a_colleague_lists_department_first(site: Any, client: httpx.Client) -> None:
    site.feed(site.post("Press question", channel="rss"))
    assert site.login(client, "grace.lindqvist@acme.example").status_code == 303
    html = client.get("/items/1").text
    assert html.index("Grace Lindqvist") < html.index("Dan Murphy")  # pr item: pr people first
    token = site.csrf_of(html)
    response = client.post("/items/1/assign", data={"assignee": "2", "csrf_token": token})
    assert response.status_code == 303
    assert '<dd id="assignee">Dan Murphy</dd>' in client.get("/items/1").text


def test_expected_errors_are_friendly_not_500(site: Any, logged_in: httpx.Client) -> None:
    site.feed(site.post("Kettle leaks"))
    token = site.csrf_of(logged_in.get("/items/1").text)
    missing = logged_in.get("/items/99")
    assert missing.status_code == 404 and "There is no item #99." in missing.text
    invalid = logged_in.post("/items/1/status", data={"status": "new", "csrf_token": token})
    assert invalid.status_code == 409 and "cannot move to new" in invalid.text
    unknown = logged_in.post("/items/1/status", data={"status": "gone", "csrf_token": token})
    assert unknown.status_code == 422
    empty = logged_in.post("/items/1/notes", data={"text": "  ", "csrf_token": token})
    assert empty.status_code == 422 and "cannot be empty" in empty.text
    nobody = logged_in.post("/items/1/assign", data={"assignee": "77", "csrf_token": token})
    assert nobody.status_code == 404
    bad_id = logged_in.get("/items/abc")
    assert bad_id.status_code == 422 and "Please check your input" in bad_id.text
    # the failed requests rolled back: no audit row beyond the routing decision
    assert logged_in.get("/items/1").text.count("<li>\n          <time") == 1
