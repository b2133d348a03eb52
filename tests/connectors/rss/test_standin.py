"""The stand-in feed server: escaping, validators, the index page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import httpx

from townhall.connectors.rss.standin import FeedStandin
from townhall.connectors.standin import LocalServer

WHEN = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_rss_text_is_escaped_and_reads_back_exactly(
    standin: FeedStandin, server: LocalServer
) -> None:
    standin.add_feed("/news.rss", "rss", "A & B <News>")
    standin.add_entry("/news.rss", 'x < y & ]]> "q"', "<p>a &amp; b</p>", guid="g&1")
    body = httpx.get(f"{server.url}/news.rss").content
    item = ET.fromstring(body).find("channel/item")  # noqa: S314 (our own stand-in's output)
    assert item is not None
    assert item.findtext("title") == 'x < y & ]]> "q"'
    assert item.findtext("description") == "<p>a &amp; b</p>"
    assert item.findtext("guid") == "g&1"


def test_validators_and_304(standin: FeedStandin, server: LocalServer) -> None:
    standin.add_feed("/blog.atom", "atom")
    standin.add_entry("/blog.atom", "One", guid="urn:1", published=WHEN)
    first = httpx.get(f"{server.url}/blog.atom")
    assert first.headers["content-type"] == "application/atom+xml; charset=utf-8"
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert httpx.get(f"{server.url}/blog.atom", headers={"If-None-Match": etag}).status_code == 304
    since = {"If-Modified-Since": modified}
    assert httpx.get(f"{server.url}/blog.atom", headers=since).status_code == 304
    standin.add_entry("/blog.atom", "Two", guid="urn:2", published=WHEN)
    again = httpx.get(f"{server.url}/blog.atom", headers={"If-None-Match": etag, **since})
    assert again.status_code == 200 and again.headers["etag"] != etag
    assert httpx.get(f"{server.url}/blog.atom", headers=since).status_code == 200
    counters = standin.counters("/blog.atom")
    assert (counters.requests, counters.ok, counters.not_modified) == (5, 3, 2)


def test_index_page_says_it_is_a_stand_in_and_escapes(
    standin: FeedStandin, server: LocalServer
) -> None:
    standin.add_feed("/news.rss", "rss", "<script>alert(1)</script>")
    standin.add_entry("/news.rss", "<img src=x onerror=alert(2)>")
    page = httpx.get(server.url + "/").text
    assert "Local stand-in feed server" in page and "not a real news site" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img" not in page


def test_unknown_feeds_are_404(server: LocalServer) -> None:
    assert httpx.get(f"{server.url}/nothing.rss").status_code == 404


def test_the_demo_feeds_read_cleanly(standin: FeedStandin, server: LocalServer) -> None:
    from townhall.connectors.base import Credentials
    from townhall.connectors.rss import RssConnector
    from townhall.org.policy import Channel

    feeds = [server.url + path for path in standin.seed_demo()]
    channel = Channel(id="rss", kind="rss", account="feeds", default_owner="pr", feeds=feeds)
    connector = RssConnector(channel, Credentials())
    try:
        assert connector.check() == (
            "2 feeds, 3 entries (News Example – Technology, ACME Newsroom)"
        )
        fetched = connector.fetch_new({})
    finally:
        connector.close()
    assert len(fetched.posts) == 3 and fetched.rejected == []
