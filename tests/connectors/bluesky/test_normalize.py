"""Recorded API payloads normalised to exact Posts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from townhall.connectors.bluesky.normalize import UnusableRecord, to_post

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_reply_notification_expands_the_shortened_link():
    note = load("list_notifications.json")["notifications"][0]
    post = to_post(
        "bluesky",
        note,
        followers={"did:plc:vwzwgnygau7ed7b7wt5ux7y2": 321},
        extra={"reason": "reply"},
    )
    assert post.to_json() == {
        "id": "bluesky:at://did:plc:vwzwgnygau7ed7b7wt5ux7y2/app.bsky.feed.post/3lbqpvdn2ss2b",
        "channel": "bluesky",
        "created_at": "2026-11-20T14:03:11Z",
        "text": "Still broken after the update 😞 café closed. "
        "https://support.acme.example/kettles/kettleone-troubleshooting",
        "lang": "en",
        "url": "https://bsky.app/profile/dana.bsky.social/post/3lbqpvdn2ss2b",
        "author": {
            "handle": "dana.bsky.social",
            "name": "Dana 🌿",
            "followers": 321,
            "location": None,
            "verified": False,
        },
        "reply_to": "bluesky:at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lbqpo2zqa22x",
        "reshare_of": None,
        "group": None,
        "media": [],
        "cid": "bafyreigh7yods3ndrtnvdrgk4ra4i3yb3y6q6sqhwsf2zqjxg5kwcjxsdm",
        "reason": "reply",
    }


def test_quote_notification_links_the_quoted_post():
    note = load("list_notifications.json")["notifications"][1]
    post = to_post("bluesky", note)
    assert post.extra["quote_of"] == (
        "bluesky:at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lbqpo2zqa22x"
    )
    assert post.reply_to is None
    assert post.author.name is None
    assert post.created_at == datetime(2026, 11, 20, 14, 1, tzinfo=UTC)


def test_a_repost_record_is_not_a_post():
    note = load("list_notifications.json")["notifications"][2]
    with pytest.raises(UnusableRecord, match="not a post"):
        to_post("bluesky", note)


def test_search_hit_and_a_bad_date():
    good, bad = load("search_posts.json")["posts"]
    post = to_post("bluesky", good)
    assert (post.lang, post.text) == ("fr", "Ma bouilloire #KettleOne fait un bruit étrange")
    with pytest.raises(UnusableRecord, match=r"record\.createdAt: unparseable"):
        to_post("bluesky", bad)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"record": {"$type": "app.bsky.feed.post", "createdAt": "2026-11-20T14:00:00Z"}},
            "record.text: missing",
        ),
        (
            {
                "record": {
                    "$type": "app.bsky.feed.post",
                    "text": 42,
                    "createdAt": "2026-11-20T14:00:00Z",
                }
            },
            "record.text: missing or not a string",
        ),
        (
            {
                "record": {
                    "$type": "app.bsky.feed.post",
                    "text": "x" * 5000,
                    "createdAt": "2026-11-20T14:00:00Z",
                }
            },
            "over Bluesky's 3,000-byte limit",
        ),
        (
            {
                "record": {
                    "$type": "app.bsky.feed.post",
                    "text": "<script>alert(1)</script>",
                    "createdAt": "2026-11-20T14:00:00Z",
                }
            },
            "only markup",
        ),
        (
            {
                "record": {
                    "$type": "app.bsky.feed.post",
                    "text": "bad \ud800",
                    "createdAt": "2026-11-20T14:00:00Z",
                }
            },
            "lone surrogate",
        ),
        (
            {
                "record": {
                    "$type": "app.bsky.feed.post",
                    "text": "hi",
                    "createdAt": "2026-11-20T14:00:00",
                }
            },
            "needs a time zone",
        ),
        ({"uri": "https://evil.example/x"}, "not an at:// record URI"),
        ({"author": {"did": "did:plc:x"}}, "author.handle"),
    ],
)
def test_hostile_records_are_refused_with_a_reason(change: dict, reason: str):
    view = {**load("search_posts.json")["posts"][0], **change}
    with pytest.raises(UnusableRecord, match=reason):
        to_post("bluesky", view)


def test_created_at_falls_back_to_indexed_at_and_markup_is_reduced_to_text():
    view = load("search_posts.json")["posts"][0]
    view["record"] = {
        "$type": "app.bsky.feed.post",
        "text": "<b>hot</b> kettle <script>x()</script>",
    }
    post = to_post("bluesky", view)
    assert post.created_at == datetime(2026, 11, 20, 15, 0, 0, 400000, tzinfo=UTC)
    assert post.text == "hot kettle"
