"""``/api/v1/drafts`` and ``/api/v1/conduct/check``: the code of conduct and the chains."""

from __future__ import annotations

import httpx

from api.conftest import DAN, GRACE, SOFIA, Mint, bearer, item_of
from web.conftest import Site


def test_conduct_check_finds_what_the_code_forbids(
    site: Site, client: httpx.Client, mint: Mint
) -> None:
    token = mint(SOFIA, ["view"])
    answer = client.post(
        "/api/v1/conduct/check",
        json={"text": "Call me on +44 20 7946 0958 or mail jo@example.com", "channel": "mastodon"},
        headers=bearer(token),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["findings"], body
    assert all(0 <= f["start"] < f["end"] for f in body["findings"])
    clean = client.post(
        "/api/v1/conduct/check",
        json={"text": "Thanks for asking, we will look into it.", "channel": "mastodon"},
        headers=bearer(token),
    )
    assert clean.json()["blocked"] is False
    unknown = client.post(
        "/api/v1/conduct/check", json={"text": "hi", "channel": "myspace"}, headers=bearer(token)
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "channel"


def test_a_reply_goes_through_its_chain_and_is_decided(
    site: Site, client: httpx.Client, mint: Mint
) -> None:
    site.feed(site.post("My kettle leaks, what now?"))
    item = item_of(site, "mastodon:1")
    dan = bearer(mint(DAN, ["view", "reply"]))
    made = client.post(
        "/api/v1/drafts",
        json={"item_id": item.id, "text": "Sorry to hear that! We will send a new one."},
        headers=dan,
    )
    assert made.status_code == 201, made.text
    draft = made.json()
    assert draft["kind"] == "reply" and draft["item_id"] == item.id
    read = client.get(f"/api/v1/drafts/{draft['id']}", headers=dan)
    assert read.status_code == 200 and read.json()["text"] == draft["text"]
    assert draft["status"] == "draft", draft
    own = client.post(
        f"/api/v1/drafts/{draft['id']}/decisions",
        json={"decision": "approve"},
        headers=bearer(mint(DAN, ["view", "approve"])),
    )
    assert own.status_code == 403
    sofia = bearer(mint(SOFIA, ["view", "approve"]))
    missing = client.post(
        f"/api/v1/drafts/{draft['id']}/decisions", json={"decision": "changes"}, headers=sofia
    )
    assert missing.status_code == 422
    decided = client.post(
        f"/api/v1/drafts/{draft['id']}/decisions",
        json={"decision": "changes", "comment": "Say which model."},
        headers=sofia,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "changes"
    assert decided.json()["decisions"][0]["comment"] == "Say which model."


def test_a_blocked_text_is_422_with_its_findings(
    site: Site, client: httpx.Client, mint: Mint
) -> None:
    site.feed(site.post("Refund please"))
    item = item_of(site, "mastodon:1")
    answer = client.post(
        "/api/v1/drafts",
        json={"item_id": item.id, "text": "Your card 4111 1111 1111 1111 is refunded"},
        headers=bearer(mint(DAN, ["view", "reply"])),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] and answer.json()["errors"][0]["field"] == "text"


def test_a_reply_needs_the_item_s_department(site: Site, client: httpx.Client, mint: Mint) -> None:
    site.feed(site.post("A journalist asks", channel="rss"))
    item = item_of(site, "rss:1")
    answer = client.post(
        "/api/v1/drafts",
        json={"item_id": item.id, "text": "No comment."},
        headers=bearer(mint(DAN, ["view", "reply"])),
    )
    assert answer.status_code == 403
    grace = client.post(
        "/api/v1/drafts",
        json={"item_id": item.id, "text": "We will get back to you today."},
        headers=bearer(mint(GRACE, ["view", "reply"])),
    )
    assert grace.status_code == 201, grace.text
    # ACME lets everyone read the customer-facing departments' work: Dan sees it, read only.
    other = client.get(f"/api/v1/drafts/{grace.json()['id']}", headers=bearer(mint(DAN, ["view"])))
    assert other.status_code == 200


def test_a_new_post_needs_a_known_channel(site: Site, client: httpx.Client, mint: Mint) -> None:
    token = bearer(mint(SOFIA, ["view", "reply"]))
    none = client.post("/api/v1/drafts", json={"text": "Hello"}, headers=token)
    assert none.status_code == 422
    made = client.post(
        "/api/v1/drafts",
        json={"text": "Our shop opens at nine.", "channel": "mastodon"},
        headers=token,
    )
    assert made.status_code == 201, made.text
    # Sofia approves for her department: her own low-risk post goes out without a second pair.
    assert (made.json()["kind"], made.json()["status"]) == ("post", "approved")
