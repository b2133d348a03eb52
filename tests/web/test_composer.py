"""The composers (item replies, new posts, revisions) and the live code of conduct check:
findings marked in place and explained, escaped; a blocked text refused in place (422)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from townhall.db import session_factory, transaction
from townhall.models import OutboxPost, Role
from townhall.org.accounts import upsert_user
from townhall.web.drafts import highlight

AIKO = "aiko.tanaka@acme.example"
PASSWORD = "correct horse battery"
PHONE = "+44 20 7946 0958"
REFUND = "we will give you a full refund"
BAD = f"Sorry about the lid! Call us on {PHONE} and {REFUND}."

_MARK = re.compile(r'<mark class="finding finding-([a-z_]+)"[^>]*>(.*?)<sup', re.S)


def marks(html: str) -> list[tuple[str, str]]:
    """(level, marked text) of every highlighted run in a page or partial."""
    return [(level, text) for level, text in _MARK.findall(html)]


def add_aiko(site: Any) -> None:
    """Aiko Tanaka: customer service, a member without the publish right."""
    with transaction(session_factory(site.engine)) as session:
        upsert_user(
            session,
            email=AIKO,
            name="Aiko Tanaka",
            department="customer_service",
            role=Role.MEMBER,
            password=PASSWORD,
            now=datetime.now(UTC),
        )


@pytest.fixture
def as_aiko(site: Any, client: httpx.Client) -> httpx.Client:
    """The client logged in as Aiko, with one customer's mention as item #1."""
    add_aiko(site)
    site.feed(site.post("My KettleOne lid won't click shut. I want my money back!"))
    assert site.login(client, AIKO).status_code == 303
    return client


def check(client: httpx.Client, site: Any, **data: str) -> httpx.Response:
    """The live check, as htmx posts it (CSRF in the header)."""
    token = site.csrf_of(client.get("/items/1").text)
    return client.post(
        "/conduct/check", data=data, headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )


def outbox_count(site: Any) -> int:
    with session_factory(site.engine)() as session:
        return session.scalar(select(func.count(OutboxPost.id))) or 0


def test_the_live_check_marks_a_phone_number_and_a_refund_promise_in_place(
    site: Any, as_aiko: httpx.Client
) -> None:
    response = check(as_aiko, site, text=BAD, item_id="1", kind="public")
    assert response.status_code == 200 and "<html" not in response.text
    found = marks(response.text)
    assert ("block", PHONE) in found
    assert any(level == "needs_approval" and "refund" in text for level, text in found), found
    assert 'data-blocks="true"' in response.text
    assert "This cannot be sent yet." in response.text
    # Each finding explained: why (what was found) and what to do instead.
    assert response.text.count('class="finding-item ') == len(found)
    assert 'class="finding-message"' in response.text


def test_a_clean_reply_has_no_findings_and_does_not_block(site: Any, as_aiko: httpx.Client) -> None:
    response = check(
        as_aiko,
        site,
        text="So sorry about the lid. Could you send us a private message with your order?",
        item_id="1",
        kind="public",
    )
    assert response.status_code == 200
    assert marks(response.text) == [] and 'data-blocks="false"' in response.text
    assert "finds nothing to change" in response.text


def test_the_checked_text_is_escaped_around_the_marks(site: Any, as_aiko: httpx.Client) -> None:
    hostile = f'<img src=x onerror=alert(1)> call {PHONE} "now" & <script>alert(2)</script>'
    html = check(as_aiko, site, text=hostile, item_id="1", kind="public").text
    assert "<img" not in html and "<script>alert" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert ("block", PHONE) in marks(html)


def test_the_live_check_needs_a_login_and_the_csrf_token(site: Any, as_aiko: httpx.Client) -> None:
    no_token = as_aiko.post("/conduct/check", data={"text": BAD, "item_id": "1"})
    assert no_token.status_code == 403
    bad_kind = check(as_aiko, site, text=BAD, item_id="1", kind="shout")
    assert bad_kind.status_code == 422 and "kind" in bad_kind.text
    unknown = check(as_aiko, site, text=BAD, channel="nope")
    assert unknown.status_code == 422 and "channel" in unknown.text
    with httpx.Client(base_url=str(as_aiko.base_url)) as stranger:
        assert stranger.post("/conduct/check", data={"text": BAD}).status_code in (401, 403)


def test_a_blocked_reply_comes_back_in_the_form_with_its_findings(
    site: Any, as_aiko: httpx.Client
) -> None:
    token = site.csrf_of(as_aiko.get("/items/1").text)
    response = as_aiko.post(
        "/items/1/replies", data={"text": BAD, "kind": "public", "csrf_token": token}
    )
    assert response.status_code == 422
    html = response.text
    assert "Item #1" in html and 'id="reply-text"' in html  # the item page, not an error page
    assert f">{BAD}</textarea>" in html  # the text kept
    assert ("block", PHONE) in marks(html)
    assert 'id="reply-error"' in html and "code of conduct" in html
    assert outbox_count(site) == 0


def test_a_fixed_reply_is_saved_and_waits_for_approval(site: Any, as_aiko: httpx.Client) -> None:
    token = site.csrf_of(as_aiko.get("/items/1").text)
    text = "So sorry about the lid! Please send us a private message and we will sort it out."
    response = as_aiko.post(
        "/items/1/replies", data={"text": text, "kind": "public", "csrf_token": token}
    )
    assert response.status_code == 303 and response.headers["location"] == "/items/1#replies"
    html = as_aiko.get("/items/1").text
    assert "waiting for approval" in html and "Waiting for Customer service approvers" in html
    assert outbox_count(site) == 1


def test_compose_a_new_post(site: Any, client: httpx.Client) -> None:
    assert site.login(client).status_code == 303  # Sofia, customer service approver
    page = client.get("/compose")
    assert page.status_code == 200
    assert 'name="channel"' in page.text and 'name="paid"' in page.text
    assert 'name="statement"' in page.text and 'type="datetime-local"' in page.text
    token = site.csrf_of(page.text)
    blocked = client.post(
        "/compose", data={"channel": "mastodon", "text": BAD, "csrf_token": token}
    )
    assert blocked.status_code == 422 and f">{BAD}</textarea>" in blocked.text
    assert ("block", PHONE) in marks(blocked.text) and outbox_count(site) == 0

    late = client.post(
        "/compose",
        data={"channel": "mastodon", "text": "Hello", "at": "tomorrow", "csrf_token": token},
    )
    assert late.status_code == 422 and "at: Not a date and time" in late.text
    assert ">Hello</textarea>" in late.text

    saved = client.post(
        "/compose",
        data={
            "channel": "mastodon",
            "text": "Our winter opening hours are on the website.",
            "at": "2026-11-21T09:30",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 303
    draft = client.get(saved.headers["location"]).text
    assert "Our winter opening hours are on the website." in draft
    assert "21 Nov 09:30 UTC" in draft  # London is on UTC in November


def test_highlight_cuts_overlapping_findings_and_keeps_the_text() -> None:
    text = "call +44 7700 900123 for a full refund"
    findings = [
        {"level": "warn", "start": 0, "end": 20, "why": "w"},
        {"level": "block", "start": 5, "end": 20, "why": "phone"},
        {"level": "needs_approval", "start": 27, "end": 38, "why": "refund"},
        {"level": "warn", "start": 30, "end": 99, "why": "past the end"},
        {"level": "warn", "start": 12, "end": 3, "why": "backwards"},
    ]
    segments = highlight(text, findings)
    assert "".join(s.text for s in segments) == text
    levels = [(s.text, s.level, s.refs) for s in segments if s.level]
    assert levels[0] == ("call ", "warn", (1,))
    assert levels[1] == ("+44 7700 900123", "block", (1, 2))
    assert ("full refund"[3:], "needs_approval", (3, 4)) in levels
    assert highlight("", findings) == []


def test_a_new_post_counts_as_its_network_does_and_needs_its_disclosure_when_paid(
    site: Any, as_aiko: httpx.Client
) -> None:
    text = "Our new kettle: https://acme.example/shop/kettles/kettle-one-in-four-colours"
    counted = check(as_aiko, site, text=text, channel="mastodon")
    assert counted.status_code == 200 and marks(counted.text) == []
    expected = len("Our new kettle: ") + 23  # Mastodon counts every link as 23 characters
    assert f"{expected} of 500 characters, as Mastodon counts them" in counted.text
    paid = check(as_aiko, site, text=text, channel="mastodon", paid="on")
    assert 'data-blocks="true"' in paid.text and "#ad" in paid.text
    disclosed = check(as_aiko, site, text=f"{text} #ad", channel="mastodon", paid="on")
    assert 'data-blocks="false"' in disclosed.text
    too_long = check(as_aiko, site, text="Lovely kettle. " * 40, channel="mastodon")
    assert "600 of 500 characters" in too_long.text and "char-count-over" in too_long.text
    assert 'data-blocks="true"' in too_long.text  # a post that cannot fit never leaves
