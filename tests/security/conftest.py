"""Security fixtures: the web app of tests/web, and the XSS corpus as posts from every source.

The corpus reaches Townhall the ways outside text does: Post JSONL through the ingest reader,
and the Mastodon, Bluesky and RSS connectors reading their local stand-ins (Mastodon content
and feed entries are HTML, so each payload goes in both as escaped text and as raw markup).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from security.xss_corpus import PAYLOADS, SHORT
from townhall.connectors.base import Credentials
from townhall.connectors.bluesky.connector import BlueskyConnector
from townhall.connectors.bluesky.standin import BlueskyStandin
from townhall.connectors.mastodon.connector import MastodonConnector
from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.connectors.rss import RssConnector
from townhall.connectors.rss.standin import FeedStandin
from townhall.connectors.standin import LocalServer
from townhall.db import session_factory, transaction
from townhall.models import Role
from townhall.org.accounts import upsert_user
from townhall.org.policy import Channel
from townhall.posts import Post, read_jsonl

# The app over a fresh database, uvicorn and Chromium: the same fixtures as the web tests use.
from web.conftest import (  # noqa: F401
    PASSWORD,
    Site,
    browser,
    client,
    live_server,
    policy,
    site,
)

ADMIN = "ada.admin@acme.example"
AT = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
BLUESKY_PASSWORD = "abcd-efgh-ijkl-mnop"
MASTODON_TOKEN = "xss-token"


def chunks(texts: tuple[str, ...], limit: int) -> list[str]:
    """``texts`` joined by newlines into pieces of at most ``limit`` UTF-8 bytes (a text
    longer than ``limit`` alone is left out: the sources that call this cap post sizes)."""
    pieces: list[str] = []
    current = ""
    for text in texts:
        candidate = f"{current}\n{text}" if current else text
        if len(candidate.encode()) <= limit:
            current = candidate
        elif len(text.encode()) <= limit:
            pieces.append(current)
            current = text
    if current:
        pieces.append(current)
    return [p for p in pieces if p]


def jsonl_lines(per_post: int = 1) -> list[bytes]:
    """Post JSONL lines carrying the corpus, ``per_post`` payloads to a line, with payloads in
    every free field of a post (text, author handle, name and location, language, address,
    group, media, and an unknown field that lands in ``extra``)."""
    lines = []
    for n, start in enumerate(range(0, len(PAYLOADS), per_post), start=1):
        payload = "\n".join(PAYLOADS[start : start + per_post])
        short = " ".join(SHORT[(start + k) % len(SHORT)] for k in range(per_post))
        data = {
            "id": f"forum:xss-{n}",
            "channel": "forum",
            "created_at": (AT + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "text": f"My AirFry 5 broke {payload}",
            "lang": short[:16],
            "url": "https://forum.acme.example/t/" + short.replace("\n", " ")[:200],
            "author": {
                "handle": short[:320],
                "name": payload[:500],
                "followers": 10 * n,
                "location": short[:500],
            },
            "group": short[:500],
            "media": [{"alt": short, "url": "https://img.example/" + short[:100]}],
            "topics": [short],
            "reply_to": None,
        }
        lines.append(orjson.dumps(data))
    return lines


def from_jsonl(per_post: int = 1) -> list[Post]:
    """The corpus through the ingest reader (every line must parse: they are all valid)."""
    lines = jsonl_lines(per_post)
    results = list(read_jsonl(lines, "xss.jsonl"))
    posts = [r for r in results if isinstance(r, Post)]
    assert len(posts) == len(lines), [str(r) for r in results if not isinstance(r, Post)]
    return posts


def from_mastodon() -> list[Post]:
    """Mentions on the Mastodon stand-in whose content carries the payloads, read by the
    Mastodon connector (Mastodon.py) and normalised from their HTML."""
    standin = MastodonStandin(domain="mastodon.example", username="acme", token=MASTODON_TOKEN)
    with LocalServer(standin.app) as server:
        for n, text in enumerate(chunks(PAYLOADS, 3_000), start=1):
            who = f"eve{n}@evil.example"
            standin.author(who, name=SHORT[n % len(SHORT)][:200], followers=50)
            # As Mastodon escapes a status's text, and as raw markup from a hostile server.
            content = f"<p>{html.escape(text)}</p><p>{text}</p>"
            standin.add_mention(
                who, text, at=AT + timedelta(minutes=n), content=content, spoiler_text=SHORT[n]
            )
        channel = Channel.model_validate(
            {
                "id": "mastodon",
                "kind": "mastodon",
                "account": "@acme@mastodon.example",
                "default_owner": "customer_service",
                "api_base_url": server.url,
                "token_env": "TOWNHALL_TEST_MASTODON_TOKEN",
                "listen": {"mentions": True},
            }
        )
        connector = MastodonConnector(channel, Credentials(secret=MASTODON_TOKEN), timeout=10)
        try:
            fetched = connector.fetch_new({})
        finally:
            connector.close()
    assert fetched.posts and not fetched.rejected, fetched.rejected
    return list(fetched.posts)


def from_bluesky() -> list[Post]:
    """Mentions on the Bluesky stand-in, read by the Bluesky connector (atproto)."""
    standin = BlueskyStandin("acme.example", BLUESKY_PASSWORD)
    with LocalServer(standin.app) as server:
        for n, text in enumerate(chunks(PAYLOADS, 2_900), start=1):
            handle = f"mallory{n}.bsky.social"
            standin.add_actor(handle, SHORT[(n * 7) % len(SHORT)][:60], followers=30)
            standin.add_mention(handle, text, langs=["en"])
        channel = Channel.model_validate(
            {
                "id": "bluesky",
                "kind": "bluesky",
                "account": "acme.example",
                "default_owner": "customer_service",
                "api_base_url": server.url,
                "password_env": "BLUESKY_APP_PASSWORD",
                "listen": {"mentions": True},
            }
        )
        connector = BlueskyConnector(channel, Credentials(secret=BLUESKY_PASSWORD), timeout=10)
        try:
            fetched = connector.fetch_new({})
        finally:
            connector.close()
    assert fetched.posts and not fetched.rejected, fetched.rejected
    return list(fetched.posts)


def from_rss() -> list[Post]:
    """Entries on the stand-in feed host (titles, HTML summaries, authors, links, tags), read
    by the RSS connector (feedparser)."""
    standin = FeedStandin(clock=lambda: AT)
    with LocalServer(standin.app) as server:
        path = standin.add_feed("/news.rss", title="Hostile News")
        for n, text in enumerate(chunks(PAYLOADS, 3_000), start=1):
            short = SHORT[(n * 3) % len(SHORT)]
            standin.add_entry(
                path,
                title=short[:200],
                summary_html=f"<p>{html.escape(text)}</p>{text}",
                link=f"https://news.example/{n}?q=" + short[:100],
                author=SHORT[(n * 5) % len(SHORT)][:100],
                published=AT + timedelta(minutes=n),
                tags=SHORT[:3],
            )
        channel = Channel(
            id="rss",
            kind="rss",
            account="feeds",
            default_owner="pr",
            feeds=[server.url + path],
        )
        connector = RssConnector(channel, Credentials(), clock=lambda: AT + timedelta(hours=1))
        try:
            fetched = connector.fetch_new({})
        finally:
            standin.release()
            connector.close()
    assert fetched.posts and not fetched.rejected, fetched.rejected
    return list(fetched.posts)


@pytest.fixture
def corpus_posts() -> list[Post]:
    """The whole corpus as posts: JSONL, Mastodon, Bluesky and RSS."""
    return from_jsonl(per_post=3) + from_mastodon() + from_bluesky() + from_rss()


@pytest.fixture
def admin(site: Site) -> str:  # noqa: F811 (the fixture)
    """An administrator (the policy editor is theirs); returns the e-mail to log in with."""
    with transaction(session_factory(site.engine)) as session:
        upsert_user(
            session,
            email=ADMIN,
            name="Ada Admin",
            department="pr",
            role=Role.ADMIN,
            password=PASSWORD,
            now=datetime.now(UTC),
        )
    return ADMIN


@pytest.fixture
def guarded_page(browser: Any, live_server: Any) -> Iterator[Any]:  # noqa: F811
    """A Chromium page on the live server that records every dialog (a test fails on any)
    and every request leaving 127.0.0.1 (a payload that loads or navigates somewhere)."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    tab.dialogs = []
    tab.outside = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))

    def watch(request: Any) -> None:
        if not request.url.startswith((live_server.url, "data:", "about:")):
            tab.outside.append(request.url)

    tab.on("request", watch)
    # Nothing leaves loopback anyway: an attempt is recorded above and then refused here.
    tab.route(lambda url: not url.startswith(live_server.url), lambda route: route.abort())
    yield tab
    context.close()
