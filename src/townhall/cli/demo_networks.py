"""The demo's stand-in networks: a local Mastodon server and a news feed on 127.0.0.1, clearly
labelled as stand-ins, connected as two extra channels of the demo's policy copy, so that
listening and publishing visibly happen (a reply drafted in the demo goes out to the local
Mastodon, whose page lists it).

They speak the real wire formats (``connectors/mastodon/standin.py``, ``connectors/rss/
standin.py``) and Townhall talks to them through Mastodon.py and feedparser, as it would to a
real instance. Point a channel at a real instance instead: docs/connectors/mastodon.md.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.connectors.rss.standin import FeedStandin
from townhall.connectors.standin import LocalServer, free_port

TOKEN_ENV = "TOWNHALL_DEMO_MASTODON_TOKEN"  # noqa: S105 - a variable name, not a secret
"""The environment variable the demo's stand-in Mastodon channel reads its token from."""

MASTODON_CHANNEL = "standin_mastodon"
FEED_CHANNEL = "standin_news"

MENTIONS: tuple[tuple[str, str, str, int], ...] = (
    ("@priya@social.example", "Priya Nair", "my KettleOne lid won't click shut any more, "
     "is there a fix or do I need a new lid?", 240),
    ("@tom@fosstodon.example", "Tom Becker", "does the AirFry 5 basket go in the dishwasher? "
     "The manual is vague", 90),
    ("@lena@mastodon.example", "Lena Fischer", "love the new SmartScale app update, the "
     "recipe mode is brilliant!", 1800),
    ("@sam@social.example", "Sam Okafor", "ordered a Blender Pro 9 days ago and still no "
     "dispatch e-mail. Order 55120, can someone check?", 60),
    ("@kit@hachyderm.example", "Kit Moreau", "is ACME hiring product designers in Leeds? "
     "Couldn't find a careers page", 410),
    ("@ravi@mstdn.example", "Ravi Shah", "AirFry 5 vs Globex crisp: which one is quieter?", 130),
)  # fmt: skip
"""Mentions the stand-in Mastodon receives while the demo runs (author, name, text,
followers): the first two at once, then one every ``MENTION_EVERY`` real seconds."""

HEADLINES: tuple[tuple[str, str], ...] = (
    ("ACME opens a repair café programme in Leeds",
     "<p>ACME will <b>repair</b> kettles and blenders for free every first Saturday.</p>"),
    ("Review: the ACME SmartScale is the kitchen gadget of the year",
     "<p>Accurate, fast and the app is finally good.</p>"),
    ("Owners report AirFry 5 basket coating problems",
     "<p>Several owners posted photos of a <em>damaged basket</em>; ACME has not commented.</p>"),
)  # fmt: skip

MENTION_EVERY = 150.0
"""Real seconds between the stand-in's live mentions."""

TAKEOVER_PERSON = "peter.novak@acme.example"
"""Who takes over the stand-in Mastodon account during the demo (Peter, from accounts)."""

TAKEOVER_DELAY = timedelta(minutes=10)
TAKEOVER_LENGTH = timedelta(hours=2)
"""The demo's takeover starts this long (simulated time) after the demo starts, and lasts
this long: at 60× a few real seconds in, for two real minutes."""


@dataclass
class DemoNetworks:
    """The running stand-ins and the thread that plays their traffic."""

    mastodon: MastodonStandin
    feeds: FeedStandin
    servers: list[LocalServer]
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def mastodon_url(self) -> str:
        """The stand-in Mastodon's address (its page lists what the demo published)."""
        return self.servers[0].url

    @property
    def feed_url(self) -> str:
        """The stand-in news feed's address."""
        return f"{self.servers[1].url}/acme-news.rss"

    def channels(self) -> list[dict[str, Any]]:
        """The policy channels that connect the demo to its stand-ins."""
        return [
            {
                "id": MASTODON_CHANNEL,
                "kind": "mastodon",
                "account": f"@acme@{self.mastodon.domain}",
                "default_owner": "customer_service",
                "description": "LOCAL STAND-IN Mastodon server started by the demo on "
                f"{self.mastodon_url} (not a real network): mentions of @acme, and replies.",
                "api_base_url": self.mastodon_url,
                "token_env": TOKEN_ENV,
                "listen": {"mentions": True},
            },
            {
                "id": FEED_CHANNEL,
                "kind": "rss",
                "account": "feeds",
                "default_owner": "pr",
                "description": "LOCAL STAND-IN news feed started by the demo (not a real "
                "site): articles about ACME.",
                "feeds": [self.feed_url],
                "poll_seconds": 30,
            },
        ]

    def write_policy(self, source: Path, target: Path, takeover_at: datetime | None = None) -> None:
        """Copy the policy from ``source`` to ``target`` with the stand-in channels added, and
        (given ``takeover_at``) a takeover of the stand-in Mastodon account then."""
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        data["channels"] = [*data.get("channels", []), *self.channels()]
        if takeover_at is not None:
            rota = data.get("takeovers") or {}
            data["takeovers"] = rota
            rota["shifts"] = [*(rota.get("shifts") or []), takeover_shift(takeover_at)]
        header = (
            "# The demo's copy of the policy (written by `townhall demo`): the original plus two\n"
            "# channels on local stand-in servers (standin_mastodon, standin_news), and a\n"
            "# takeover of standin_mastodon today.\n"
        )
        target.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))

    def play(self, clock: Callable[[], datetime]) -> None:
        """Seed the stand-ins, then add a mention now and then until stopped (a thread)."""
        for title, html in HEADLINES:
            self.feeds.add_entry(
                "/acme-news.rss", title, html, author="Kitchen Tech News", published=clock()
            )

        def mention(n: int) -> None:
            handle, name, text, followers = MENTIONS[n]
            self.mastodon.author(handle, name, followers)
            self.mastodon.add_mention(handle, text, at=clock())

        def run() -> None:
            mention(0)
            mention(1)
            for n in range(2, len(MENTIONS)):
                if self.stop.wait(MENTION_EVERY):
                    return
                mention(n)

        self.thread = threading.Thread(target=run, name="demo-standins", daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop the traffic and the servers."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        for server in self.servers:
            server.stop()


def takeover_shift(start: datetime) -> dict[str, Any]:
    """The demo's takeover: Peter Novak (back office) runs the stand-in Mastodon account from
    ``start`` for ``TAKEOVER_LENGTH``."""
    return {
        "person": TAKEOVER_PERSON,
        "channel": MASTODON_CHANNEL,
        "start": start.isoformat(),
        "end": (start + TAKEOVER_LENGTH).isoformat(),
    }


def start_demo_networks() -> DemoNetworks:
    """Start the stand-in Mastodon and feed server on 127.0.0.1 (free ports)."""
    port = free_port()
    mastodon = MastodonStandin(
        domain="mastodon.localhost",
        token="demo-token",  # noqa: S106 - the stand-in's own, printed nowhere
        web_url=f"http://127.0.0.1:{port}",
    )
    feeds = FeedStandin()
    feeds.add_feed("/acme-news.rss", "rss", "Kitchen Tech News (stand-in)")
    servers = [LocalServer(mastodon.app, port=port).start(), LocalServer(feeds.app).start()]
    os.environ[TOKEN_ENV] = mastodon.token
    return DemoNetworks(mastodon, feeds, servers)
