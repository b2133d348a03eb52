"""Pure normalisation rules: identity, dates, text, authors (no server)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from townhall.connectors.rss.normalize import (
    MAX_NATIVE_ID_CHARS,
    FeedContext,
    entry_date,
    entry_key,
    entry_text,
    native_id,
    normalize_entry,
)

FETCHED = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
FEED = FeedContext("news", "https://news.example/rss.xml", None, "news.example", FETCHED)


def test_identity_prefers_guid_then_link_then_title_and_date() -> None:
    assert entry_key({"id": " g ", "link": "https://x.example/1"}) == "g"
    assert entry_key({"link": "https://x.example/1"}) == "https://x.example/1"
    hashed = entry_key({"title": "T", "published": "Fri, 20 Nov 2026 12:00:00 GMT"})
    assert hashed is not None and hashed.startswith("sha256:")
    assert hashed == entry_key({"title": "T", "published": "Fri, 20 Nov 2026 12:00:00 GMT"})
    assert entry_key({"summary": "only a body"}) is None


def test_long_ids_are_hashed() -> None:
    assert native_id("a" * MAX_NATIVE_ID_CHARS) == "a" * MAX_NATIVE_ID_CHARS
    long = native_id("a" * (MAX_NATIVE_ID_CHARS + 1))
    assert long.startswith("sha256:") and len(long) == 71


def test_dates() -> None:
    parsed = feedparser.parse(
        io.BytesIO(
            b"<rss version='2.0'><channel><item><guid>1</guid>"
            b"<pubDate>Fri, 20 Nov 2026 14:03:11 +0100</pubDate></item></channel></rss>"
        )
    )
    assert entry_date(parsed.entries[0], FETCHED) == datetime(2026, 11, 20, 13, 3, 11, tzinfo=UTC)
    assert entry_date({}, FETCHED) == FETCHED
    with pytest.raises(ValueError, match="is not a date"):
        entry_date({"published": "soon", "published_parsed": None}, FETCHED)


def test_text_says_the_title_once_and_keeps_pre_lines() -> None:
    entry = {
        "title": "Outage",
        "title_detail": {"type": "text/plain"},
        "summary": "<p>Outage</p><p>in the\n   north</p><pre>a\nb</pre>",
        "summary_detail": {"type": "text/html"},
    }
    assert entry_text(entry) == "Outage\n\nin the north\n\na\nb"
    entry["summary"] = "<p>Outage in the\n   north</p>"
    assert entry_text(entry) == "Outage in the north"


def test_author_falls_back_to_the_feed_host() -> None:
    post = normalize_entry({"title": "T", "link": "ftp://x.example/f"}, "k", FEED)
    assert post.url is None
    assert (post.author.handle, post.author.name) == ("news.example", "news.example")
    assert post.id == "news:k" and post.created_at == FETCHED


def test_the_recorded_feeds_parse_without_rejects(fixtures: Path) -> None:
    for name in ("news_example.rss.xml", "acme_newsroom.atom.xml"):
        parsed = feedparser.parse(io.BytesIO((fixtures / name).read_bytes()))
        assert not parsed.bozo and len(parsed.entries) == 2
        for entry in parsed.entries:
            key = entry_key(entry)
            assert key is not None
            normalize_entry(entry, key, FEED)
