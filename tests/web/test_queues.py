"""Queues in the web app: owner, SLA and why on every row; my queue; breaches; teams page;
out of office; the server's own queue loop."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from townhall.cases.tasks import QueuePass
from townhall.config import Settings
from townhall.db import session_factory
from townhall.models import Item
from townhall.web.app import create_app
from townhall.web.server import make_server

HOUR = timedelta(hours=1)


def test_rows_show_owner_sla_state_and_why(site: Any, logged_in: httpx.Client) -> None:
    site.feed(site.post("My KettleOne will not boil"))
    assert site.work_queues() == QueuePass(assigned=1)

    html = logged_in.get("/inbox").text

    assert "Owner: Sofia Rossi" in html
    assert '<span class="sla sla-ok">first response due in 1 h</span>' in html
    assert "The post was not understood, so the default owner of the mastodon channel" in html


def test_a_breach_escalates_and_shows_in_my_queue_and_the_breached_view(
    site: Any, logged_in: httpx.Client
) -> None:
    site.feed(site.post("Kettle leaks"), site.post("Kettle hisses"))
    site.work_queues()  # one each for Sofia and Dan
    site.clock.advance(HOUR + timedelta(minutes=1))

    assert site.work_queues() == QueuePass(breaches=2, escalated=2)

    mine = logged_in.get("/inbox?owner=me").text  # Sofia approves: both come to her
    assert mine.count('class="row"') == 2 and "My queue" in mine
    assert mine.count("first response overdue by 1 min") == 2
    assert mine.count("escalated ×1") == 2
    breached = logged_in.get("/inbox?sla=breached&department=all").text
    assert breached.count('class="row"') == 2 and "SLA breached" in breached
    item = logged_in.get("/items/2").text
    assert "item.escalated" in item
    assert "The first response SLA ran out (15:00 UTC), so it escalates to the approver" in item


def test_teams_page_counts_queues_breaches_and_shows_who_is_available(
    site: Any, logged_in: httpx.Client
) -> None:
    site.feed(site.post("Kettle leaks"), site.post("Press: a comment?", channel="rss"))
    site.work_queues()
    site.clock.advance(HOUR + timedelta(minutes=1))
    site.work_queues()

    html = logged_in.get("/teams").text

    row = html[html.index('id="dept-customer_service"') :]
    row = row[: row.index("</tr>")]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in row.split("</td>")[:-1]]
    # name, open, unassigned, past SLA now, first-response breaches, resolution breaches, hours
    assert cells[1:6] == ["1", "0", "1", "1", "0"]
    assert 'href="/inbox?owner=' in html
    assert "at capacity" not in html and ">yes<" in html


def test_out_of_office_people_are_passed_by_until_they_are_back(
    site: Any, logged_in: httpx.Client
) -> None:
    token = site.csrf_of(logged_in.get("/teams").text)
    response = logged_in.post(
        "/teams/away", data={"until": "2026-11-23T09:00", "csrf_token": token}
    )
    assert response.status_code == 303
    html = logged_in.get("/teams").text
    assert "You are <strong>out of office</strong>" in html
    assert "out of office until Mon 23 Nov 09:00" in html  # shown in London time

    site.feed(site.post("Kettle leaks"), site.post("Kettle hisses"))
    site.work_queues()
    assert logged_in.get("/inbox?owner=me").text.count('class="row"') == 0

    token = site.csrf_of(logged_in.get("/teams").text)
    assert logged_in.post("/teams/back", data={"csrf_token": token}).status_code == 303
    assert (
        "I&#39;m away" in logged_in.get("/teams").text or "I'm away" in logged_in.get("/teams").text
    )


def test_out_of_office_in_the_past_is_refused(site: Any, logged_in: httpx.Client) -> None:
    token = site.csrf_of(logged_in.get("/teams").text)
    response = logged_in.post(
        "/teams/away", data={"until": "2020-01-01T09:00", "csrf_token": token}
    )
    assert response.status_code == 422
    assert "Out of office must end in the future." in response.text
    response = logged_in.post("/teams/away", data={"until": "soon", "csrf_token": token})
    assert response.status_code == 422 and "Not a date and time" in response.text


def test_the_server_runs_its_own_queue_loop(site: Any, tmp_path: Any) -> None:
    settings = Settings(
        home=tmp_path,
        secret_key="test-secret-key-for-the-web-fixtures-0123456789",
        cookie_secure=False,
        queue_interval=0.05,
    )
    app = create_app(settings, site.engine, site.source, clock=site.clock)
    server = make_server(app, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        site.feed(site.post("Kettle leaks"))
        deadline = time.monotonic() + 15
        sessions = session_factory(site.engine)
        while True:
            with sessions() as session:
                if session.scalar(select(Item.assignee_id)) is not None:
                    break
            assert time.monotonic() < deadline, "the queue loop never assigned the item"
            time.sleep(0.05)
    finally:
        server.should_exit = True
        thread.join(10)
    assert not thread.is_alive()
