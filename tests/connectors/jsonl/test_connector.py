"""The JSONL connector keeps every valid line and names every bad one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from townhall.connectors.base import Capability, Source
from townhall.connectors.jsonl.connector import JsonlConnector
from townhall.errors import PostFormatError
from townhall.posts import Post

FIXTURE = Path(__file__).parent / "fixtures" / "mixed.jsonl"


def test_reads_a_file_with_exact_normalised_results():
    results = list(JsonlConnector.from_path(FIXTURE).fetch())

    posts = [r for r in results if isinstance(r, Post)]
    errors = [r for r in results if isinstance(r, PostFormatError)]
    assert [p.id for p in posts] == [
        "mastodon:109876",
        "bluesky:3kx",
        "rss:https://blog.example/acme",
    ]
    assert posts[1].created_at == datetime(2026, 11, 20, 13, 5, tzinfo=UTC)
    assert posts[1].text == "<img src=x onerror=alert(1)> kettle one lid broke 😤"
    assert posts[1].extra == {"client": "graysky"}
    assert posts[2].external_id == "https://blog.example/acme"
    assert posts[2].extra == {"title": "SmartScale review"}
    assert [e.line for e in errors] == [4, 5]
    assert errors[0].reason.startswith("created_at: needs a time zone")
    assert errors[1].reason.startswith("not valid JSON")
    assert str(FIXTURE) in errors[0].message


def test_counts_every_raw_line_it_reads():
    seen: list[int] = []
    with FIXTURE.open("rb") as stream:
        list(JsonlConnector(stream, "mixed", on_line=lambda raw: seen.append(len(raw))).fetch())

    assert sum(seen) == FIXTURE.stat().st_size


def test_is_a_fetch_source():
    assert isinstance(JsonlConnector([], "x"), Source)
    assert JsonlConnector.info.capabilities == {Capability.FETCH}
