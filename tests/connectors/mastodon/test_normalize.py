"""Recorded Mastodon payloads to posts: exact normalised results, raw and as Mastodon.py casts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mastodon.return_types import Notification, Status
from mastodon.types_base import try_cast_recurse

from townhall.connectors.base import Rejected
from townhall.connectors.mastodon.normalize import comparable, handle, normalise

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


@pytest.mark.parametrize("cast", [False, True], ids=["raw", "mastodon.py"])
def test_a_mention_notification(cast: bool):
    note = load("notification_mention.json")
    if cast:
        note = try_cast_recurse(Notification, note)
    post = normalise(
        note["status"], "mastodon", "mastodon.example", source="mention", notification_id="34975861"
    )
    assert not isinstance(post, Rejected)
    assert post.to_json() == {
        "id": "mastodon:113512345678901234",
        "channel": "mastodon",
        "created_at": "2026-11-20T14:03:11Z",
        "text": (
            "CW: product fault\n\n@acme my #AirFry5 lid cracked & the hinge fell off.\n\n"
            "Photos: https://example.social/media/abc123"
        ),
        "lang": "en",
        "url": "https://example.social/@bob/113512345678901234",
        "author": {
            "handle": "@bob@example.social",
            "name": "Bob Builder 🔨",
            "followers": 1200,
            "location": None,
            "verified": True,
        },
        "reply_to": "mastodon:113512300000000001",
        "reshare_of": None,
        "group": None,
        "media": [
            "https://files.mastodon.example/cache/media_attachments/files/113/512/345/600/000/001/original/lid.jpg"
        ],
        "visibility": "unlisted",
        "source": "mention",
        "notification_id": "34975861",
    }


@pytest.mark.parametrize("cast", [False, True], ids=["raw", "mastodon.py"])
def test_a_local_accounts_reblog(cast: bool):
    status = load("status_local_reblog.json")
    if cast:
        status = try_cast_recurse(Status, status)
    post = normalise(status, "mastodon", "mastodon.example", source="hashtag:AirFry5")
    assert not isinstance(post, Rejected)
    assert post.to_json() == {
        "id": "mastodon:113512399999999999",
        "channel": "mastodon",
        "created_at": "2026-11-20T15:00:00Z",
        "text": "",
        "lang": None,
        "url": None,
        "author": {
            "handle": "@carol@mastodon.example",
            "name": None,
            "followers": 12,
            "location": None,
            "verified": False,
        },
        "reply_to": None,
        "reshare_of": "mastodon:113512345678901234",
        "group": None,
        "media": [],
        "visibility": "public",
        "source": "hashtag:AirFry5",
    }


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "id is missing or not a string"),
        ({"created_at": None}, "created_at is missing"),
        ({"created_at": "2026-11-20T14:03:11"}, "created_at: needs a time zone"),
        ({"account": {"acct": ""}}, "account.acct is missing or empty"),
        ({"account": {}}, "account.acct is missing or empty"),
        ({"spoiler_text": 3}, "spoiler_text is not text"),
        ({"language": "x" * 40}, "lang: String should have at most 16 characters"),
        ({"account": {"acct": "bob", "followers_count": -5}}, "author.followers"),
    ],
)
def test_bad_records_are_rejected_by_id(change: dict[str, Any], reason: str):
    status = load("notification_mention.json")["status"]
    status.update(change)
    result = normalise(status, "mastodon", "mastodon.example", source="mention")
    assert isinstance(result, Rejected)
    native = status["id"]
    assert result.where == (f"mastodon status {native}" if native else "mastodon mention record")
    assert result.reason.startswith(reason)


def test_not_an_object_is_rejected():
    result = normalise(["a list"], "mastodon", "mastodon.example", source="search:acme")
    assert result == Rejected("mastodon search:acme record", "expected a status object, got list")


def test_handles_and_comparison():
    assert handle({"acct": "carol"}, "mastodon.example") == "@carol@mastodon.example"
    assert handle({"acct": "bob@example.social"}, "mastodon.example") == "@bob@example.social"
    assert comparable("@bob@example.social  thanks,\n\n see you") == "@bob thanks, see you"
