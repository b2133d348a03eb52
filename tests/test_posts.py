"""Post JSONL: every valid line parses, every bad one gets a precise, numbered error."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from townhall.errors import PostFormatError
from townhall.posts import (
    MAX_TEXT_CHARS,
    Post,
    check_time,
    parse_post,
    read_jsonl,
    terminal_safe,
)

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


# -- hostile lines (issue 11): each rejects its own line with the field named ------------------
HOSTILE = [
    (line(created_at="9999-12-31T23:59:59-12:00"), "created_at: is out of range"),
    (line(created_at="0001-01-01T00:00:00+01:00"), "created_at: is out of range"),
    (line(created_at="1969-12-31T23:59:59Z"), "created_at: is before 1990"),
    (line(created_at=1700000000), "created_at: must be an ISO 8601 time as a string"),
    (line(id="   "), "id: must not be blank"),
    (line(id="\u200b"), "id: must not be blank"),
    (line(author={"handle": "\u200b\u200d"}), "author.handle: must not be blank"),
    (line(author={"handle": "@b", "verified": "yes"}), "author.verified: Input should be a"),
    (line(author={"handle": "@b", "followers": "12"}), "author.followers: Input should be a"),
    (
        line()[:-1] + b',"deep":' + b'{"x":' * 1000 + b"1" + b"}" * 1000 + b"}",
        "extra: nests deeper than 32 levels",
    ),
]


@pytest.mark.parametrize(("raw", "message"), HOSTILE)
def test_a_hostile_line_is_rejected_alone_with_the_field_named(raw: bytes, message: str):
    rows = list(read_jsonl([line(id="mastodon:1"), raw, line(id="mastodon:2")], "day.jsonl"))

    assert [type(r).__name__ for r in rows] == ["Post", "PostFormatError", "Post"]
    assert str(rows[1]).startswith(f"day.jsonl:2: {message}")


def test_a_byte_order_mark_is_skipped():
    (post,) = read_jsonl([b"\xef\xbb\xbf" + line()], "bom.jsonl")
    assert isinstance(post, Post) and post.id == "mastodon:109876"


def test_escape_characters_never_reach_the_terminal():
    raw = orjson.dumps({**GOOD, "author": {"handle": "@b", "\x1b[31mred\x07": 1}})
    (error,) = read_jsonl([raw], "esc.jsonl")
    assert isinstance(error, PostFormatError)
    assert "\x1b" not in str(error) and "\x07" not in str(error)
    assert "\\x1b[31mred\\x07" in str(error)
    assert terminal_safe("ok\u202etxt.exe\r\n") == "ok\\u202etxt.exe\\r\\n"


@pytest.mark.parametrize(
    ("post_id", "channel", "canonical", "native"),
    [
        ("777", "forum", "forum:777", "777"),
        ("777", "mastodon", "mastodon:777", "777"),
        ("forum:777", "mastodon", "mastodon:forum:777", "forum:777"),
        ("forum:777", "forum", "forum:777", "777"),
        ("forum:forum:777", "forum", "forum:forum:777", "forum:777"),
        (
            "at://did:plc:abc/app.bsky.feed.post/3k",
            "bluesky",
            "bluesky:at://did:plc:abc/app.bsky.feed.post/3k",
            "at://did:plc:abc/app.bsky.feed.post/3k",
        ),
        (
            "bluesky:at://did:plc:abc/app.bsky.feed.post/3k",
            "bluesky",
            "bluesky:at://did:plc:abc/app.bsky.feed.post/3k",
            "at://did:plc:abc/app.bsky.feed.post/3k",
        ),
    ],
)
def test_identity_is_the_channel_and_the_native_id(post_id, channel, canonical, native):
    post = parse_post(line(id=post_id, channel=channel))
    assert (post.id, post.external_id) == (canonical, native)


def test_an_id_that_is_only_its_channel_prefix_is_refused():
    with pytest.raises(PostFormatError, match="id: has nothing after 'mastodon:'"):
        parse_post(line(id="mastodon:  "))


def test_two_channels_ids_never_meet():
    forum = parse_post(line(id="777", channel="forum"))
    mastodon = parse_post(line(id="777", channel="mastodon"))
    disguised = parse_post(line(id="forum:777", channel="mastodon"))
    assert len({forum.id, mastodon.id, disguised.id}) == 3


def test_references_keep_their_channel_or_take_the_posts():
    post = parse_post(line(id="9", channel="mastodon", reply_to="8", reshare_of="forum:1"))
    assert (post.reply_to, post.reshare_of) == ("mastodon:8", "forum:1")
    uri = parse_post(line(channel="bluesky", id="x", reply_to="at://did:plc:a/p/1"))
    assert uri.reply_to == "bluesky:at://did:plc:a/p/1"


def test_posts_too_far_in_the_future_are_rejected_with_the_skew_named():
    now = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    rows = list(
        read_jsonl(
            [
                line(id="mastodon:1", created_at="2026-11-20T14:04:00Z"),
                line(id="mastodon:2", created_at="2999-01-01T00:00:00Z"),
            ],
            "f.jsonl",
            now=now,
        )
    )
    assert isinstance(rows[0], Post)
    assert str(rows[1]).startswith("f.jsonl:2: created_at: 2999-01-01 00:00:00Z is ")
    assert "days in the future (more than 300 s of clock skew)" in str(rows[1])
    assert check_time(parse_post(line(created_at="2026-11-20T14:06:00Z")), now) is not None
