"""Done → next: closing an item goes on to the next item of the queue it was opened from."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


def close(client: httpx.Client, site: Any, item_id: int, **headers: str) -> httpx.Response:
    page = client.get(f"/items/{item_id}", headers=headers).text
    queue = html.unescape(page.split('name="queue" value="')[1].split('"')[0])
    token = site.csrf_of(page)
    return client.post(
        f"/items/{item_id}/status", data={"csrf_token": token, "status": "done", "queue": queue}
    )


def test_close_as_done_goes_to_the_next_item_of_the_queue(
    site: Any, logged_in: httpx.Client
) -> None:
    site.feed(*(site.post(f"My parcel {n} never arrived, where is it?") for n in range(3)))
    inbox = f"{logged_in.base_url}/inbox?department=all&status=open&sort=newest"
    response = close(logged_in, site, 3, referer=inbox)  # newest first: 3, 2, 1
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/items/2"
    queue = parse_qs(target.query)["queue"][0]
    assert parse_qs(queue)["sort"] == ["newest"] and parse_qs(queue)["department"] == ["all"]

    page = html.unescape(logged_in.get(response.headers["location"]).text)
    assert "Item #3 is done. This is the next one in the queue." in page
    assert "is done" not in logged_in.get("/items/2").text  # the notice is shown once
    # The next item carries the queue on, so closing it goes on to item 1, then the inbox.
    following = close(logged_in, site, 2, referer=f"{logged_in.base_url}/items/2?queue=x")
    assert following.headers["location"].startswith("/items/")
    nxt = close(logged_in, site, 1)
    location = urlsplit(nxt.headers["location"])
    assert nxt.status_code == 303 and location.path == "/inbox"
    assert parse_qs(location.query)["done"] == ["1"]


def test_other_status_changes_stay_on_the_item(site: Any, logged_in: httpx.Client) -> None:
    site.feed(site.post("Where is my parcel?"), site.post("And mine?"))
    token = site.csrf_of(logged_in.get("/items/1").text)
    started = logged_in.post(
        "/items/1/status", data={"csrf_token": token, "status": "in_progress", "queue": "x=1"}
    )
    assert started.status_code == 303 and started.headers["location"] == "/items/1"


def test_a_bad_queue_falls_back_to_the_persons_department(
    site: Any, logged_in: httpx.Client
) -> None:
    site.feed(site.post("Where is my parcel?"), site.post("And mine, where is it?"))
    token = site.csrf_of(logged_in.get("/items/1").text)
    for queue in ("department=../../etc&sort=<script>", "&".join(["a=1"] * 50)):
        response = logged_in.post(
            "/items/1/status", data={"csrf_token": token, "status": "done", "queue": queue}
        )
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith(("/items/2?", "/inbox?")) and "script" not in location
        token = site.csrf_of(logged_in.get("/items/2").text)
        logged_in.post("/items/1/status", data={"csrf_token": token, "status": "in_progress"})
