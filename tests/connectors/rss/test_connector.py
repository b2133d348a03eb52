"""``RssConnector`` over httpx + feedparser against the stand-in feed server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from townhall.connectors.base import Capability, Listener, Publisher, Rejected
from townhall.connectors.rss.connector import MAX_SEEN, RssConnector
from townhall.connectors.rss.standin import FeedStandin
from townhall.connectors.standin import LocalServer, free_port
from townhall.errors import (
    ChannelAuthError,
    ChannelRateLimitedError,
    ChannelRejectedError,
    ChannelUnavailableError,
)
from townhall.posts import Post

WHEN = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
Connect = Callable[..., RssConnector]


def _news(standin: FeedStandin) -> None:
    standin.add_feed("/news.rss", "rss", "News Example")
    standin.add_entry("/news.rss", "First", "<p>One</p>", guid="n-1", published=WHEN)
    standin.add_entry(
        "/news.rss", "Second", "<p>Two</p>", guid="n-2", published=WHEN + timedelta(hours=1)
    )


def _blog(standin: FeedStandin) -> None:
    standin.add_feed("/blog.atom", "atom", "Product Blog")
    standin.add_entry(
        "/blog.atom",
        "Atom post",
        "<p>Hello from <b>Atom</b></p>",
        guid="tag:blog.example,2026:1",
        published=WHEN + timedelta(minutes=30),
        author="Dana",
        tags=["launch", "kettle"],
    )


# -- the contract -------------------------------------------------------------------------------


def test_is_a_listener_and_only_fetches(connect: Connect) -> None:
    connector = connect("/news.rss")
    assert isinstance(connector, Listener)
    assert not isinstance(connector, Publisher)
    assert connector.info.name == "rss"
    assert connector.info.capabilities == {Capability.FETCH}


def test_wait_for_news_returns_when_stopped(connect: Connect) -> None:
    stop = threading.Event()
    stop.set()
    connect("/news.rss").wait_for_news(60.0, stop)  # returns at once: stop is set


# -- check ----------------------------------------------------------------------------------------


def test_check_describes_every_feed(standin: FeedStandin, connect: Connect) -> None:
    _news(standin)
    _blog(standin)
    assert connect("/news.rss", "/blog.atom").check() == (
        "2 feeds, 3 entries (News Example, Product Blog)"
    )
    assert standin.last_headers("/news.rss").get("if-none-match") is None


def test_check_names_the_failing_feeds(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    _news(standin)
    standin.add_feed("/gone.rss")
    standin.fail("/gone.rss", 404)
    with pytest.raises(ChannelRejectedError) as caught:
        connect("/news.rss", "/gone.rss").check()
    assert caught.value.message == (
        f"1 of 2 feeds failed: {server.url}/gone.rss: HTTP 404 Not Found: "
        "no feed at this address; fix it in the policy"
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, ChannelAuthError), (403, ChannelAuthError), (410, ChannelRejectedError)],
)
def test_check_maps_statuses(
    standin: FeedStandin, connect: Connect, status: int, error: type[Exception]
) -> None:
    standin.add_feed("/news.rss")
    standin.fail("/news.rss", status)
    with pytest.raises(error, match=f"HTTP {status}"):
        connect("/news.rss").check()


def test_check_refuses_a_web_page(standin: FeedStandin, connect: Connect) -> None:
    standin.add_feed("/news.rss")
    standin.serve_html("/news.rss")
    with pytest.raises(ChannelRejectedError, match="not an RSS or Atom feed"):
        connect("/news.rss").check()


def test_check_of_an_unreachable_host_is_unavailable(connect: Connect) -> None:
    with pytest.raises(ChannelUnavailableError, match="cannot reach the feed server"):
        connect(f"http://127.0.0.1:{free_port()}/feed.xml").check()


def test_a_channel_without_feeds_is_rejected(connect: Connect) -> None:
    connector = connect()
    with pytest.raises(ChannelRejectedError, match="lists no feeds"):
        connector.check()
    with pytest.raises(ChannelRejectedError, match="lists no feeds"):
        connector.fetch_new({})


# -- first and later runs ------------------------------------------------------------------------


def test_first_run_returns_every_entry_oldest_first(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    _news(standin)
    _blog(standin)
    fetched = connect("/news.rss", "/blog.atom").fetch_new({})
    assert [p.id for p in fetched.posts] == [
        "news:n-1",
        "news:tag:blog.example,2026:1",
        "news:n-2",
    ]
    assert fetched.rejected == []
    assert fetched.not_modified is False
    news = fetched.cursor["feeds"][f"{server.url}/news.rss"]
    assert news["seen"] == ["n-2", "n-1"]  # document order: newest first
    assert news["etag"].startswith('"') and news["modified"].endswith(" GMT")
    assert fetched.posts[1] == Post.model_validate(
        {
            "id": "news:tag:blog.example,2026:1",
            "channel": "news",
            "created_at": "2026-11-20T09:30:00Z",
            "text": "Atom post\n\nHello from Atom",
            "url": f"{server.url}/articles/3",
            "author": {"handle": "Dana", "name": "Dana", "followers": 0},
            "extra": {
                "feed_url": f"{server.url}/blog.atom",
                "feed_title": "Product Blog",
                "tags": ["launch", "kettle"],
            },
        }
    )


def test_second_run_is_a_conditional_get_answered_304(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    _news(standin)
    connector = connect("/news.rss")
    first = connector.fetch_new({})
    second = connector.fetch_new(first.cursor)
    state = first.cursor["feeds"][f"{server.url}/news.rss"]
    assert standin.last_headers("/news.rss")["if-none-match"] == state["etag"]
    assert standin.last_headers("/news.rss")["if-modified-since"] == state["modified"]
    assert standin.counters("/news.rss").not_modified == 1
    assert standin.counters("/news.rss").ok == 1
    assert second.posts == [] and second.rejected == []
    assert second.not_modified is True
    assert second.cursor == first.cursor


def test_if_modified_since_alone_is_enough(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    _news(standin)
    connector = connect("/news.rss")
    first = connector.fetch_new({})
    state = first.cursor["feeds"][f"{server.url}/news.rss"]
    cursor = {"feeds": {f"{server.url}/news.rss": {**state, "etag": None}}}
    assert connector.fetch_new(cursor).not_modified is True
    assert "if-none-match" not in standin.last_headers("/news.rss")


def test_a_new_entry_is_the_only_post(standin: FeedStandin, connect: Connect) -> None:
    _news(standin)
    connector = connect("/news.rss")
    first = connector.fetch_new({})
    standin.add_entry("/news.rss", "Third", "<p>Three</p>", guid="n-3", published=WHEN)
    second = connector.fetch_new(first.cursor)
    assert [p.id for p in second.posts] == ["news:n-3"]
    assert second.not_modified is False
    assert connector.fetch_new(second.cursor).posts == []


def test_not_modified_only_when_every_feed_says_304(standin: FeedStandin, connect: Connect) -> None:
    _news(standin)
    _blog(standin)
    connector = connect("/news.rss", "/blog.atom")
    first = connector.fetch_new({})
    standin.add_entry("/blog.atom", "More", guid="urn:b-2", published=WHEN)
    second = connector.fetch_new(first.cursor)
    assert [p.id for p in second.posts] == ["news:urn:b-2"]
    assert second.not_modified is False
    assert standin.counters("/news.rss").not_modified == 1


def test_entries_without_guid_are_known_by_their_link(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    standin.add_feed("/news.rss")
    standin.add_entry("/news.rss", "A", with_guid=False, published=WHEN)
    connector = connect("/news.rss")
    first = connector.fetch_new({})
    assert [p.id for p in first.posts] == [f"news:{server.url}/articles/1"]
    standin.add_entry("/news.rss", "B", with_guid=False, published=WHEN)
    second = connector.fetch_new(first.cursor)
    assert standin.counters("/news.rss").ok == 2  # the feed changed: a full 200
    assert [p.id for p in second.posts] == [f"news:{server.url}/articles/2"]


def test_entries_without_guid_or_link_are_known_by_title_and_date(
    standin: FeedStandin, connect: Connect
) -> None:
    standin.add_feed("/news.rss")
    standin.add_entry("/news.rss", "Bare", with_guid=False, with_link=False, published=WHEN)
    connector = connect("/news.rss")
    first = connector.fetch_new({})
    (post,) = first.posts
    assert post.id.startswith("news:sha256:") and len(post.id) == len("news:sha256:") + 64
    assert post.url is None
    standin.add_entry("/news.rss", "Other", guid="x", published=WHEN)
    assert [p.id for p in connector.fetch_new(first.cursor).posts] == ["news:x"]


def test_an_undated_entry_takes_the_fetch_time(
    standin: FeedStandin, connect: Connect, fetched_at: datetime
) -> None:
    standin.add_feed("/news.rss")
    standin.add_entry("/news.rss", "Undated", guid="u-1", dated=False)
    (post,) = connect("/news.rss").fetch_new({}).posts
    assert post.created_at == fetched_at


def test_the_same_entry_in_two_feeds_is_one_post(standin: FeedStandin, connect: Connect) -> None:
    _news(standin)
    standin.add_feed("/mirror.rss", "rss")
    standin.add_entry("/mirror.rss", "First", "<p>One</p>", guid="n-1", published=WHEN)
    fetched = connect("/news.rss", "/mirror.rss").fetch_new({})
    assert [p.id for p in fetched.posts] == ["news:n-1", "news:n-2"]


def test_a_damaged_cursor_is_a_first_run(standin: FeedStandin, connect: Connect) -> None:
    _news(standin)
    fetched = connect("/news.rss").fetch_new({"feeds": {"x": 1, "y": "z"}, "junk": True})
    assert len(fetched.posts) == 2


def test_seen_is_bounded_and_keeps_what_the_feed_still_lists(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    standin.add_feed("/big.rss")
    for n in range(MAX_SEEN + 100):
        standin.add_entry("/big.rss", f"Entry {n}", guid=f"g-{n}", published=WHEN)
    connector = connect("/big.rss")
    url = f"{server.url}/big.rss"
    old = [f"old-{n}" for n in range(50)]
    first = connector.fetch_new({"feeds": {url: {"seen": old}}})
    assert len(first.posts) == MAX_SEEN + 100
    seen = first.cursor["feeds"][url]["seen"]
    assert len(seen) == MAX_SEEN
    assert seen[0] == f"g-{MAX_SEEN + 99}" and "old-0" not in seen


# -- redirects, RSS and Atom, fixtures -----------------------------------------------------------


def test_redirects_are_followed_and_the_cursor_keeps_the_configured_address(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    _news(standin)
    standin.redirect("/old.rss", "/news.rss", status=301)
    connector = connect("/old.rss")
    first = connector.fetch_new({})
    assert [p.id for p in first.posts] == ["news:n-1", "news:n-2"]
    assert list(first.cursor["feeds"]) == [f"{server.url}/old.rss"]
    assert first.posts[0].extra["feed_url"] == f"{server.url}/old.rss"
    assert connector.fetch_new(first.cursor).not_modified is True  # validators survive redirects
    assert standin.counters("/old.rss").redirects == 2


def test_a_redirect_loop_is_rejected(standin: FeedStandin, connect: Connect) -> None:
    standin.redirect("/a.rss", "/b.rss", status=302)
    standin.redirect("/b.rss", "/a.rss", status=302)
    with pytest.raises(ChannelRejectedError, match="more than 5 redirects"):
        connect("/a.rss").fetch_new({})


def test_a_recorded_rss_item_normalises_exactly(
    standin: FeedStandin, connect: Connect, server: LocalServer, fixtures: Path
) -> None:
    body = (fixtures / "news_example.rss.xml").read_bytes()
    standin.serve_recorded("/technology/rss.xml", body, "application/rss+xml; charset=utf-8")
    fetched = connect("/technology/rss.xml").fetch_new({})
    assert fetched.rejected == []
    assert [p.id for p in fetched.posts] == [
        "news:news-example-technology-4410950",
        "news:news-example-technology-4411872",
    ]
    assert fetched.posts[1] == Post.model_validate(
        {
            "id": "news:news-example-technology-4411872",
            "channel": "news",
            "created_at": "2026-11-20T13:03:11Z",
            "text": (
                "ACME recalls KettleOne after reports of faulty lids\n\n"
                "ACME has recalled its KettleOne (https://acme.example/kettleone) kettle after "
                "customers reported lids that open while boiling.\n\n"
                "The company says 38,000 units sold since March are affected.\n"
                "Owners can check their serial number online."
            ),
            "url": "https://news.example/technology/2026/nov/20/acme-kettleone-recall?utm_source=rss",
            "author": {"handle": "Priya Natarajan", "name": "Priya Natarajan", "followers": 0},
            "media": ["https://cdn.news.example/img/4411872.jpg"],
            "extra": {
                "feed_url": f"{server.url}/technology/rss.xml",
                "feed_title": "News Example – Technology",
                "tags": ["Consumer affairs", "ACME"],
            },
        }
    )


def test_a_recorded_atom_entry_normalises_exactly(
    standin: FeedStandin, connect: Connect, server: LocalServer, fixtures: Path
) -> None:
    body = (fixtures / "acme_newsroom.atom.xml").read_bytes()
    standin.serve_recorded("/feed.atom", body, "application/atom+xml")
    fetched = connect("/feed.atom").fetch_new({})
    assert fetched.rejected == []
    latest = fetched.posts[-1]
    # The relative link resolves against the address the feed was fetched from.
    assert latest == Post.model_validate(
        {
            "id": "news:tag:newsroom.acme.example,2026-11-20:/press/kettleone-lid-update",
            "channel": "news",
            "created_at": "2026-11-20T16:30:00Z",
            "text": (
                "KettleOne lid update & free replacement\n\n"
                "We are sorry. Owners of a KettleOne made between March and October can order a "
                "free replacement lid at acme.example/lid.\n\n"
                "Questions: care@acme.example"
            ),
            "url": f"{server.url}/press/kettleone-lid-update",
            "author": {"handle": "ACME Press Office", "name": "ACME Press Office", "followers": 0},
            "extra": {
                "feed_url": f"{server.url}/feed.atom",
                "feed_title": "ACME Newsroom",
                "tags": ["press-release", "KettleOne"],
            },
        }
    )
    older = fetched.posts[0]
    assert older.created_at == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # updated, no published
    assert older.author.handle == "ACME Newsroom"  # no author: the feed's title


# -- hostile content -----------------------------------------------------------------------------


def test_html_and_scripts_in_summaries_become_plain_text(
    standin: FeedStandin, connect: Connect
) -> None:
    standin.add_feed("/news.rss")
    standin.add_entry(
        "/news.rss",
        "<b>Bold</b> &amp; <script>alert(1)</script>title",
        '<p onclick="x()">Hi <script>steal(document.cookie)</script><style>p{}</style>'
        '<img src=x onerror="alert(2)"><b>there</b></p><iframe src="https://evil.example">'
        '</iframe><p>Read <a href="javascript:alert(3)">this</a> and '
        '<a href="https://ok.example/a">that</a>.</p>',
        guid="h-1",
        published=WHEN,
    )
    (post,) = connect("/news.rss").fetch_new({}).posts
    assert post.text == "Bold & title\n\nHi there\n\nRead this and that (https://ok.example/a)."


def test_odd_unicode_is_cleaned(standin: FeedStandin, connect: Connect) -> None:
    standin.add_feed("/news.rss")
    standin.add_entry(
        "/news.rss",
        "Cafe\u0301 \u202egnp.exe\u202c zero\u200bwidth \x01bell 𝕏 🫖",
        "<p>\ufeffBOM and \u2066isolate\u2069 and e\u0301</p>",
        guid="u-\u200b1",
        published=WHEN,
        author="\u202eevil\u202c",
    )
    (post,) = connect("/news.rss").fetch_new({}).posts
    assert post.text == "Café gnp.exe zerowidth bell 𝕏 🫖\n\nBOM and isolate and é"
    assert post.id == "news:u-1"
    assert post.author.handle == "evil"


def test_hostile_entries_are_rejected_one_by_one_and_the_rest_kept(
    standin: FeedStandin, connect: Connect, server: LocalServer, fixtures: Path
) -> None:
    body = (fixtures / "hostile.rss.xml").read_bytes()
    standin.serve_recorded("/digest.rss", body, "application/rss+xml")
    url = f"{server.url}/digest.rss"
    connector = connect("/digest.rss")
    fetched = connector.fetch_new({})
    assert fetched.rejected == [
        Rejected(f"{url} entry forum-2", "created_at: 'sometime last week' is not a date"),
        Rejected(
            f"{url} entry #3", "no guid, link, title or date to tell it apart from other entries"
        ),
        Rejected(f"{url} entry forum-6", "text: the entry has no title, content or link"),
    ]
    by_id = {p.external_id: p for p in fetched.posts}
    assert len(by_id) == 3
    assert by_id["https://forum.example/t/1"].text == "Fine entry\n\nKept."
    script = by_id["forum-4"]
    assert script.url is None and script.text == "Script link\n\nClick here"
    assert script.author.handle == "Hostile Forum Digest"  # the feed title, as plain text
    (long_id,) = [k for k in by_id if k.startswith("sha256:")]
    assert len(long_id) == len("sha256:") + 64
    # Rejected entries are remembered too: the next change of the feed does not repeat them.
    assert "forum-2" in fetched.cursor["feeds"][url]["seen"]


def test_a_huge_entry_is_cut_to_a_sane_length(standin: FeedStandin, connect: Connect) -> None:
    standin.add_feed("/news.rss")
    standin.add_entry("/news.rss", "Long", "<p>" + "word " * 100_000 + "</p>", guid="l-1")
    (post,) = connect("/news.rss").fetch_new({}).posts
    assert len(post.text) == 20_000 and post.text.endswith("…")


def test_a_malformed_feed_beside_a_good_one(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    _news(standin)
    _blog(standin)
    connector = connect("/news.rss", "/blog.atom")
    first = connector.fetch_new({})
    standin.add_entry("/news.rss", "Third", guid="n-3", published=WHEN)
    standin.add_entry("/blog.atom", "Broken", guid="urn:b-2", published=WHEN)
    standin.serve_malformed("/blog.atom", keep_entries=False)
    second = connector.fetch_new(first.cursor)
    assert [p.id for p in second.posts] == ["news:n-3"]
    (rejected,) = second.rejected
    assert rejected.where == f"{server.url}/blog.atom"
    assert rejected.reason.startswith("not a well-formed feed (")
    blog = f"{server.url}/blog.atom"
    assert second.cursor["feeds"][blog] == first.cursor["feeds"][blog]  # left as it was


def test_a_malformed_feed_with_readable_entries_keeps_them(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    standin.add_feed("/news.rss")
    for n in range(6):
        standin.add_entry("/news.rss", f"Entry {n}", f"<p>Body {n}</p>", guid=f"m-{n}")
    standin.serve_malformed("/news.rss", keep_entries=True)
    fetched = connect("/news.rss").fetch_new({})
    assert fetched.posts  # what could be read is kept
    (rejected,) = fetched.rejected
    assert rejected.where == f"{server.url}/news.rss"
    assert rejected.reason.startswith("not a well-formed feed (")
    assert rejected.reason.endswith(f"kept the {len(fetched.posts)} entries it could read")


def test_a_huge_streamed_body_is_cut_with_a_clear_reason(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    _news(standin)
    standin.add_feed("/huge.rss")
    standin.serve_huge("/huge.rss", 11 * 1024 * 1024)
    fetched = connect("/news.rss", "/huge.rss").fetch_new({})
    assert len(fetched.posts) == 2
    assert fetched.rejected == [
        Rejected(
            f"{server.url}/huge.rss",
            "the feed is over the 10,485,760-byte limit; stopped reading it there",
        )
    ]


def test_a_declared_huge_body_is_refused_before_reading(
    standin: FeedStandin, connect: Connect
) -> None:
    standin.add_feed("/huge.rss")
    standin.serve_huge("/huge.rss", 2_000_000, declare_length=True)
    with pytest.raises(ChannelRejectedError, match="2,000,000 bytes, over the 1,000,000-byte"):
        connect("/huge.rss", max_bytes=1_000_000).fetch_new({})


# -- failures ------------------------------------------------------------------------------------


def test_429_with_retry_after_seconds_is_rate_limited(
    standin: FeedStandin, connect: Connect, fetched_at: datetime
) -> None:
    standin.add_feed("/news.rss")
    standin.fail("/news.rss", 429, retry_after=120)
    with pytest.raises(ChannelRateLimitedError) as caught:
        connect("/news.rss").fetch_new({})
    assert caught.value.retry_at == fetched_at + timedelta(seconds=120)


def test_503_with_a_retry_after_date_is_rate_limited(
    standin: FeedStandin, connect: Connect
) -> None:
    standin.add_feed("/news.rss")
    standin.fail("/news.rss", 503, retry_after="Fri, 20 Nov 2026 15:30:00 GMT")
    with pytest.raises(ChannelRateLimitedError) as caught:
        connect("/news.rss").fetch_new({})
    assert caught.value.retry_at == datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def test_a_rate_limited_feed_beside_a_good_one_is_rejected_not_raised(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    _news(standin)
    standin.add_feed("/busy.rss")
    standin.fail("/busy.rss", 429, retry_after=60)
    fetched = connect("/news.rss", "/busy.rss").fetch_new({})
    assert len(fetched.posts) == 2
    assert [r.where for r in fetched.rejected] == [f"{server.url}/busy.rss"]
    assert "slow down" in fetched.rejected[0].reason
    assert f"{server.url}/busy.rss" not in fetched.cursor["feeds"]


def test_every_feed_failing_the_same_way_raises(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    for path in ("/a.rss", "/b.rss"):
        standin.add_feed(path)
        standin.fail(path, 404)
    with pytest.raises(ChannelRejectedError) as caught:
        connect("/a.rss", "/b.rss").fetch_new({})
    assert caught.value.message.startswith(f"all 2 feeds failed: {server.url}/a.rss: HTTP 404")


def test_every_feed_failing_differently_is_reported_per_feed(
    standin: FeedStandin, connect: Connect
) -> None:
    standin.add_feed("/a.rss")
    standin.fail("/a.rss", 404)
    standin.add_feed("/b.rss")
    standin.fail("/b.rss", 401)
    fetched = connect("/a.rss", "/b.rss").fetch_new({"feeds": {}})
    assert fetched.posts == [] and len(fetched.rejected) == 2
    assert fetched.cursor == {"feeds": {}}


def test_a_refused_login_is_an_auth_error(standin: FeedStandin, connect: Connect) -> None:
    standin.add_feed("/private.rss")
    standin.fail("/private.rss", 401)
    with pytest.raises(ChannelAuthError, match="needs a login"):
        connect("/private.rss").fetch_new({})


def test_a_server_error_is_unavailable(standin: FeedStandin, connect: Connect) -> None:
    standin.add_feed("/news.rss")
    standin.fail("/news.rss", 500)
    with pytest.raises(ChannelUnavailableError, match="HTTP 500") as caught:
        connect("/news.rss").fetch_new({})
    assert not isinstance(caught.value, ChannelRateLimitedError)


def test_a_failing_feed_keeps_its_cursor_entry(
    standin: FeedStandin, connect: Connect, server: LocalServer
) -> None:
    _news(standin)
    _blog(standin)
    connector = connect("/news.rss", "/blog.atom")
    first = connector.fetch_new({})
    standin.fail("/news.rss", 500)
    standin.add_entry("/blog.atom", "More", guid="urn:b-2", published=WHEN)
    second = connector.fetch_new(first.cursor)
    news = f"{server.url}/news.rss"
    assert second.cursor["feeds"][news] == first.cursor["feeds"][news]
    assert [p.id for p in second.posts] == ["news:urn:b-2"]
    standin.heal("/news.rss")
    standin.add_entry("/news.rss", "Back", guid="n-3", published=WHEN)
    assert [p.id for p in connector.fetch_new(second.cursor).posts] == ["news:n-3"]


def test_a_feed_that_does_not_answer_in_time_is_unavailable(
    standin: FeedStandin, connect: Connect
) -> None:
    standin.add_feed("/slow.rss")
    standin.hang("/slow.rss")
    with pytest.raises(ChannelUnavailableError, match=r"no answer within 0\.3 s"):
        connect("/slow.rss", timeout=0.3).fetch_new({})
