"""Crisis rooms in the web app: opening one by hand, the checklist, held replies, resolving."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

XSS = "<script>alert(1)</script>"


def form(client: httpx.Client, site: Any, page: str, path: str, **data: str) -> httpx.Response:
    token = site.csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token})


def test_open_a_room_by_hand_and_work_the_checklist(site: Any, logged_in: httpx.Client) -> None:
    site.feed(
        site.post(f"My AirFry 5 basket melted {XSS}", channel="bluesky"),
        site.post("Same here!", reply_to="bluesky:1"),
    )
    response = form(logged_in, site, "/items/2", "/items/2/crisis")
    assert response.status_code == 303 and response.headers["location"] == "/crises/1"

    html = logged_in.get("/crises/1").text
    assert "Public relations leads" in html
    assert "Is there any truth to the story? Is it an isolated case?" in html
    assert "Has anyone contacted the person?" in html
    assert "Timeline (2 posts across 2 channels)" in html
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert ">1</span>" in logged_in.get("/crises/badge").text
    assert 'In <a href="/crises/1">crisis room #1</a>' in logged_in.get("/items/1").text

    contacted = html.split('id="question-contacted"')[1].split("</li>")[0]
    entry = contacted.split('action="/crises/1/answers/')[1].split('"')[0]
    # Sofia answers customer service's questions only: PR's have no form for her.
    statement = html.split('id="question-statement"')[1].split("</li>")[0]
    assert "/answers/" not in statement
    answer = form(
        logged_in,
        site,
        "/crises/1",
        f"/crises/1/answers/{entry}",
        answer="Dan phoned the author at 10:05",
    )
    assert answer.status_code == 303
    assert "Dan phoned the author at 10:05" in logged_in.get("/crises/1").text
    # Sofia (customer service) cannot move the room on: PR leads it.
    denied = form(logged_in, site, "/crises/1", "/crises/1/status", status="active")
    assert denied.status_code == 403
    assert "You may not move on the crisis rooms of Public relations." in denied.text


def test_a_public_reply_is_held_until_pr_approves_after_the_cool_down(
    site: Any, client: httpx.Client
) -> None:
    site.feed(site.post("My AirFry 5 basket melted", channel="bluesky"))
    assert site.login(client).status_code == 303  # Sofia, customer service
    form(client, site, "/items/1", "/items/1/crisis")
    form(client, site, "/items/1", "/items/1/replies", kind="public", text="We are so sorry!")
    form(client, site, "/items/1", "/items/1/replies", kind="private", text="Can we call you?")
    html = client.get("/items/1").text
    assert "waiting for approval" in html and "contact logged" in html
    assert ">Approve<" not in html  # Sofia approves for customer service, not pr

    client.post("/logout", data={"csrf_token": site.csrf_of(html)})
    assert site.login(client, "grace.lindqvist@acme.example").status_code == 303
    room = client.get("/crises/1").text
    # During the cool-down the room says when approval opens instead of offering it.
    assert "We are so sorry!" in room and ">Approve<" not in room
    assert "Approve after the cool-down" in room
    reply_id = client.get("/items/1").text.split('class="note reply reply-draft" id="reply-')[1]
    reply_id = reply_id.split('"')[0]
    early = form(
        client,
        site,
        "/crises/1",
        f"/replies/{reply_id}/decide",
        decision="approve",
        back="/crises/1",
    )
    assert early.status_code == 409
    assert "No knee-jerk replies: the cool-down of this crisis ends at 14:30 UTC." in early.text

    site.clock.advance(timedelta(minutes=31))
    assert ">Approve<" in client.get("/crises/1").text
    done = form(
        client,
        site,
        "/crises/1",
        f"/replies/{reply_id}/decide",
        decision="approve",
        back="/crises/1",
    )
    assert done.status_code == 303 and done.headers["location"] == "/crises/1"
    assert "approved, going out</span> · approved by Grace Lindqvist" in client.get("/items/1").text

    resolved = form(
        client,
        site,
        "/crises/1",
        "/crises/1/status",
        status="resolved",
        postmortem="A supplier changed the basket coating.",
        outcome="advocate",
    )
    assert resolved.status_code == 303
    page = client.get("/crises/1").text
    assert "the author is now an <strong>advocate</strong>" in page
    assert ">1</span>" not in client.get("/crises/badge").text
