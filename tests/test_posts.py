"""Post JSONL: every valid line parses, every bad one gets a precise, numbered error."""

from __future__ import annotations

import orjson
import pytest

from townhall.errors import PostFormatError
from townhall.posts import MAX_TEXT_CHARS, Post, parse_post, read_jsonl

GOOD = {
    "id": "mastodon:109876",
    "channel": "mastodon",
    "created_at": "2026-11-20T14:03:11Z",
    "text": "Is the #AirFry5 basket dishwasher safe?",
    "lang": None,
    "url": "https://mastodon.example/@bob/109876",
    "author": {
        "handle": "@bob@example.social",
        "name": "Bob",
        "followers": 1200,
        "location": "Leeds, UK",
        "verified": False,
    },
    "reply_to": None,
    "reshare_of": None,
    "group": "ACME owners club",
    "media": [],
}


def line(**changes: object) -> bytes:
    return orjson.dumps({**GOOD, **changes})


def test_the_design_example_parses_and_round_trips():
    post = parse_post(orjson.dumps(GOOD))

    assert post.external_id == "109876"
    assert post.author.followers == 1200
    assert post.to_json() == GOOD


def test_unknown_fields_are_kept_in_extra():
    post = parse_post(line(source_app="Tusky", score=3))

    assert post.extra == {"source_app": "Tusky", "score": 3}
    assert post.to_json()["source_app"] == "Tusky"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (line(channel="Mast odon"), "channel: must be a lower-case channel name"),
        (line(created_at="yesterday"), "created_at: Input should be a valid datetime"),
        (line(created_at="2026-11-20T14:03:11"), "created_at: needs a time zone"),
        (line(url="javascript:alert(1)"), "url: must be an http:// or https:// address"),
        (line(author={"name": "no handle"}), "author.handle: Field required"),
        (line(author={"handle": "@a", "followers": -5}), "author.followers: Input should be"),
        (line(text="x" * (MAX_TEXT_CHARS + 1)), "text: String should have at most"),
        (line(id=""), "id: String should have at least 1 character"),
    ],
)
def test_bad_lines_say_what_is_wrong(raw: bytes, message: str):
    with pytest.raises(PostFormatError) as info:
        parse_post(raw, line=42, source="in.jsonl")
    assert info.value.message.startswith("in.jsonl:42: ")
    assert message in info.value.message


def test_control_and_bidi_characters_are_removed_but_text_kept():
    post = parse_post(line(text="a\x00b\u202ec\u200bd\nnew line 🇩🇪"))

    assert post.text == "abcd\nnew line 🇩🇪"


def test_huge_but_allowed_text_is_kept_whole():
    post = parse_post(line(text="ä" * 100_000))

    assert len(post.text) == 100_000


def test_a_file_with_bad_lines_keeps_every_good_one():
    lines = [
        line(id="mastodon:1"),
        b"",
        b"{broken",
        b"\xff\xfe not utf-8",
        line(id="mastodon:2", text="<script>alert(1)</script>"),
        line(id="mastodon:3", author="bob"),
    ]

    results = list(read_jsonl(lines, "day.jsonl"))

    posts = [r for r in results if isinstance(r, Post)]
    errors = [r for r in results if isinstance(r, PostFormatError)]
    assert [p.id for p in posts] == ["mastodon:1", "mastodon:2"]
    assert [e.line for e in errors] == [3, 4, 6]
    assert errors[1].message == "day.jsonl:4: invalid UTF-8 at byte 0"
    assert posts[1].text == "<script>alert(1)</script>"
