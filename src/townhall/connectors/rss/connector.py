"""``RssConnector``: a channel's RSS 2.0 / Atom 1.0 feeds, polled with conditional GET.

Each pass GETs every feed with the validators the server gave last time; a 304 costs nothing.
New entries are those whose identity (guid, else link, else a hash of title + date) is not in
the cursor's ``seen`` list for that feed. One failing feed never costs the others their posts.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser

from townhall.connectors.base import (
    Capability,
    ConnectorInfo,
    Credentials,
    Cursor,
    Fetched,
    Rejected,
)
from townhall.connectors.html_text import html_to_text
from townhall.connectors.rss.download import MAX_FEED_BYTES, Download, download, make_client
from townhall.connectors.rss.normalize import (
    FeedContext,
    describe,
    entry_key,
    normalize_entry,
)
from townhall.errors import (
    ChannelAuthError,
    ChannelError,
    ChannelRateLimitedError,
    ChannelRejectedError,
    ChannelUnavailableError,
)
from townhall.org.policy import Channel
from townhall.posts import Post, now_utc

MAX_SEEN = 2_000
"""Entry identities remembered per feed (those still in the feed are always kept first)."""

_MAX_MESSAGE = 1_500


@dataclass
class FeedState:
    """One feed's part of the cursor: the server's validators and the entries already seen."""

    etag: str | None = None
    modified: str | None = None
    seen: list[str] = field(default_factory=list)

    @classmethod
    def from_cursor(cls, raw: Any) -> FeedState:
        """Read a stored entry defensively (a damaged cursor means a fresh start, not a crash)."""
        if not isinstance(raw, Mapping):
            return cls()
        etag, modified, seen = raw.get("etag"), raw.get("modified"), raw.get("seen")
        return cls(
            etag if isinstance(etag, str) else None,
            modified if isinstance(modified, str) else None,
            [s for s in seen if isinstance(s, str)][:MAX_SEEN] if isinstance(seen, list) else [],
        )

    def to_cursor(self) -> dict[str, Any]:
        """The JSON form stored in the cursor."""
        return {"etag": self.etag, "modified": self.modified, "seen": list(self.seen)}


@dataclass
class _Parsed:
    title: str | None
    entries: list[Any]
    warning: str | None  # a non-well-formed feed whose entries could still be read


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


_NUMERIC_REFERENCE = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,16})|([0-9]{1,20}));")


def _no_impossible_characters(body: bytes) -> bytes:
    """``body`` with character references that name no character (``&#xD800;``, a
    surrogate; ``&#99999999;``, beyond Unicode) turned into U+FFFD: feedparser raises on them,
    so one hostile entry would otherwise cost the whole feed."""

    def repair(match: re.Match[bytes]) -> bytes:
        hexa, decimal = match.groups()
        code = int(hexa, 16) if hexa else int(decimal)
        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            return b"&#xFFFD;"
        return match.group()

    return _NUMERIC_REFERENCE.sub(repair, body) if b"&#" in body else body


def _parse(got: Download) -> _Parsed:
    """feedparser over bytes we downloaded (a stream, so it never opens a URL or a file)."""
    body = _no_impossible_characters(got.body or b"")
    try:
        parsed = feedparser.parse(io.BytesIO(body), response_headers=got.headers)
    except Exception as exc:  # feedparser is lenient; anything it raises means "not a feed"
        raise ChannelRejectedError(f"feedparser could not read it ({describe(exc)})") from None
    entries = list(parsed.get("entries") or [])
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not entries:
        if not parsed.get("version"):
            why = f" ({problem})" if problem else ""
            raise ChannelRejectedError(f"not an RSS or Atom feed{why}")
        if problem is not None:
            raise ChannelRejectedError(f"not a well-formed feed ({problem})")
    warning = None
    # Encoding and content-type notes lose nothing; a broken XML document may have.
    if problem is not None and not isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe):
        warning = (
            f"not a well-formed feed ({problem}); kept the {len(entries)} entries it could read"
        )
    feed = parsed.get("feed") or {}
    title = feed.get("title")
    detail = feed.get("title_detail") or {}
    if isinstance(title, str) and "html" in str(detail.get("type", "")):
        title = html_to_text(title)
    title = " ".join(title.split())[:500] if isinstance(title, str) else ""
    return _Parsed(title or None, entries, warning)


def _kind(error: ChannelError) -> type[ChannelError]:
    for kind in (
        ChannelRateLimitedError,
        ChannelUnavailableError,
        ChannelAuthError,
        ChannelRejectedError,
    ):
        if isinstance(error, kind):
            return kind
    return ChannelError


def _combine(
    failures: list[tuple[str, ChannelError]], total: int, *, mixed: bool
) -> ChannelError | None:
    """One error for several failed feeds; None when their kinds differ and ``mixed`` is off."""
    kinds = {_kind(error) for _, error in failures}
    if len(kinds) == 1:
        kind = kinds.pop()
    elif kinds <= {ChannelRateLimitedError, ChannelUnavailableError}:
        kind = ChannelUnavailableError
    elif not mixed:
        return None
    else:
        order = [ChannelAuthError, ChannelRejectedError, ChannelUnavailableError, ChannelError]
        kind = next(k for k in order if any(issubclass(x, k) for x in kinds))
    head = (
        f"all {total} feeds failed"
        if len(failures) == total
        else (f"{len(failures)} of {total} feeds failed")
    )
    if total == 1:
        head = "the feed failed"
    detail = "; ".join(f"{url}: {error.message}" for url, error in failures)
    message = f"{head}: {detail}"
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    if kind is ChannelRateLimitedError:
        times = [e.retry_at for _, e in failures if isinstance(e, ChannelRateLimitedError)]
        known = [t for t in times if t is not None]
        return ChannelRateLimitedError(message, max(known) if known else None)
    return kind(message)


class RssConnector:
    """A ``Listener`` over a channel's feeds (``channel.feeds``); feeds need no credentials."""

    info = ConnectorInfo(
        name="rss",
        capabilities=frozenset({Capability.FETCH}),
        description="RSS 2.0 and Atom 1.0 feeds: news sites, blogs, press rooms, status pages.",
    )

    def __init__(
        self,
        channel: Channel,
        credentials: Credentials,
        *,
        timeout: float = 10.0,
        max_bytes: int = MAX_FEED_BYTES,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        """Read ``channel.feeds``; ``timeout`` per request in seconds, ``max_bytes`` per feed,
        ``clock`` the UTC time of a fetch (the date of undated entries)."""
        del credentials  # public feeds: nothing to log in with
        self.channel = channel
        self.feeds = list(dict.fromkeys(channel.feeds))
        self._max_bytes = max_bytes
        self._clock = clock
        self._client = make_client(timeout)

    def _no_feeds(self) -> ChannelRejectedError:
        return ChannelRejectedError(
            f"channel {self.channel.id} lists no feeds: add some under feeds:"
        )

    def _get(self, url: str, state: FeedState | None, now: datetime) -> Download:
        try:
            return download(
                self._client,
                url,
                now=now,
                etag=state.etag if state else None,
                modified=state.modified if state else None,
                max_bytes=self._max_bytes,
            )
        except ChannelError:
            raise
        except Exception as exc:  # a vendor surprise must still leave as a ChannelError
            raise ChannelUnavailableError(f"reading the feed failed ({describe(exc)})") from None

    def check(self) -> str:
        """GET and parse every feed once: ``"3 feeds, 57 entries (News Example, …)"``."""
        if not self.feeds:
            raise self._no_feeds()
        titles: list[str] = []
        entries = 0
        failures: list[tuple[str, ChannelError]] = []
        for url in self.feeds:
            try:
                parsed = _parse(self._get(url, None, self._clock()))
            except ChannelError as error:
                failures.append((url, error))
                continue
            titles.append(parsed.title or _host(url))
            entries += len(parsed.entries)
        if failures:
            combined = _combine(failures, len(self.feeds), mixed=True)
            assert combined is not None
            raise combined
        shown = ", ".join(titles[:5]) + (", …" if len(titles) > 5 else "")
        count = len(self.feeds)
        plural = "entries" if entries != 1 else "entry"
        return f"{count} feed{'s' * (count != 1)}, {entries} {plural} ({shown})"

    def fetch_new(self, cursor: Cursor) -> Fetched:
        """New entries of every feed since ``cursor`` (``{"feeds": {url: FeedState}}``)."""
        if not self.feeds:
            raise self._no_feeds()
        now = self._clock()
        stored = cursor.get("feeds") if isinstance(cursor, Mapping) else None
        stored = stored if isinstance(stored, Mapping) else {}
        states: dict[str, dict[str, Any]] = {}
        posts: list[Post] = []
        rejected: list[Rejected] = []
        failures: list[tuple[str, ChannelError]] = []
        unchanged = 0
        ids: set[str] = set()
        for url in self.feeds:
            state = FeedState.from_cursor(stored.get(url))
            try:
                got = self._get(url, state, now)
                if got.body is None:
                    unchanged += 1
                    state.etag, state.modified = got.etag, got.modified
                    states[url] = state.to_cursor()
                    continue
                parsed = _parse(got)
            except ChannelError as error:
                failures.append((url, error))
                rejected.append(Rejected(url, error.message))
                if url in stored:
                    states[url] = dict(stored[url]) if isinstance(stored[url], Mapping) else {}
                continue
            if parsed.warning:
                rejected.append(Rejected(url, parsed.warning))
            feed = FeedContext(self.channel.id, url, parsed.title, _host(url), now)
            seen = self._read_entries(parsed.entries, state, feed, posts, rejected, ids)
            states[url] = FeedState(got.etag, got.modified, seen).to_cursor()
        if failures and len(failures) == len(self.feeds):
            combined = _combine(failures, len(self.feeds), mixed=False)
            if combined is not None:
                raise combined
        posts.sort(key=lambda post: post.created_at)
        return Fetched(
            posts=posts,
            rejected=rejected,
            cursor={"feeds": states},
            not_modified=unchanged == len(self.feeds),
        )

    @staticmethod
    def _read_entries(
        entries: list[Any],
        state: FeedState,
        feed: FeedContext,
        posts: list[Post],
        rejected: list[Rejected],
        ids: set[str],
    ) -> list[str]:
        """Append the feed's new posts and rejects; the feed's new ``seen`` list."""
        already = set(state.seen)
        keys: list[str] = []
        for number, entry in enumerate(entries, start=1):
            key = entry_key(entry) if isinstance(entry, Mapping) else None
            if key is None:
                reason = "no guid, link, title or date to tell it apart from other entries"
                rejected.append(Rejected(f"{feed.url} entry #{number}", reason))
                continue
            keys.append(key)
            if key in already:
                continue
            already.add(key)
            try:
                post = normalize_entry(entry, key, feed)
            except Exception as exc:  # one bad entry never costs the others
                rejected.append(Rejected(f"{feed.url} entry {key[:200]}", describe(exc)))
                continue
            if post.id not in ids:  # the same entry reached through two feeds
                ids.add(post.id)
                posts.append(post)
        # Identities still in the document first, so a long feed never forgets its own entries.
        return list(dict.fromkeys(keys + state.seen))[:MAX_SEEN]

    def wait_for_news(self, timeout: float, stop: threading.Event) -> None:
        """Feeds do not push: wait ``timeout`` seconds or until ``stop`` is set."""
        stop.wait(timeout)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()
