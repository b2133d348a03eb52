"""The crisis marker: an item of an open room says so at its top, links to the room and
counts down the cool-down (readable without JavaScript)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import httpx


def form(client: httpx.Client, site: Any, page: str, path: str, **data: str) -> httpx.Response:
    token = site.csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token})


def marker_of(page: str) -> str:
    """The marker section of an item page ("" when it has none)."""
    match = re.search(r'<section class="crisis-banner crisis-marker".*?</section>', page, re.S)
    return html.unescape(match.group(0)) if match else ""


def test_an_item_of_an_open_room_says_so_with_the_cool_down(
    site: Any, logged_in: httpx.Client
) -> None:
    site.feed(
        site.post("My AirFry 5 basket melted", channel="bluesky"),
        site.post("Same here, mine cracked", reply_to="bluesky:1"),
        site.post("Love my blender"),
    )
    assert marker_of(logged_in.get("/items/1").text) == ""
    assert form(logged_in, site, "/items/1", "/items/1/crisis").status_code == 303

    site.clock.advance(timedelta(minutes=18))  # opened 14:00, the cool-down is 30 min
    for item in (1, 2):  # the story's post and the reply in its thread
        marker = marker_of(logged_in.get(f"/items/{item}").text)
        assert 'Part of the crisis <a href="/crises/1">' in marker
        assert "— Public relations leads; public replies wait for Public relations' approval." in (
            marker
        )
        assert (
            'cool-down ends <time datetime="2026-11-20T14:30:00Z" data-countdown>14:30 UTC</time>'
            " (in 12 min)" in marker
        )
    assert marker_of(logged_in.get("/items/3").text) == ""  # another story

    site.clock.advance(timedelta(minutes=12, seconds=1))
    marker = marker_of(logged_in.get("/items/1").text)
    assert "The cool-down ended at" in marker and "(in " not in marker


def test_a_resolved_room_leaves_no_marker(site: Any, client: httpx.Client) -> None:
    site.feed(site.post("My AirFry 5 basket melted", channel="bluesky"))
    assert site.login(client, "grace.lindqvist@acme.example").status_code == 303
    form(client, site, "/items/1", "/items/1/crisis")
    assert marker_of(client.get("/items/1").text) != ""
    for status in ("active", "resolved"):
        moved = form(
            client,
            site,
            "/crises/1",
            "/crises/1/status",
            status=status,
            postmortem="A supplier changed the coating.",
            outcome="advocate",
        )
        assert moved.status_code == 303
    page = client.get("/items/1").text
    assert marker_of(page) == "" and 'In <a href="/crises/1">crisis room #1</a>' in page
