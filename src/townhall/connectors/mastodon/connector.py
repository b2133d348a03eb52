"""The Mastodon connector: listen (mentions, hashtags, searches, the user stream) and publish.

Talks to the instance through Mastodon.py (``ratelimit_method="throw"``: it never sleeps; the
``X-RateLimit-*`` headers are read here and a limit becomes ``ChannelRateLimitedError``).
Every vendor exception is translated at this boundary (see ``doc.md``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from townhall.connectors.base import (
    Capability,
    ConnectorInfo,
    Credentials,
    Cursor,
    Fetched,
    Outgoing,
    OwnPost,
    Rejected,
    Sent,
)
from townhall.connectors.mastodon import normalize
from townhall.connectors.mastodon.stream import UserStream
from townhall.errors import (
    ChannelAuthError,
    ChannelError,
    ChannelRateLimitedError,
    ChannelRejectedError,
    ChannelUnavailableError,
    OutcomeUnknownError,
)
from townhall.org.policy import Channel
from townhall.posts import Post

T = TypeVar("T")

PAGE_SIZE = 40
"""Items asked for per page (Mastodon's default for notifications; the most for timelines)."""
MAX_PAGES = 20
"""Pages read per source in one ``fetch_new`` pass; the cursor covers what was read."""
CLOCK_SKEW = timedelta(seconds=5)
"""How far the instance's clock may be behind ours when matching a published post."""
STOP_POLL_SECONDS = 0.1
"""How often ``wait_for_news`` looks at ``stop`` while the stream is quiet."""
STREAM_READ_TIMEOUT = 90.0
"""Seconds without a byte (Mastodon sends heartbeats) before the stream counts as dead."""
RATE_LIMIT_FALLBACK = timedelta(minutes=5)
"""Mastodon's rate-limit window, used when a 429 carries no usable reset time."""

REFUSED_ADVICE = (
    "the access token was refused: create a new one under Preferences → Development "
    "(scopes read and write) and store it in the channel's environment variable"
)


def _id_key(value: str) -> tuple[int, str]:
    """Sort key for Mastodon ids (decimal strings of growing length)."""
    return (len(value), value)


def _newest(ids: list[str], current: str | None) -> str | None:
    valid = [i for i in ids if isinstance(i, str) and i.isascii() and i.isdigit()]
    if current is not None:
        valid.append(current)
    return max(valid, key=_id_key) if valid else None


def _sent(exc: BaseException) -> bool:
    """Whether a failed request may have reached the server (False: refused or unresolved)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, requests.exceptions.ConnectTimeout):
            return False
        for arg in seen.args:
            reason = getattr(arg, "reason", arg)
            name = type(reason).__name__
            if name in ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError"):
                return False
        seen = seen.__cause__ or seen.__context__
    return True


def _mentioned(text: str, handle: str, local_domain: str) -> bool:
    """Whether ``text`` already mentions ``handle`` (``@user@domain``)."""
    user, _, domain = handle.lstrip("@").partition("@")
    words = {w.rstrip(".,:;!?)").lower() for w in text.split()}
    if f"@{user}@{domain}".lower() in words:
        return True
    return (not domain or domain.lower() == local_domain.lower()) and f"@{user}".lower() in words


class MastodonConnector:
    """Listens on and publishes to one Mastodon account (``channel.account``)."""

    info = ConnectorInfo(
        name="mastodon",
        capabilities=frozenset(
            {Capability.FETCH, Capability.STREAM, Capability.PUBLISH, Capability.DIRECT}
        ),
        description="A Mastodon account: mentions, hashtags and searches; posts, replies, DMs.",
    )

    def __init__(self, channel: Channel, credentials: Credentials, *, timeout: float = 10.0):
        if not channel.api_base_url:
            raise ChannelRejectedError(f"channel {channel.id} has no api_base_url")
        if not credentials.secret:
            raise ChannelAuthError(
                f"channel {channel.id} has no access token: set "
                f"{channel.token_env or 'its token environment variable'}; {REFUSED_ADVICE}"
            )
        self.channel = channel
        self._token = credentials.secret
        self._timeout = timeout
        self._session = requests.Session()
        self._session.hooks["response"].append(self._note_rate_limit)
        self._api = Mastodon(
            access_token=credentials.secret,
            api_base_url=channel.api_base_url,
            request_timeout=timeout,
            version_check_mode="none",
            ratelimit_method="throw",
            session=self._session,
        )
        self._remaining: int | None = None
        self._reset: datetime | None = None
        self._me: dict[str, Any] | None = None
        self._instance: dict[str, Any] | None = None
        self._stream: UserStream | None = None
        self._stream_lock = threading.Lock()

    # -- rate limits and errors ----------------------------------------------------------------

    def _note_rate_limit(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset = response.headers.get("X-RateLimit-Reset")
        if (
            remaining is not None
            and remaining.isascii()
            and remaining.strip().lstrip("-").isdigit()
        ):
            self._remaining = int(remaining)
        if reset:
            self._reset = _parse_reset(reset)

    def _retry_at(self) -> datetime:
        now = datetime.now(UTC)
        if self._reset is not None and self._reset > now:
            return self._reset
        return now + RATE_LIMIT_FALLBACK

    def _check_budget(self, what: str) -> None:
        """Raise before a request the rate limit would refuse anyway."""
        used_up = self._remaining is not None and self._remaining <= 0
        if used_up and self._reset is not None and self._reset > datetime.now(UTC):
            raise ChannelRateLimitedError(
                f"Mastodon rate limit used up before {what}; it resets at "
                f"{self._reset:%H:%M:%S} UTC",
                self._reset,
            )

    def _call(self, what: str, request: Callable[[], T], *, write: bool = False) -> T:
        """Run one Mastodon.py call, translating its exceptions (``what``: for messages)."""
        self._check_budget(what)
        try:
            return request()
        except MastodonRatelimitError:
            retry_at = self._retry_at()
            raise ChannelRateLimitedError(
                f"Mastodon rate limit reached while {what}; retry after {retry_at:%H:%M:%S} UTC",
                retry_at,
            ) from None
        except MastodonUnauthorizedError as exc:
            raise ChannelAuthError(f"{REFUSED_ADVICE} (Mastodon said: {_reason(exc)})") from None
        except MastodonNetworkError as exc:
            if write and _sent(exc):
                raise OutcomeUnknownError(
                    f"no answer from Mastodon while {what}: it may have been carried out"
                ) from None
            raise ChannelUnavailableError(f"Mastodon unreachable while {what}: {exc}") from None
        except MastodonServerError as exc:
            message = f"Mastodon answered {_status(exc)} while {what}: {_reason(exc)}"
            if write:
                raise OutcomeUnknownError(message + " (it may have been carried out)") from None
            raise ChannelUnavailableError(message) from None
        except MastodonNotFoundError as exc:
            raise ChannelRejectedError(
                f"Mastodon: not found while {what} ({_reason(exc)})"
            ) from None
        except MastodonAPIError as exc:
            if _status(exc) == 403:
                raise ChannelAuthError(
                    f"Mastodon refused {what} ({_reason(exc)}): the token lacks a scope or the "
                    "account is limited; create a token with scopes read and write"
                ) from None
            raise ChannelRejectedError(f"Mastodon refused {what}: {_reason(exc)}") from None
        except MastodonError as exc:
            raise ChannelRejectedError(f"Mastodon.py could not {what}: {exc}") from None
        except requests.RequestException as exc:
            raise ChannelUnavailableError(f"Mastodon unreachable while {what}: {exc}") from None

    # -- account and instance ------------------------------------------------------------------

    def _account(self) -> dict[str, Any]:
        if self._me is None:
            self._me = dict(
                self._call("verifying the access token", self._api.account_verify_credentials)
            )
        return self._me

    def _instance_info(self) -> dict[str, Any]:
        if self._instance is None:
            try:
                self._instance = dict(self._call("reading the instance", self._api.instance_v2))
            except ChannelRejectedError:  # an instance before 4.0 has only v1
                self._instance = dict(self._call("reading the instance", self._api.instance_v1))
        return self._instance

    def _local_domain(self) -> str:
        info = self._instance_info()
        domain = info.get("domain") or info.get("uri")
        if isinstance(domain, str) and domain:
            return normalize.host_of(domain) if "://" in domain else domain
        _, _, account_domain = self.channel.account.lstrip("@").partition("@")
        return account_domain or normalize.host_of(str(self.channel.api_base_url))

    def _streaming_url(self) -> str:
        info = self._instance_info()
        config = info.get("configuration") or {}
        url = (
            (config.get("urls") or {}).get("streaming") if isinstance(config, dict) else None
        ) or ((info.get("urls") or {}).get("streaming_api"))
        base = str(url or self.channel.api_base_url).rstrip("/")
        if base.startswith("wss://"):
            base = "https://" + base[6:]
        elif base.startswith("ws://"):
            base = "http://" + base[5:]
        return f"{base}/api/v1/streaming/user"

    # -- Listener -----------------------------------------------------------------------------

    def check(self) -> str:
        """Verify the token and the instance: ``"@acme@mastodon.example on Mastodon 4.3.2"``."""
        me = self._account()
        info = self._instance_info()
        handle = normalize.handle(me, self._local_domain())
        wanted = "@" + self.channel.account.lstrip("@")
        if "@" in wanted[1:] and wanted.lower() != handle.lower():
            raise ChannelAuthError(
                f"the access token belongs to {handle}, not to {wanted}: create the token while "
                f"logged in as {wanted}"
            )
        return f"{handle} on Mastodon {info.get('version', '?')}"

    def fetch_new(self, cursor: Cursor) -> Fetched:
        """Mentions, hashtag and search results newer than ``cursor``, oldest first."""
        found: dict[str, Post] = {}
        rejected: dict[str, Rejected] = {}
        limited: list[ChannelRateLimitedError] = []
        host = self._local_domain()
        new_cursor: Cursor = {}
        channel = self.channel.id

        def keep(status: Any, source: str, notification_id: str | None = None) -> None:
            result = normalize.normalise(
                status, channel, host, source=source, notification_id=notification_id
            )
            if isinstance(result, Rejected):
                rejected.setdefault(str(result), result)
            else:
                found.setdefault(result.id, result)

        if self.channel.listen.mentions:
            bookmark = _bookmark(cursor.get("notifications"))
            items, newest = self._catch_up(
                "reading mentions",
                lambda **kw: self._api.notifications(types=["mention"], limit=PAGE_SIZE, **kw),
                bookmark,
                limited,
            )
            for note in items:
                note_id = _item_id(note) or None
                status = note.get("status") if isinstance(note, dict) else None
                if status is None:
                    where = f"mastodon notification {note_id}"
                    rejected.setdefault(where, Rejected(where, "mention without a status"))
                    continue
                keep(status, "mention", note_id)
            if newest is not None:
                new_cursor["notifications"] = newest

        tags: dict[str, str] = {}
        raw_tags = cursor.get("hashtags")
        old_tags: dict[str, Any] = raw_tags if isinstance(raw_tags, dict) else {}
        for raw_tag in self.channel.listen.hashtags:
            tag = raw_tag.lstrip("#")
            bookmark = _bookmark(old_tags.get(tag))
            if limited:
                if bookmark:
                    tags[tag] = bookmark
                continue
            items, newest = self._catch_up(
                f"reading #{tag}",
                lambda tag=tag, **kw: self._api.timeline_hashtag(tag, limit=PAGE_SIZE, **kw),
                bookmark,
                limited,
            )
            for status in items:
                keep(status, f"hashtag:{tag}")
            if newest is not None:
                tags[tag] = newest
        if tags:
            new_cursor["hashtags"] = tags

        searches: dict[str, str] = {}
        raw_searches = cursor.get("search")
        old_searches: dict[str, Any] = raw_searches if isinstance(raw_searches, dict) else {}
        for term in self.channel.listen.search:
            bookmark = _bookmark(old_searches.get(term))
            if limited:
                if bookmark:
                    searches[term] = bookmark
                continue
            items, newest = self._search(term, bookmark, limited)
            for status in items:
                keep(status, f"search:{term}")
            if newest is not None:
                searches[term] = newest
        if searches:
            new_cursor["search"] = searches

        if limited and not found and not rejected and new_cursor == _clean(cursor):
            raise limited[0]
        posts = sorted(found.values(), key=lambda p: (p.created_at, _id_key(p.external_id)))
        return Fetched(posts=posts, rejected=list(rejected.values()), cursor=new_cursor)

    def _catch_up(
        self,
        what: str,
        page_from: Callable[..., Any],
        bookmark: str | None,
        limited: list[ChannelRateLimitedError],
    ) -> tuple[list[Any], str | None]:
        """Items newer than ``bookmark`` (the newest page on a first run), following the
        ``prev`` links (``min_id``) for at most ``MAX_PAGES``; and the newest id read."""
        if limited:
            return [], bookmark
        try:
            if bookmark is None:
                page = self._call(what, page_from)
                items = list(page or [])
                return items, _newest([_item_id(i) for i in items], None)
            collected: list[Any] = []
            page = self._call(what, lambda: page_from(min_id=bookmark))
            for number in range(MAX_PAGES):
                if not page:
                    break
                collected.extend(page)
                if number == MAX_PAGES - 1:
                    break
                if getattr(page, "_pagination_prev", None) is None:
                    break
                page = self._call(what, partial(self._api.fetch_previous, page))
        except ChannelRateLimitedError as exc:
            limited.append(exc)
            if bookmark is None:
                return [], None
        return collected, _newest([_item_id(i) for i in collected], bookmark)

    def _search(
        self, term: str, bookmark: str | None, limited: list[ChannelRateLimitedError]
    ) -> tuple[list[Any], str | None]:
        """Statuses matching ``term`` newer than ``bookmark``, paged by ``min_id``."""
        what = f"searching for {term!r}"

        def page(min_id: str | None) -> list[Any]:
            result = self._call(
                what,
                lambda: self._api.search_v2(
                    term, resolve=False, result_type="statuses", min_id=min_id, limit=PAGE_SIZE
                ),
            )
            statuses = result.get("statuses") if isinstance(result, dict) else None
            return list(statuses or [])

        collected: list[Any] = []
        newest = bookmark
        try:
            if bookmark is None:
                collected = page(None)
                return collected, _newest([_item_id(i) for i in collected], None)
            for _ in range(MAX_PAGES):
                items = page(newest)
                newer = _newest([_item_id(i) for i in items], newest)
                if not items or newer == newest:
                    break
                collected.extend(items)
                newest = newer
        except ChannelRateLimitedError as exc:
            limited.append(exc)
        return collected, _newest([_item_id(i) for i in collected], bookmark)

    def wait_for_news(self, timeout: float, stop: threading.Event) -> None:
        """Block until the user stream delivers an event or drops, ``timeout`` seconds pass, or
        ``stop`` is set. Never raises: a failing stream shows up at the next ``fetch_new``."""
        deadline = time.monotonic() + timeout
        try:
            stream = self._open_stream()
        except ChannelError:
            stop.wait(max(0.0, deadline - time.monotonic()))
            return
        while not stop.is_set():
            if stream.ended.is_set():
                self._close_stream(stream)
                if not stream.connected.is_set():  # never opened: wait as a poller would
                    stop.wait(max(0.0, deadline - time.monotonic()))
                return
            if stream.news.is_set() and stream.take_news():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            stream.news.wait(min(remaining, STOP_POLL_SECONDS))

    def _open_stream(self) -> UserStream:
        with self._stream_lock:
            if self._stream is None:
                self._stream = UserStream(
                    self._streaming_url(),
                    self._token,
                    connect_timeout=self._timeout,
                    read_timeout=STREAM_READ_TIMEOUT,
                ).start()
            return self._stream

    def _close_stream(self, stream: UserStream | None = None) -> None:
        with self._stream_lock:
            current = self._stream
            if stream is None or stream is current:
                self._stream = None
        target = stream or current
        if target is not None:
            target.close()

    def close(self) -> None:
        """Close the stream and the HTTP session."""
        self._close_stream()
        self._session.close()

    # -- Publisher ----------------------------------------------------------------------------

    def text_to_send(self, post: Outgoing) -> str:
        """The status text as published: a reply or a direct message starts with the mention
        of the person addressed unless it already mentions them."""
        text = post.text
        domain = self._local_domain()
        for handle in (post.direct_to, post.reply_to_author if post.reply_to else None):
            if handle and not _mentioned(text, handle, domain):
                text = "@" + handle.lstrip("@") + " " + text
        return text

    def publish(self, post: Outgoing) -> Sent:
        """Post a status (a reply with ``reply_to``, a direct message with ``direct_to``)."""
        text = self.text_to_send(post)
        status = self._call(
            "publishing a status",
            lambda: self._api.status_post(
                text,
                in_reply_to_id=post.reply_to,
                visibility="direct" if post.direct_to else None,
                idempotency_key=post.key,
            ),
            write=True,
        )
        remote_id = _item_id(status)
        if not remote_id:
            raise OutcomeUnknownError("Mastodon accepted the status but returned no id")
        url = status.get("url")
        return Sent(remote_id=remote_id, url=url if isinstance(url, str) else None)

    def recent_own(self, limit: int = 40) -> list[OwnPost]:
        """The account's latest statuses (replies included, reblogs not), newest first."""
        me = self._account()
        wanted = max(1, limit)
        page = self._call(
            "reading the account's statuses",
            lambda: self._api.account_statuses(
                me["id"], exclude_reblogs=True, limit=min(wanted, PAGE_SIZE)
            ),
        )
        own: list[OwnPost] = []
        for _ in range(MAX_PAGES):
            if not page:
                break
            for status in page:
                made = _own_post(status)
                if made is not None:
                    own.append(made)
            if len(own) >= wanted:
                break
            if getattr(page, "_pagination_next", None) is None:
                break
            page = self._call("reading the account's statuses", partial(self._api.fetch_next, page))
        own.sort(key=lambda p: _id_key(p.remote_id), reverse=True)
        return own[:wanted]

    def find_published(self, post: Outgoing, since: datetime) -> Sent | None:
        """The account's status that is ``post`` (same text as sent, same reply target),
        created at or after ``since`` (less ``CLOCK_SKEW``); None when there is none."""
        want = normalize.comparable(self.text_to_send(post))
        earliest = since - CLOCK_SKEW
        for own in self.recent_own(PAGE_SIZE):
            if own.created_at < earliest:
                break
            if normalize.comparable(own.text) == want and (own.reply_to or None) == (
                post.reply_to or None
            ):
                return Sent(remote_id=own.remote_id, url=own.url)
        return None


def _parse_reset(value: str) -> datetime | None:
    """``X-RateLimit-Reset``: ISO 8601 (Mastodon) or Unix seconds (some other servers)."""
    text = value.strip()
    try:
        if text.isascii() and text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _status(exc: MastodonError) -> int | None:
    code = exc.args[1] if len(exc.args) > 1 else None
    return code if isinstance(code, int) else None


def _reason(exc: MastodonError) -> str:
    if len(exc.args) > 3 and exc.args[3]:
        return str(exc.args[3])
    if len(exc.args) > 2 and exc.args[2]:
        return str(exc.args[2])
    return str(exc)


def _item_id(item: Any) -> str:
    value = item.get("id") if isinstance(item, dict) else None
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""


def _bookmark(value: Any) -> str | None:
    return value if isinstance(value, str) and value.isascii() and value.isdigit() else None


def _clean(cursor: Cursor) -> Cursor:
    return {k: v for k, v in cursor.items() if k in ("notifications", "hashtags", "search") and v}


def _own_post(status: Any) -> OwnPost | None:
    if not isinstance(status, dict) or not _item_id(status):
        return None
    created = status.get("created_at")
    if isinstance(created, str):
        try:
            created = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(created, datetime):
        return None
    try:
        text = normalize.plain_text(status)
    except ValueError:
        return None
    reply = status.get("in_reply_to_id")
    url = status.get("url")
    return OwnPost(
        remote_id=_item_id(status),
        url=url if isinstance(url, str) else None,
        text=text,
        created_at=created.astimezone(UTC) if created.tzinfo else created.replace(tzinfo=UTC),
        reply_to=str(reply) if reply else None,
    )
