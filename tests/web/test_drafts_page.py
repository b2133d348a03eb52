"""The Drafts page and one draft's page: tabs for a person and their department, the nav
count, approving, asking for changes with a comment and a private note, revising, and the
crisis cool-down shown in place."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from townhall.db import session_factory, transaction
from townhall.models import Role
from townhall.org.accounts import upsert_user

AIKO = "aiko.tanaka@acme.example"
GRACE = "grace.lindqvist@acme.example"
DAN = "dan.murphy@acme.example"
REPLY = "So sorry about the lid. Please send us a private message and we will sort it out."


def add_aiko(site: Any) -> None:
    """Aiko Tanaka: customer service, a member without the publish right."""
    with transaction(session_factory(site.engine)) as session:
        upsert_user(
            session,
            email=AIKO,
            name="Aiko Tanaka",
            department="customer_service",
            role=Role.MEMBER,
            password="correct horse battery",
            now=datetime.now(UTC),
        )


def form(client: httpx.Client, site: Any, page: str, path: str, **data: str) -> httpx.Response:
    token = site.csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token})


def switch(client: httpx.Client, site: Any, email: str) -> None:
    """Log out whoever is logged in, and log in as ``email``."""
    client.post("/logout", data={"csrf_token": site.csrf_of(client.get("/compose").text)})
    assert site.login(client, email).status_code == 303


def row_ids(html: str) -> list[int]:
    """The outbox ids of the rows of the Drafts page, in order."""
    return [int(n) for n in re.findall(r'<li class="row draft-row" id="draft-(\d+)">', html)]


def tab_count(html: str, tab: str) -> int:
    match = re.search(rf'id="tab-{tab}">[^<]*<span class="tab-count">(\d+)</span>', html)
    assert match, f"no {tab} tab"
    return int(match.group(1))


def aiko_replies(site: Any, client: httpx.Client, text: str = REPLY) -> int:
    """Aiko answers item #1; returns the draft's id."""
    add_aiko(site)
    site.feed(site.post("My KettleOne lid won't click shut"))
    assert site.login(client, AIKO).status_code == 303
    sent = form(client, site, "/items/1", "/items/1/replies", kind="public", text=text)
    assert sent.status_code == 303
    found = re.search(r'href="/drafts/(\d+)">open the draft', client.get("/items/1").text)
    assert found
    return int(found.group(1))


def test_a_draft_is_mine_for_its_author_and_waits_for_the_approver(
    site: Any, client: httpx.Client
) -> None:
    draft = aiko_replies(site, client)
    mine = client.get("/drafts").text  # nothing waits for Aiko: her own drafts first
    assert row_ids(mine) == [draft] and tab_count(mine, "mine") == 1
    assert tab_count(mine, "waiting") == 0
    assert "waits for Customer service approvers (Sofia Rossi)" in mine
    assert "waiting for approval" in mine and "public reply" in mine
    assert "nav-count" not in client.get("/drafts/badge").text
    page = client.get(f"/drafts/{draft}").text
    assert REPLY in page and ">Approve<" not in page and 'id="revise"' in page

    switch(client, site, "sofia.rossi@acme.example")
    badge = client.get("/drafts/badge").text
    assert '<span class="nav-count" title="1 waiting for your approval">1</span>' in badge
    waiting = client.get("/drafts").text  # the first look: what waits for Sofia
    assert 'class="tab active" aria-current="page" id="tab-waiting"' in waiting
    assert row_ids(waiting) == [draft] and "Aiko Tanaka" in waiting
    assert row_ids(client.get("/drafts?tab=mine").text) == []
    page = client.get(f"/drafts/{draft}").text
    assert ">Approve<" in page and ">Ask for changes<" in page and 'id="revise"' not in page
    assert "My KettleOne lid won&#39;t click shut" in page  # the post it answers

    approved = form(client, site, f"/drafts/{draft}", f"/drafts/{draft}/decide", decision="approve")
    assert approved.status_code == 303 and approved.headers["location"] == f"/drafts/{draft}"
    page = client.get(f"/drafts/{draft}").text
    assert "approved, going out" in page and "Sofia Rossi approved" in page
    assert "nav-count" not in client.get("/drafts/badge").text

    switch(client, site, AIKO)
    scheduled = client.get("/drafts?tab=scheduled").text
    assert row_ids(scheduled) == [draft]
    assert 'approved <time datetime="2026-11-20T14:00:00Z">' in scheduled
    assert row_ids(client.get("/drafts?tab=mine").text) == []


def test_changes_asked_with_a_private_note_then_revised(site: Any, client: httpx.Client) -> None:
    draft = aiko_replies(site, client)
    switch(client, site, "sofia.rossi@acme.example")
    no_comment = form(
        client, site, f"/drafts/{draft}", f"/drafts/{draft}/decide", decision="changes"
    )
    assert no_comment.status_code == 422  # shown on the draft's page, with a way on
    assert f"Draft #{draft}" in no_comment.text and 'id="refusal"' in no_comment.text
    assert "comment: say what should change." in no_comment.text
    asked = form(
        client,
        site,
        f"/drafts/{draft}",
        f"/drafts/{draft}/decide",
        decision="changes",
        comment="Name the lid part, please.",
        note="Third lid complaint <b>today</b>.",
    )
    assert asked.status_code == 303
    assert (
        form(
            client, site, f"/drafts/{draft}", f"/drafts/{draft}/notes", note="Check the batch."
        ).status_code
        == 303
    )
    reviewer = client.get(f"/drafts/{draft}").text
    assert "Third lid complaint &lt;b&gt;today&lt;/b&gt;." in reviewer
    assert "Check the batch." in reviewer and "changes requested" in reviewer

    switch(client, site, AIKO)
    assert '<span class="nav-count" title="1 of yours with changes asked">1</span>' in (
        client.get("/drafts/badge").text
    )
    author = client.get(f"/drafts/{draft}").text
    assert "Name the lid part, please." in author and "Make the changes asked" in author
    assert "Third lid complaint" not in author and "Check the batch." not in author
    assert f'action="/drafts/{draft}/notes"' not in author
    assert "waits for Aiko Tanaka (changes asked)" in client.get("/drafts?tab=mine").text

    phone = "Call me on +44 20 7946 0958."
    blocked = form(client, site, f"/drafts/{draft}", f"/drafts/{draft}/revise", text=phone)
    assert blocked.status_code == 422 and 'id="refusal"' in blocked.text
    assert f">{phone}</textarea>" in blocked.text  # the new text kept in the form
    assert '<mark class="finding finding-block"' in blocked.text
    assert "changes requested" in client.get(f"/drafts/{draft}").text  # nothing changed

    revised = form(
        client,
        site,
        f"/drafts/{draft}",
        f"/drafts/{draft}/revise",
        text="So sorry the lid hinge won't click. Please send us a private message.",
    )
    assert revised.status_code == 303
    page = client.get(f"/drafts/{draft}").text
    assert "waiting for approval" in page and "lid hinge" in page
    assert "<dt>Revision</dt><dd>2</dd>" in page


def test_the_department_view_shows_colleagues_drafts(site: Any, client: httpx.Client) -> None:
    draft = aiko_replies(site, client)
    switch(client, site, DAN)
    assert row_ids(client.get("/drafts?tab=mine&scope=me").text) == []
    department = client.get("/drafts?tab=mine&scope=department").text
    assert row_ids(department) == [draft] and "Drafts of Customer service" in department
    assert row_ids(client.get("/drafts?tab=waiting&scope=department").text) == [draft]
    # Dan may not decide (a member), so nothing waits for him personally.
    assert row_ids(client.get("/drafts?tab=waiting").text) == []
    assert ">Approve<" not in client.get(f"/drafts/{draft}").text
    switch(client, site, GRACE)  # public relations: not her department
    assert row_ids(client.get("/drafts?tab=mine&scope=department").text) == []


def test_bad_tabs_and_scopes_are_named(site: Any, logged_in: httpx.Client) -> None:
    for query, field in (("tab=later", "tab"), ("scope=everyone", "scope")):
        response = logged_in.get(f"/drafts?{query}")
        assert response.status_code == 422 and f"{field}: must be" in response.text
    assert logged_in.get("/drafts/99").status_code == 404


def test_the_cool_down_is_shown_in_place_of_approve(site: Any, client: httpx.Client) -> None:
    site.feed(site.post("My AirFry 5 basket melted", channel="bluesky"))
    assert site.login(client).status_code == 303  # Sofia
    form(client, site, "/items/1", "/items/1/crisis")
    form(client, site, "/items/1", "/items/1/replies", kind="public", text="We are looking at it.")
    draft = int(re.findall(r'href="/drafts/(\d+)">open the draft', client.get("/items/1").text)[0])
    switch(client, site, GRACE)
    page = client.get(f"/drafts/{draft}").text
    assert ">Approve<" not in page and ">Reject<" in page
    assert "Approve after the crisis cool-down ends at" in page and "14:30 UTC" in page
    early = form(client, site, f"/drafts/{draft}", f"/drafts/{draft}/decide", decision="approve")
    assert early.status_code == 409  # the draft's page with the refusal, not an error page
    assert f"Draft #{draft}" in early.text and 'id="refusal"' in early.text
    assert "the cool-down of this crisis ends at 14:30 UTC" in early.text
    # The item page's approve button (from the room) is refused in place the same way.
    old = form(client, site, "/crises/1", f"/replies/{draft}/decide", decision="approve")
    assert old.status_code == 409 and f"Draft #{draft}" in old.text

    site.clock.advance(timedelta(minutes=31))
    assert ">Approve<" in client.get(f"/drafts/{draft}").text
    done = form(
        client,
        site,
        f"/drafts/{draft}",
        f"/drafts/{draft}/decide",
        decision="approve",
        back="/crises/1",
    )
    assert done.status_code == 303 and done.headers["location"] == "/crises/1"
