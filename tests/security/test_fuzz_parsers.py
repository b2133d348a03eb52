"""Fuzzing every parser of outside input: connector normalisation and the Post JSONL reader.

Each input either becomes valid posts or a clear error that names the line or the field; no
other exception, and no hang (each example is bounded by a deadline). A post that comes out
must also survive what the rest of Townhall does with it: serialise to Post JSONL (the bus and
the store use orjson) and read back to the same post.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from security.xss_corpus import PAYLOADS
from townhall.connectors.base import Rejected
from townhall.connectors.bluesky.normalize import UnusableRecord, to_post
from townhall.connectors.mastodon.normalize import normalise, status_to_post
from townhall.connectors.rss.connector import FeedState, RssConnector, _parse
from townhall.connectors.rss.download import Download
from townhall.connectors.rss.normalize import FeedContext
from townhall.errors import ChannelRejectedError, PostFormatError
from townhall.posts import Post, parse_post, read_jsonl

pytestmark = pytest.mark.timeout(240)

FUZZ = settings(
    max_examples=300,
    deadline=timedelta(seconds=2),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
FETCHED_AT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")

# -- strategies -------------------------------------------------------------------------------
# The corpus by index: hypothesis prints a strategy's repr, and the corpus has 6,000-char lines.
payloads = st.sampled_from(range(len(PAYLOADS))).map(lambda i: PAYLOADS[i])
# Python strings as a vendor's JSON decoder hands them out: any code point, lone surrogates too
# (the json module decodes "\ud800" to one).
any_text = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec=None), max_size=40),
    payloads,
    st.sampled_from(["", " ", "\u200b", "\ufeff", "\ud800", "\x00", "9" * 400, "2026-11-20"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    any_text,
)
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
times = st.one_of(
    st.sampled_from(
        [
            "2026-11-20T14:03:11.000Z",
            "2026-11-20T14:03:11+14:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59-12:00",
            "2026-11-20T14:03:11",
            "yesterday",
            "",
        ]
    ),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    scalars,
)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``value`` or anything else JSON can carry."""
    return st.one_of(value, json_like)


def _check_post(post: Post) -> None:
    """What every post leaving a parser must be: clean, serialisable, and stable."""
    assert not _CONTROL.search(post.text), repr(post.text)
    assert not _CONTROL.search(post.author.handle), repr(post.author.handle)
    for ref in (post.reply_to, post.reshare_of):
        assert ref is None or not ref.endswith(":None"), ref
    line = orjson.dumps(post.to_json())
    again = parse_post(line)
    assert again.to_json() == post.to_json()


# -- Mastodon ---------------------------------------------------------------------------------
accounts = st.fixed_dictionaries(
    {},
    optional={
        "acct": maybe(st.sampled_from(["bob", "bob@example.social", "@eve@evil.example"])),
        "display_name": any_text,
        "followers_count": maybe(st.integers(min_value=0, max_value=10**12)),
        "fields": maybe(st.lists(st.fixed_dictionaries({"verified_at": scalars}), max_size=2)),
    },
)
content = st.one_of(
    any_text,
    payloads.map(lambda p: f"<p>{p}</p>"),
    st.lists(st.sampled_from(["<p>", "</p>", "<a href='javascript:x'>", "</a>", "<br>", "&amp;",
                              "&#0;", "&#xD800;", "&#99999999;", "<script>", "text", "<pre>"]),
             max_size=20).map("".join),
)  # fmt: skip
statuses = st.fixed_dictionaries(
    {
        "id": maybe(st.sampled_from(["113512345678901234", "1"])),
        "created_at": times,
        "account": maybe(accounts),
    },
    optional={
        "content": maybe(content),
        "spoiler_text": maybe(any_text),
        "language": maybe(any_text),
        "url": maybe(st.sampled_from(["https://example.social/@bob/1", "javascript:alert(1)"])),
        "visibility": maybe(st.sampled_from(["public", "unlisted"])),
        "in_reply_to_id": maybe(st.sampled_from(["2", "x" * 70])),
        "reblog": maybe(st.fixed_dictionaries({"id": scalars})),
        "media_attachments": maybe(st.lists(st.fixed_dictionaries({"url": any_text}), max_size=3)),
    },
)


@FUZZ
@given(status=st.one_of(statuses, json_like))
@example(status={"id": "1", "created_at": "2026-11-20T14:03:11Z", "account": {"acct": "bob"},
                 "visibility": "\ud800"})  # fmt: skip
@example(status={"id": "1", "created_at": "2026-11-20T14:03:11Z", "account": {"acct": "bob"},
                 "media_attachments": [{"url": "https://x.example/\ud800"}]})  # fmt: skip
def test_a_mastodon_status_becomes_a_post_or_a_named_rejection(status: Any) -> None:
    result = normalise(status, "mastodon", "mastodon.example", source="mention")
    if isinstance(result, Rejected):
        assert result.where.startswith("mastodon ") and result.reason.strip()
    else:
        assert result.id.startswith("mastodon:")
        _check_post(result)


@FUZZ
@given(status=statuses)
def test_mastodon_status_to_post_raises_only_value_errors(status: dict[str, Any]) -> None:
    # The connector catches every exception; this says the pure function's own contract holds.
    try:
        post = status_to_post(status, "mastodon", "mastodon.example", source="mention")
    except ValueError as exc:  # pydantic's ValidationError is one too
        assert str(exc).strip()
    else:
        _check_post(post)


# -- Bluesky ----------------------------------------------------------------------------------
URI = "at://did:plc:q6gjnaw2blty4crticxkmujt/app.bsky.feed.post/3lbqq2lgthk2c"
facets = st.lists(
    st.fixed_dictionaries(
        {
            "index": maybe(
                st.fixed_dictionaries(
                    {
                        "byteStart": maybe(st.integers(-5, 400)),
                        "byteEnd": maybe(st.integers(-5, 400)),
                    }
                )
            ),
            "features": maybe(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "$type": st.just("app.bsky.richtext.facet#link"),
                            "uri": maybe(st.sampled_from(["https://x.example/a", "javascript:1"])),
                        }
                    ),
                    max_size=2,
                )
            ),
        }
    ),
    max_size=4,
)
records = st.fixed_dictionaries(
    {"text": maybe(any_text)},
    optional={
        "$type": maybe(st.just("app.bsky.feed.post")),
        "createdAt": times,
        "langs": maybe(st.lists(any_text, max_size=2)),
        "facets": maybe(facets),
        "reply": maybe(st.fixed_dictionaries({"parent": maybe(
            st.fixed_dictionaries({"uri": maybe(st.just(URI))}))})),
        "embed": maybe(st.fixed_dictionaries({
            "$type": st.just("app.bsky.embed.record"),
            "record": maybe(st.fixed_dictionaries({"uri": any_text}))})),
    },
)  # fmt: skip
views = st.fixed_dictionaries(
    {
        "uri": maybe(st.sampled_from([URI, "at://did:plc:x/app.bsky.feed.like/1", "at://x"])),
        "record": maybe(records),
        "author": maybe(
            st.fixed_dictionaries(
                {"handle": maybe(st.sampled_from(["fran.bsky.social", "handle.invalid"]))},
                optional={"displayName": maybe(any_text), "did": maybe(any_text)},
            )
        ),
    },
    optional={"indexedAt": times, "cid": maybe(any_text)},
)


@FUZZ
@given(view=st.one_of(views, st.dictionaries(any_text, json_like, max_size=5)))
@example(view={"uri": URI, "cid": "\ud800", "author": {"handle": "fran.bsky.social"},
               "record": {"text": "hi", "createdAt": "2026-11-20T15:00:00Z"}})  # fmt: skip
def test_a_bluesky_view_becomes_a_post_or_an_unusable_record(view: dict[str, Any]) -> None:
    try:
        post = to_post("bluesky", view, followers={"did:plc:x": 3})
    except UnusableRecord as exc:
        reason = str(exc)
        assert re.match(r"^[\w.$]+[:\s]", reason), f"no field named in {reason!r}"
    else:
        assert post.id == f"bluesky:{URI}"
        _check_post(post)


# -- RSS / Atom -------------------------------------------------------------------------------
xml_text = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
    payloads,
    st.sampled_from(["&#0;", "&#xD800;", "&amp;lt;script&amp;gt;", "]]>", "&nosuch;"]),
)
CDATA = payloads.map(lambda p: "<![CDATA[" + p.replace("]]>", "") + "]]>")


def _rss(items: list[dict[str, str]], title: str) -> str:
    body = "".join(
        "<item>" + "".join(f"<{tag}>{value}</{tag}>" for tag, value in item.items()) + "</item>"
        for item in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'  # noqa: E501


rss_items = st.lists(
    st.dictionaries(
        st.sampled_from(["title", "description", "guid", "link", "pubDate", "author", "category"]),
        st.one_of(xml_text, CDATA, st.sampled_from(["Fri, 20 Nov 2026 14:00 GMT", "Mon, 99 Zz"])),
        max_size=7,
    ),
    max_size=4,
)  # fmt: skip
documents = st.one_of(
    st.builds(_rss, rss_items, st.one_of(xml_text, CDATA)),
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"\xef\xbb\xbf<rss><channel><item><title>BOM</title></item></channel></rss>",
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;'
            b'&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><rss><channel><item><title>'
            b"&c;&c;&c;&c;&c;&c;</title></item></channel></rss>",
            b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><id>x</id><content type='html'>"
            b"&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;</content>"
            b"</entry></feed>",
            b"<rss><channel>" + b"<item><title>t</title></item>" * 200 + b"</channel></rss>",
        ]
    ),
)


@FUZZ
@given(document=documents)
@example(
    document=b"<rss><channel><item><title>a&#xD800;b&#99999999;c</title></item></channel></rss>"
)
def test_a_feed_document_becomes_posts_or_named_rejections(document: str | bytes) -> None:
    data = document.encode("utf-8") if isinstance(document, str) else document
    try:  # the connector's own reading of a downloaded document
        parsed = _parse(Download(data, None, None, {"content-type": "application/rss+xml"}))
    except ChannelRejectedError as exc:
        assert str(exc).strip()
        return
    feed = FeedContext("news", "https://news.example/rss", parsed.title, "news.example", FETCHED_AT)
    posts: list[Post] = []
    rejected: list[Rejected] = []
    seen = RssConnector._read_entries(parsed.entries, FeedState(), feed, posts, rejected, set())
    assert len(posts) + len(rejected) <= len(parsed.entries) and len(seen) <= len(parsed.entries)
    for reject in rejected:
        assert reject.where.startswith("https://news.example/rss entry") and reject.reason
        # A reason from normalisation never is a bare vendor exception name.
        assert not reject.reason.startswith(("TypeError", "AttributeError", "KeyError"))
    for post in posts:
        assert post.id.startswith("news:")
        _check_post(post)


# -- Post JSONL -------------------------------------------------------------------------------
def _valid(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "mastodon:1",
        "channel": "mastodon",
        "created_at": "2026-11-20T14:03:11Z",
        "text": "hello",
        "author": {"handle": "@bob@example.social"},
    }
    data.update(fields)
    return data


field_values = st.one_of(
    json_like,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([1e308, -0.0, 10**400 // 10**300]),
)
mutated = st.builds(
    lambda name, value: _valid(**{name: value}),
    st.sampled_from(
        ["id", "channel", "created_at", "text", "lang", "url", "author", "reply_to",
         "reshare_of", "group", "media", "extra", "topics", "\ufeffid", ""]
    ),
    field_values,
) | st.builds(
    lambda name, value: _valid(author={"handle": "@b", name: value}),
    st.sampled_from(["handle", "name", "followers", "location", "verified", "x"]),
    field_values,
)  # fmt: skip


def _nested(depth: int) -> bytes:
    return (
        b'{"id":"a:1","channel":"a","created_at":"2026-11-20T14:03:11Z","author":{"handle":"h"},"extra":{"x":'
        + b"[" * depth
        + b"]" * depth
        + b"}}"
    )


ODD_LINES = [
    b"\xef\xbb\xbf" + orjson.dumps(_valid()),
    b'{"id": "mastodon:1", "id": "mastodon:2"}',
    b'{"followers": 1' + b"0" * 5000 + b"}",
    b'{"text": "\\ud800"}',
    b'{"created_at": 1e999}',
    b"[" * 100_000,
    b"{}" * 1000,
    _nested(30),
    _nested(40),
    _nested(2000),
    b"null",
    b"\x00\x00\x00",
]
raw_lines = st.one_of(
    mutated.map(lambda data: json.dumps(data).encode()),
    st.binary(max_size=200),
    st.text(st.characters(codec=None), max_size=80).map(
        lambda t: t.encode("utf-8", "surrogatepass")
    ),
    # by index: hypothesis would print the long lines in every strategy's repr
    st.sampled_from(range(len(ODD_LINES))).map(lambda i: ODD_LINES[i]),
)


@FUZZ
@given(lines=st.lists(raw_lines, max_size=8))
def test_the_jsonl_reader_yields_posts_or_errors_naming_the_line(lines: list[bytes]) -> None:
    # Lines never contain a newline once split: the reader gets what splitting a file gives.
    split = [part for line in lines for part in line.split(b"\n")]
    expected = [i for i, raw in enumerate(split, start=1) if _content(raw)]
    seen = []
    for number, result in zip(expected, read_jsonl(split, "in.jsonl", now=FETCHED_AT), strict=True):
        if isinstance(result, PostFormatError):
            assert result.line == number and result.source == "in.jsonl"
            assert str(result).startswith(f"in.jsonl:{number}: ")
            assert result.reason.strip() and "\n" not in result.reason
            assert not _CONTROL.search(result.reason), repr(result.reason)
        else:
            assert isinstance(result, Post)
            _check_post(result)
        seen.append(number)
    assert seen == expected  # one result per line that is not blank, in order


def _content(raw: bytes) -> bytes:
    stripped = raw.strip()
    return stripped.removeprefix(b"\xef\xbb\xbf").strip()


def test_a_valid_post_line_and_a_bom_line_both_read() -> None:
    good = orjson.dumps(_valid())
    results = list(read_jsonl([b"\xef\xbb\xbf" + good, b"  ", good], "in"))
    assert [type(r) for r in results] == [Post, Post]


def test_deep_nesting_and_huge_numbers_are_errors_with_a_line_number() -> None:
    lines = [_nested(40), b'{"followers": 1' + b"0" * 5000 + b"}", b"[" * 100_000]
    errors = list(read_jsonl(lines, "in"))
    assert [e.line for e in errors if isinstance(e, PostFormatError)] == [1, 2, 3]
    assert "extra: nests deeper than 32 levels" in str(errors[0])


# -- what the fuzzing found, pinned --------------------------------------------------------------
def test_a_value_json_cannot_carry_rejects_the_post_not_the_batch() -> None:
    # A lone surrogate (Python's json decodes "\ud800" to one) in an unknown field.
    with pytest.raises(PostFormatError, match="extra: cannot be written as JSON"):
        parse_post(_valid(extra={"visibility": "\ud800"}))
    status = {"id": "1", "created_at": "2026-11-20T14:03:11Z", "account": {"acct": "bob"}}
    rejected = normalise({**status, "visibility": "\ud800"}, "mastodon", "m.example", source="x")
    assert isinstance(rejected, Rejected) and rejected.reason.startswith("extra: ")


def test_odd_mastodon_shapes_are_rejected_naming_the_field() -> None:
    status = {"id": "1", "created_at": "2026-11-20T14:03:11Z", "account": {"acct": "bob"}}
    for field, value, reason in [
        ("media_attachments", True, "media_attachments is a bool, not a list"),
        ("in_reply_to_id", [1], "in_reply_to_id is not a string"),
        ("reblog", {"id": None}, "reblog.id is missing or not a string"),
    ]:
        result = normalise({**status, field: value}, "mastodon", "m.example", source="mention")
        assert result == Rejected("mastodon status 1", reason)
    # A profile whose fields are not a list is simply not verified.
    odd = {**status, "account": {"acct": "bob", "fields": True}}
    post = normalise(odd, "mastodon", "m.example", source="mention")
    assert isinstance(post, Post) and post.author.verified is False


def test_an_address_and_a_text_lose_their_control_characters() -> None:
    post = parse_post(_valid(url="https://x.example/a\x1b[31m\tb\u202e", text="csi\x9b31m nel\x85"))
    assert post.url == "https://x.example/a[31mb"
    assert post.text == "csi31m nel"


def test_one_entry_naming_an_impossible_character_costs_only_itself() -> None:
    body = (
        b"<rss><channel><title>News</title>"
        b"<item><guid>1</guid><title>Broken &#xD800; and &#99999999;</title></item>"
        b"<item><guid>2</guid><title>Fine</title></item></channel></rss>"
    )
    parsed = _parse(Download(body, None, None, {}))
    titles = [entry.title for entry in parsed.entries]
    assert titles == ["Broken \ufffd and \ufffd", "Fine"]
