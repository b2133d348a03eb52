"""``BlueskyConnector``: listens (notifications, searches) and publishes on Bluesky via atproto.

Every atproto, httpx or JSON error is translated here into a ``townhall.errors.ChannelError``.
Reads that may carry hostile records go through ``invoke_query`` and are normalised record by
record (``normalize.py``); the SDK's strict response models would fail a whole page.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from atproto import Client, models
from atproto_client.client.session import Session, SessionEvent
from atproto_client.exceptions import (
    BadRequestError,
    LoginRequiredError,
    ModelError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.models.common import XrpcError
from atproto_client.request import Request, Response, _parse_response
from atproto_core.exceptions import AtProtocolError

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
from townhall.connectors.bluesky import normalize
from townhall.errors import (
    ChannelAuthError,
    ChannelRateLimitedError,
    ChannelRejectedError,
    ChannelUnavailableError,
    OutcomeUnknownError,
)
from townhall.org.policy import Channel
from townhall.posts import Post

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_PDS = "https://bsky.social"
REASONS = ("mention", "reply", "quote")
NOTIFICATION_PAGE = 50
NOTIFICATION_PAGES = 20
"""At most this many notification pages (of 50) per pass; older ones are skipped."""
SEARCH_PAGE = 25
SEARCH_PAGES = 4
"""At most this many search pages (of 25) per term and pass."""
PROFILE_BATCH = 25
PROFILE_BATCHES = 8
"""Followers are looked up for at most 8 × 25 authors per pass."""
FEED_PAGES = 5
SKEW = timedelta(seconds=5)
"""Clock skew allowed by ``find_published`` between Townhall and the PDS."""
APP_PASSWORD_HINT = (
    "create an app password in Bluesky under Settings → Privacy and security → App passwords"  # noqa: S105
)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class _ExpiredAccess(Exception):
    """The PDS said the access token expired or is unknown: refresh and try once more."""


class _LenientRequest(Request):  # type: ignore[misc]
    """The SDK's HTTP layer, but a body with a lone surrogate escape (``\\ud800``), which
    ``pydantic_core`` refuses, is decoded by the standard library so one record cannot fail
    the page: the normaliser rejects that record alone."""

    def get(self, *args: Any, **kwargs: Any) -> Response:
        return _lenient(self._send_request("GET", *args, **kwargs))

    def post(self, *args: Any, **kwargs: Any) -> Response:
        return _lenient(self._send_request("POST", *args, **kwargs))


def _lenient(response: httpx.Response) -> Response:
    try:
        return _parse_response(response)
    except ValueError:
        content = json.loads(response.content)  # raises ValueError when it is not JSON at all
        return Response(True, response.status_code, content, dict(response.headers))


def _xrpc(exc: RequestErrorBase) -> tuple[int | None, str, str]:
    """(status, error name, message) of an XRPC error answer."""
    if exc.response is None:
        return None, "", ""
    content = exc.response.content
    if isinstance(content, XrpcError):
        return exc.response.status_code, content.error or "", content.message or ""
    return exc.response.status_code, "", ""


def _reason(exc: RequestErrorBase) -> str:
    status, error, message = _xrpc(exc)
    text = ": ".join(part for part in (error, message) if part)
    return f"HTTP {status} {text}".strip() if status else str(exc.__cause__ or exc)


def _retry_at(exc: RateLimitExceededError) -> datetime | None:
    reset: datetime | None = exc.reset_at
    if reset is not None:
        return reset
    if exc.retry_after is not None:
        return datetime.now(UTC) + timedelta(seconds=exc.retry_after)
    return None


def _time(value: Any) -> datetime | None:
    try:
        return normalize.parse_time(value, "time")
    except normalize.UnusableRecord:
        return None


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class BlueskyConnector:
    """A ``Listener`` and ``Publisher`` for one Bluesky account (handle + app password)."""

    info = ConnectorInfo(
        name="bluesky",
        capabilities=frozenset({Capability.FETCH, Capability.PUBLISH}),
        description="Bluesky (atproto): mentions, replies, quotes, searches and hashtags; "
        "publishes posts and replies with an app password.",
    )

    def __init__(self, channel: Channel, credentials: Credentials, *, timeout: float = 10.0):
        self.channel = channel
        self._credentials = credentials
        self._pds = (channel.api_base_url or DEFAULT_PDS).rstrip("/")
        self._timeout = timeout
        self._session: Session | None = None
        self._client = self._fresh_client()
        self._login_lock = threading.Lock()
        self._logged_in = False
        self._created_session = False

    # -- session -----------------------------------------------------------------------------

    def _session_changed(self, event: SessionEvent, session: Session) -> None:
        self._session = session
        if event in (SessionEvent.CREATE, SessionEvent.REFRESH) and self._credentials.save_session:
            try:
                self._credentials.save_session(session.export())
            except Exception:  # a store failure must not break the call that refreshed
                log.exception("bluesky %s: could not save the new session", self.channel.id)

    def _ensure_login(self) -> None:
        with self._login_lock:
            if self._logged_in:
                return
            saved = self._session.export() if self._session else self._credentials.session
            if saved and self._resume(saved):
                self._logged_in = True
                return
            self._password_login()
            self._logged_in = True

    def _resume(self, saved: str) -> bool:
        """Use a saved session; False (fall back to the password) when it is unusable."""
        try:
            session = Session.decode(saved)
        except ValueError:
            log.warning("bluesky %s: the saved session is malformed", self.channel.id)
            return False
        account = self.channel.account.lower().lstrip("@")
        if account not in (session.handle.lower(), session.did):
            return False
        try:
            self._client.login(session_string=saved, fetch_bsky_profile=False)
        except (AtProtocolError, ValueError):
            return False
        try:
            # A request proves the session (and refreshes it when the access token expired).
            self._attempt(lambda: self._client.com.atproto.server.get_session())
        except (ChannelAuthError, ChannelRejectedError):
            if self._credentials.secret:
                self._client.request.close()
                self._client = self._fresh_client()
                return False
            raise ChannelAuthError(
                f"the saved Bluesky session of {self.channel.account} was refused and no app "
                f"password is set: {APP_PASSWORD_HINT}"
            ) from None
        return True

    def _fresh_client(self) -> Client:
        client = Client(self._pds, request=_LenientRequest(timeout=self._timeout))
        client.on_session_change(self._session_changed)
        self._session = None
        return client

    def _password_login(self) -> None:
        if not self._credentials.secret:
            raise ChannelAuthError(
                f"no app password for Bluesky account {self.channel.account}: {APP_PASSWORD_HINT}"
            )
        if self._created_session:
            raise ChannelAuthError(
                f"the Bluesky session of {self.channel.account} ended; log in again"
            )
        try:
            self._client.login(
                self.channel.account.lstrip("@"), self._credentials.secret, fetch_bsky_profile=False
            )
            self._created_session = True  # createSession is rate limited: once per lifetime
        except UnauthorizedError as exc:
            self._created_session = True
            raise ChannelAuthError(
                f"Bluesky refused the login of {self.channel.account} ({_reason(exc)}): use an app "
                f"password, not the account password — {APP_PASSWORD_HINT}"
            ) from None
        except (AtProtocolError, ValueError, httpx.HTTPError) as exc:
            self._translate(exc, write=False)

    def _refresh(self) -> None:
        try:
            # The SDK refreshes ahead of the JWT's ``exp``; this is for a PDS that says
            # ExpiredToken earlier (clock skew, a server-side expiry).
            self._client._refresh_and_set_session()
        except (AtProtocolError, ValueError, httpx.HTTPError) as exc:
            try:
                self._translate(exc, write=False)
            except (ChannelAuthError, ChannelRejectedError, _ExpiredAccess):
                raise ChannelAuthError(
                    f"the Bluesky session of {self.channel.account} was revoked or expired and "
                    f"could not be refreshed: {APP_PASSWORD_HINT}, then reconnect the channel"
                ) from None

    # -- calls -------------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T], *, write: bool = False) -> T:
        """Run one SDK call logged in; translate its errors; refresh once on ExpiredToken."""
        self._ensure_login()
        return self._attempt(fn, write=write)

    def _attempt(self, fn: Callable[[], T], *, write: bool = False) -> T:
        for attempt in range(2):
            try:
                return fn()
            except (AtProtocolError, ValueError, httpx.HTTPError) as exc:
                try:
                    self._translate(exc, write=write)
                except _ExpiredAccess:
                    if attempt:
                        raise ChannelAuthError(
                            f"Bluesky keeps refusing the session of {self.channel.account}"
                        ) from None
                    self._refresh()
        raise AssertionError("unreachable")  # pragma: no cover

    def _translate(self, exc: BaseException, *, write: bool) -> None:
        """Raise the ``ChannelError`` (or ``_ExpiredAccess``) that ``exc`` stands for."""
        name = f"Bluesky ({self.channel.id})"
        if isinstance(exc, RateLimitExceededError):
            raise ChannelRateLimitedError(
                f"{name} is rate limiting us: {_reason(exc)}", _retry_at(exc)
            ) from None
        if isinstance(exc, LoginRequiredError):
            raise ChannelAuthError(f"{name}: not logged in ({exc})") from None
        if isinstance(exc, RequestErrorBase):
            status, error, _ = _xrpc(exc)
            if status is None:
                cause = exc.__cause__
                if write and not isinstance(cause, _NOT_SENT):
                    raise OutcomeUnknownError(
                        f"{name}: no answer to the post ({cause or exc}); it may be published"
                    ) from None
                raise ChannelUnavailableError(f"{name} is unreachable: {cause or exc}") from None
            if error == "ExpiredToken" or (status == 401 and error != "AuthenticationRequired"):
                raise _ExpiredAccess from None
            if status in (401, 403) or error in ("AuthenticationRequired", "AccountTakedown"):
                raise ChannelAuthError(f"{name} refused the credentials: {_reason(exc)}") from None
            if status >= 500 or (isinstance(exc, NetworkError) and status in (409, 502)):
                if write:
                    raise OutcomeUnknownError(
                        f"{name} failed while posting ({_reason(exc)}); it may be published"
                    ) from None
                raise ChannelUnavailableError(f"{name} failed: {_reason(exc)}") from None
            if isinstance(exc, BadRequestError) or 400 <= status < 500:
                raise ChannelRejectedError(f"{name} refused the request: {_reason(exc)}") from None
        if isinstance(exc, httpx.HTTPError):
            if write and not isinstance(exc, _NOT_SENT):
                raise OutcomeUnknownError(f"{name}: the post got no answer ({exc})") from None
            raise ChannelUnavailableError(f"{name} is unreachable: {exc}") from None
        if isinstance(exc, ModelError | ValueError):
            if write:
                raise OutcomeUnknownError(
                    f"{name}: unreadable answer to the post ({exc})"
                ) from None
            raise ChannelUnavailableError(f"{name} sent an unreadable answer: {exc}") from None
        raise ChannelUnavailableError(f"{name}: {exc}") from None

    def _query(self, nsid: str, params: Any) -> dict[str, Any]:
        """A GET of ``nsid`` as raw JSON (records are validated one by one afterwards)."""
        response = self._call(
            lambda: self._client.invoke_query(
                nsid, params=params, output_encoding="application/json"
            )
        )
        if not isinstance(response.content, dict):
            raise ChannelUnavailableError(
                f"Bluesky ({self.channel.id}): {nsid} did not answer JSON"
            )
        return response.content

    @property
    def _did(self) -> str:
        self._ensure_login()
        if self._session is None:
            raise ChannelAuthError(f"Bluesky ({self.channel.id}): no session")
        return str(self._session.did)

    # -- Listener ----------------------------------------------------------------------------

    def check(self) -> str:
        """Log in (or resume the saved session) and read the account's profile."""
        profile = self._call(lambda: self._client.get_profile(self.channel.account.lstrip("@")))
        pds = self._session.pds_endpoint if self._session else self._pds
        return f"{profile.handle} ({profile.did}) on {str(pds).removesuffix('/xrpc')}"

    def fetch_new(self, cursor: Cursor) -> Fetched:
        """New mentions, replies and quotes, and new posts matching the searches and hashtags,
        oldest first; ``cursor`` holds the newest time seen per source."""
        posts: dict[str, tuple[datetime, dict[str, Any], dict[str, Any]]] = {}
        rejected: list[Rejected] = []
        new_cursor: Cursor = {}
        if self.channel.listen.mentions:
            new_cursor["notifications"] = self._notifications(
                cursor.get("notifications"), posts, rejected
            )
        searches: dict[str, Any] = {}
        old = cursor.get("search")
        old_searches: dict[str, Any] = old if isinstance(old, dict) else {}
        for term in self._terms():
            searches[term] = self._search(term, old_searches.get(term), posts, rejected)
        if searches:
            new_cursor["search"] = searches
        followers = self._followers(
            view["author"].get("did")
            for _, view, _ in posts.values()
            if isinstance(view.get("author"), dict)
        )
        normalised: list[tuple[datetime, Post]] = []
        for uri, (order, view, extra) in posts.items():
            try:
                post = normalize.to_post(self.channel.id, view, followers=followers, extra=extra)
            except Exception as exc:  # one bad record never stops the pass
                rejected.append(Rejected(f"bluesky post {uri}", str(exc)[:300]))
                continue
            normalised.append((order, post))
        normalised.sort(key=lambda item: (item[0], item[1].created_at, item[1].id))
        return Fetched([post for _, post in normalised], rejected, new_cursor)

    def _terms(self) -> list[str]:
        terms = list(self.channel.listen.search)
        terms += [f"#{tag.lstrip('#')}" for tag in self.channel.listen.hashtags]
        return list(dict.fromkeys(terms))

    def _notifications(
        self,
        mark: Any,
        posts: dict[str, tuple[datetime, dict[str, Any], dict[str, Any]]],
        rejected: list[Rejected],
    ) -> dict[str, Any]:
        water = _Watermark.of(mark, "indexed_at")
        page_cursor: str | None = None
        for _ in range(NOTIFICATION_PAGES if water.since else 1):
            params = models.AppBskyNotificationListNotifications.Params(
                limit=NOTIFICATION_PAGE, cursor=page_cursor, reasons=list(REASONS)
            )
            page = self._query("app.bsky.notification.listNotifications", params)
            items = page.get("notifications")
            reached = False
            for index, item in enumerate(items if isinstance(items, list) else []):
                where = f"bluesky notification {index}"
                if not isinstance(item, dict):
                    rejected.append(Rejected(where, "not an object"))
                    continue
                uri = item.get("uri")
                where = f"bluesky notification {str(uri)[:300]}"
                at = _time(item.get("indexedAt"))
                if at is None:
                    rejected.append(Rejected(where, "indexedAt: missing or unparseable"))
                    continue
                if not water.passes(at, uri):
                    reached = True
                    continue
                if item.get("reason") not in REASONS:
                    continue  # reposts, likes, follows are not listened to
                if not isinstance(uri, str) or uri in posts:
                    continue
                posts[uri] = (at, item, {"reason": item["reason"]})
            page_cursor = page.get("cursor") if isinstance(page.get("cursor"), str) else None
            if reached or not page_cursor:
                break
        return water.mark(mark, "indexed_at")

    def _search(
        self,
        term: str,
        mark: Any,
        posts: dict[str, tuple[datetime, dict[str, Any], dict[str, Any]]],
        rejected: list[Rejected],
    ) -> dict[str, Any]:
        water = _Watermark.of(mark, "since")
        since = water.since
        own = f"at://{self._did}/"
        page_cursor: str | None = None
        for _ in range(SEARCH_PAGES if since else 1):
            params = models.AppBskyFeedSearchPosts.Params(
                q=term,
                sort="latest",
                since=_iso(since) if since else None,
                limit=SEARCH_PAGE,
                cursor=page_cursor,
            )
            page = self._query("app.bsky.feed.searchPosts", params)
            items = page.get("posts")
            reached = False
            for index, item in enumerate(items if isinstance(items, list) else []):
                if not isinstance(item, dict):
                    rejected.append(
                        Rejected(f"bluesky search {term!r} hit {index}", "not an object")
                    )
                    continue
                uri = item.get("uri")
                where = f"bluesky post {str(uri)[:300]}"
                at = self._sort_at(item)
                if at is None:
                    rejected.append(Rejected(where, "indexedAt: missing or unparseable"))
                    continue
                if not water.passes(at, uri):
                    reached = True
                    continue
                if not isinstance(uri, str) or uri in posts or uri.startswith(own):
                    continue  # our own posts are not listened to
                posts[uri] = (at, item, {"reason": "search", "query": term})
            page_cursor = page.get("cursor") if isinstance(page.get("cursor"), str) else None
            if reached or not page_cursor:
                break
        return water.mark(mark, "since")

    @staticmethod
    def _sort_at(view: dict[str, Any]) -> datetime | None:
        """The search index's ``sortAt``: the earlier of createdAt and indexedAt."""
        indexed = _time(view.get("indexedAt"))
        record = view.get("record")
        created = _time(record.get("createdAt")) if isinstance(record, dict) else None
        if indexed is None:
            return None
        return min(created, indexed) if created else indexed

    def _followers(self, dids: Iterable[Any]) -> dict[str, int]:
        wanted = list(dict.fromkeys(d for d in dids if isinstance(d, str) and d.startswith("did:")))
        counts: dict[str, int] = {}
        for start in range(0, min(len(wanted), PROFILE_BATCH * PROFILE_BATCHES), PROFILE_BATCH):
            batch = wanted[start : start + PROFILE_BATCH]
            params = models.AppBskyActorGetProfiles.Params(actors=batch)
            page = self._query("app.bsky.actor.getProfiles", params)
            for profile in page.get("profiles") or []:
                if isinstance(profile, dict) and isinstance(profile.get("did"), str):
                    count = profile.get("followersCount")
                    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
                        counts[profile["did"]] = count
        return counts

    def wait_for_news(self, timeout: float, stop: threading.Event) -> None:
        """Bluesky has no stream for an account here: wait ``timeout`` seconds or for ``stop``."""
        stop.wait(timeout)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.request.close()

    # -- Publisher ---------------------------------------------------------------------------

    def publish(self, post: Outgoing) -> Sent:
        """Create an ``app.bsky.feed.post`` record (a reply when ``reply_to`` is set), with
        facets for mentions, links and hashtags."""
        if post.direct_to:
            raise ChannelRejectedError("Bluesky private messages are not supported")
        did = self._did
        reply = self._reply_ref(post.reply_to) if post.reply_to else None
        facets = self._call(lambda: self._client.detect_facets(post.text))
        record = models.AppBskyFeedPost.Record(
            text=post.text,
            created_at=self._client.get_current_time_iso(),
            reply=reply,
            facets=facets or None,
        )
        created = self._call(
            lambda: self._client.app.bsky.feed.post.create(did, record), write=True
        )
        handle = self._session.handle if self._session else self.channel.account
        _, _, rkey = normalize.split_uri(created.uri)
        return Sent(created.uri, normalize.web_url(handle, did, rkey))

    def _reply_ref(self, uri: str) -> models.AppBskyFeedPost.ReplyRef:
        try:
            normalize.split_uri(uri)
        except normalize.UnusableRecord:
            raise ChannelRejectedError(f"not a Bluesky post to reply to: {uri[:200]!r}") from None
        params = models.AppBskyFeedGetPosts.Params(uris=[uri])
        found = self._query("app.bsky.feed.getPosts", params).get("posts") or []
        parent = next((p for p in found if isinstance(p, dict) and p.get("uri") == uri), None)
        if parent is None or not isinstance(parent.get("cid"), str):
            raise ChannelRejectedError(f"the Bluesky post replied to no longer exists: {uri}")
        parent_ref = models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=parent["cid"])
        root_ref = parent_ref
        record = parent.get("record")
        reply = record.get("reply") if isinstance(record, dict) else None
        root = reply.get("root") if isinstance(reply, dict) else None
        if (
            isinstance(root, dict)
            and isinstance(root.get("uri"), str)
            and isinstance(root.get("cid"), str)
        ):
            root_ref = models.ComAtprotoRepoStrongRef.Main(uri=root["uri"], cid=root["cid"])
        return models.AppBskyFeedPost.ReplyRef(root=root_ref, parent=parent_ref)

    def recent_own(self, limit: int = 40) -> list[OwnPost]:
        """The account's latest posts and replies (not reposts), newest first."""
        did = self._did
        own: list[OwnPost] = []
        page_cursor: str | None = None
        for _ in range(FEED_PAGES):
            params = models.AppBskyFeedGetAuthorFeed.Params(
                actor=did,
                filter="posts_with_replies",
                limit=min(max(limit, 1), 100),
                cursor=page_cursor,
            )
            page = self._query("app.bsky.feed.getAuthorFeed", params)
            for item in page.get("feed") or []:
                mine = self._own(item, did)
                if mine is not None:
                    own.append(mine)
            page_cursor = page.get("cursor") if isinstance(page.get("cursor"), str) else None
            if len(own) >= limit or not page_cursor:
                break
        own.sort(key=lambda p: p.created_at, reverse=True)
        return own[:limit]

    @staticmethod
    def _own(item: Any, did: str) -> OwnPost | None:
        if not isinstance(item, dict) or item.get("reason") is not None:
            return None  # a repost or a pinned post shown again
        view = item.get("post")
        if not isinstance(view, dict) or not isinstance(view.get("record"), dict):
            return None
        author = view.get("author")
        if not isinstance(author, dict) or author.get("did") != did:
            return None
        record = view["record"]
        try:
            repo, _, rkey = normalize.split_uri(view.get("uri"))
            created = (
                normalize.parse_time(record["createdAt"], "createdAt")
                if "createdAt" in record
                else normalize.parse_time(view.get("indexedAt"), "indexedAt")
            )
            parent = normalize.reply_parent(record)
        except normalize.UnusableRecord:
            return None
        text = record.get("text")
        if not isinstance(text, str):
            return None
        handle = author.get("handle") if isinstance(author.get("handle"), str) else None
        return OwnPost(
            remote_id=str(view["uri"]),
            url=normalize.web_url(handle, repo, rkey),
            text=text,
            created_at=created.astimezone(UTC),
            reply_to=parent,
        )

    def find_published(self, post: Outgoing, since: datetime) -> Sent | None:
        """The account's post with ``post``'s text and reply parent created at or after
        ``since`` (5 seconds of clock skew allowed); None when there is none."""
        matches = [
            own
            for own in self.recent_own(100)
            if own.text == post.text
            and own.reply_to == post.reply_to
            and own.created_at >= since - SKEW
        ]
        if not matches:
            return None
        first = min(matches, key=lambda own: own.created_at)
        return Sent(first.remote_id, first.url)


@dataclass
class _Watermark:
    """How far a source was read: the newest time seen and the URIs seen at exactly that
    time (a record of the same millisecond is neither lost nor repeated)."""

    since: datetime | None
    seen: set[str]
    newest: datetime | None
    newest_uris: set[str]

    @classmethod
    def of(cls, mark: Any, key: str) -> _Watermark:
        """The watermark stored under ``key`` in a cursor entry (none: a first run)."""
        since = _time(mark.get(key)) if isinstance(mark, dict) else None
        seen = {str(u) for u in mark.get("uris", [])} if isinstance(mark, dict) and since else set()
        return cls(since, seen, since, set(seen))

    def passes(self, at: datetime, uri: object) -> bool:
        """Whether a record at ``at`` is new (False: the previous pass reached it); a new one
        moves the watermark."""
        if self.since is not None and (at < self.since or (at == self.since and uri in self.seen)):
            return False
        if self.newest is None or at > self.newest:
            self.newest, self.newest_uris = at, set()
        if at == self.newest:
            self.newest_uris.add(str(uri))
        return True

    def mark(self, previous: Any, key: str) -> dict[str, Any]:
        """The cursor entry to store (the previous one when nothing was seen)."""
        if self.newest is None:
            return dict(previous) if isinstance(previous, dict) else {}
        return {key: _iso(self.newest), "uris": sorted(self.newest_uris)}
