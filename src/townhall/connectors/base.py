"""The connector contract: a source of normalised posts, and optionally a publisher.

Vendor errors never leave a connector: they are translated into ``ChannelError`` subclasses
(``townhall.errors``) at the boundary.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from townhall.errors import PostFormatError
from townhall.posts import Post


class Capability(StrEnum):
    """What a connector can do."""

    FETCH = "fetch"  # read a finite batch (a file, a replay, a page of history)
    STREAM = "stream"  # follow new posts as they arrive
    PUBLISH = "publish"  # post on the channel
    DIRECT = "direct"  # send a private message to one person


@dataclass(frozen=True)
class ConnectorInfo:
    """A connector's name, the channels it speaks for, and its capabilities."""

    name: str
    capabilities: frozenset[Capability]
    description: str


@runtime_checkable
class Source(Protocol):
    """Yields posts (or a per-record error that names the record) from one channel."""

    info: ConnectorInfo

    def fetch(self) -> Iterator[Post | PostFormatError]:
        """Every post the source has now, in order; a bad record yields its error."""
        ...


@runtime_checkable
class LiveSource(Source, Protocol):
    """A source that also follows new posts as they happen."""

    def stream(self) -> AsyncIterator[Post]:
        """New posts as they arrive; ends when the source ends or is cancelled."""
        ...


# -- networks: listening with a cursor, publishing, reconciling ----------------------------------
# The network connectors (mastodon, bluesky, rss) are synchronous: their client libraries are
# (Mastodon.py and feedparser over requests/httpx, atproto's sync Client). Townhall calls them
# from worker threads. Every method raises only ``townhall.errors.ChannelError`` subclasses.

Cursor = dict[str, Any]
"""A connector's own JSON-serialisable bookmark ("everything up to here was fetched"). Townhall
stores it in the same transaction as the posts it covers and hands it back unchanged."""


@dataclass(frozen=True)
class Rejected:
    """One network record that could not become a post: where it was and why."""

    where: str  # e.g. "mastodon status 109876" or "rss https://news.example/rss.xml entry 3"
    reason: str  # e.g. "created_at: needs a time zone"

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class Fetched:
    """One listen pass of a channel: new posts (oldest first), the records that were rejected,
    and the cursor that covers both. ``not_modified``: every feed answered 304."""

    posts: list[Post]
    rejected: list[Rejected]
    cursor: Cursor
    not_modified: bool = False


@dataclass(frozen=True)
class Credentials:
    """What a connector logs in with. ``secret`` is the access token or app password (from the
    environment variable the channel names, or the encrypted store); ``session`` a saved login
    session (Bluesky) and ``save_session`` where a new or refreshed one is written."""

    secret: str | None = field(default=None, repr=False)
    session: str | None = field(default=None, repr=False)
    save_session: Callable[[str], None] | None = field(default=None, repr=False)


@runtime_checkable
class Listener(Protocol):
    """Hears a network channel: mentions, replies, hashtags, searches, feeds."""

    info: ConnectorInfo

    def check(self) -> str:
        """Verify the credentials and the API; a one-line description of the account
        (``"@acme@mastodon.example on Mastodon 4.3.0"``)."""
        ...

    def fetch_new(self, cursor: Cursor) -> Fetched:
        """Everything new since ``cursor`` (an empty dict: the first run), paging as far as
        needed. A record that cannot be normalised is ``rejected``, never raised."""
        ...

    def wait_for_news(self, timeout: float, stop: threading.Event) -> None:
        """Block until there may be something new (a streaming event), ``timeout`` seconds
        passed, the stream dropped, or ``stop`` is set. Polling connectors just wait."""
        ...

    def close(self) -> None:
        """Free connections and streams."""
        ...


@dataclass(frozen=True)
class Outgoing:
    """Something Townhall says on a channel.

    ``reply_to``: the native id of the post answered (``Post.external_id``), and
    ``reply_to_author`` its author's handle (a reply mentions them where the network expects
    it). ``direct_to``: a handle to contact privately (Mastodon: a direct-visibility mention).
    ``key``: the outbox's idempotency key for this post (the same on every attempt).
    """

    text: str
    key: str
    reply_to: str | None = None
    reply_to_author: str | None = None
    direct_to: str | None = None


@dataclass(frozen=True)
class Sent:
    """A published post: the network's id for it and its public address."""

    remote_id: str
    url: str | None


@dataclass(frozen=True)
class OwnPost:
    """One of the account's own recent posts, read back for reconciliation (``text`` plain)."""

    remote_id: str
    url: str | None
    text: str
    created_at: datetime
    reply_to: str | None


@runtime_checkable
class Publisher(Protocol):
    """Posts on a network channel."""

    info: ConnectorInfo

    def publish(self, post: Outgoing) -> Sent:
        """Send ``post``. Raises ``OutcomeUnknownError`` when the request went out but no
        answer came back, ``ChannelRateLimitedError`` (with ``retry_at``) on a rate limit,
        ``ChannelRejectedError`` when the network refused it, ``ChannelAuthError``."""
        ...

    def recent_own(self, limit: int = 40) -> list[OwnPost]:
        """The account's own latest posts, newest first."""
        ...

    def find_published(self, post: Outgoing, since: datetime) -> Sent | None:
        """The account's post that is ``post`` (same text as the connector would have sent it,
        same reply target), created at or after ``since``; None if it was never published."""
        ...
