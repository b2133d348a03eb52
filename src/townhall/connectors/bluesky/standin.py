"""A stand-in Bluesky PDS + AppView: XRPC over HTTP for tests and the demo (not a real network).

It speaks the documented wire format at ``/xrpc/<nsid>``: JSON bodies shaped like the lexicon
outputs, error bodies ``{"error": "...", "message": "..."}``, HS256 JWT sessions with ``exp``
(the atproto SDK reads it to decide when to refresh) and ``RateLimit-*`` headers. Plain Python
methods drive it from tests: add mentions, replies, quotes and search hits, revoke sessions,
expire access tokens, force 429s, fail after storing a post, see what was published.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

ACCESS_TTL = 2 * 3600
"""Seconds an access token lives (the real PDS: about 2 hours)."""
REFRESH_TTL = 90 * 86400
RATE_WINDOW = 300
"""Seconds of one rate-limit window (``RateLimit-Policy: N;w=300``)."""
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
POST = "app.bsky.feed.post"
REMOVE = object()
"""In a ``patch``: delete this key from the served view (to serve a record with a field missing)."""

_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"


class XrpcError(Exception):
    """An XRPC error answer: HTTP status, ``error`` name and ``message``."""

    def __init__(
        self, status: int, error: str, message: str, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = headers or {}


@dataclass
class Actor:
    """An account known to the stand-in."""

    did: str
    handle: str
    display_name: str | None = None
    followers: int = 0
    password: str | None = None

    def basic(self) -> dict[str, Any]:
        view: dict[str, Any] = {"did": self.did, "handle": self.handle, "labels": []}
        if self.display_name is not None:
            view["displayName"] = self.display_name
        view["createdAt"] = "2024-01-01T00:00:00.000Z"
        return view

    def detailed(self, posts: int) -> dict[str, Any]:
        return {
            **self.basic(),
            "description": "",
            "followersCount": self.followers,
            "followsCount": 3,
            "postsCount": posts,
            "indexedAt": "2024-01-01T00:00:00.000Z",
        }


@dataclass
class StoredPost:
    """A post record in a repo, with the AppView's indexing time."""

    uri: str
    cid: str
    author: str  # did
    record: dict[str, Any]
    indexed_at: str
    match_text: str
    patch: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Session:
    did: str
    refresh_jti: str
    revoked: bool = False


def iso(moment: datetime) -> str:
    """An atproto datetime: ``2026-11-20T14:00:00.000Z``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def graphemes(text: str) -> int:
    """Approximate grapheme count: combining marks, ZWJ sequences, variation selectors and
    skin-tone modifiers join the character before them."""
    count = 0
    join_next = False
    for char in text:
        code = ord(char)
        if join_next:
            join_next = False
            continue
        if code == 0x200D:
            join_next = True
            continue
        if unicodedata.category(char) in ("Mn", "Mc", "Me") or 0xFE00 <= code <= 0xFE0F:
            continue
        if 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
            continue
        count += 1
    return count


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _merge(view: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(view)
    for key, value in patch.items():
        if value is REMOVE:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _dumps(body: Any) -> bytes:
    try:
        return json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate a test put in: send it as a JSON escape
        return json.dumps(body, ensure_ascii=True).encode("ascii")


class BlueskyStandin:
    """A stateful stand-in PDS for one brand account; ``app`` is the ASGI application."""

    def __init__(
        self,
        handle: str = "acme.example",
        password: str = "abcd-efgh-ijkl-mnop",  # noqa: S107 - the stand-in's test password
        *,
        display_name: str = "ACME",
        followers: int = 12_000,
        rate_limit: int = 3000,
        create_session_limit: int = 30,
    ) -> None:
        self._lock = threading.RLock()
        self._key = secrets.token_bytes(32)
        self._actors: dict[str, Actor] = {}
        self._posts: dict[str, StoredPost] = {}
        self._notifications: list[dict[str, Any]] = []
        self._reposts: list[tuple[str, str, str]] = []  # (by did, uri, indexedAt)
        self._sessions: dict[str, _Session] = {}
        self._access_jtis: dict[str, str] = {}  # jti -> sid
        self._expired: set[str] = set()
        self._last_tick = 0  # milliseconds
        self._forced: list[tuple[str | None, int]] = []  # (nsid or None, reset unix s)
        self._fail_after_store = 0
        self._window_start = int(time.time())
        self._calls_in_window = 0
        self._sessions_in_window = 0
        self.rate_limit = rate_limit
        self.create_session_limit = create_session_limit
        self.access_ttl = ACCESS_TTL
        self.account = self.add_actor(handle, display_name, followers, password=password)
        self.published: list[dict[str, Any]] = []
        """Every post the account created through ``createRecord``: uri, cid and record."""
        self.on_create: Callable[[dict[str, Any]], None] | None = None
        """Called after a post is stored and before the answer is sent (the published entry)."""
        self.create_session_calls = 0
        self.refresh_session_calls = 0
        self.requests: list[str] = []
        """The NSID of every XRPC request, in order."""
        self.app = Starlette(
            routes=[
                Route("/", self._home, methods=["GET"]),
                Route("/xrpc/{nsid}", self._xrpc, methods=["GET", "POST"]),
            ]
        )

    # -- control methods ---------------------------------------------------------------------

    def add_actor(
        self,
        handle: str,
        display_name: str | None = None,
        followers: int = 0,
        *,
        password: str | None = None,
    ) -> Actor:
        """An account (``did:plc:`` derived from the handle); returns the existing one if known."""
        with self._lock:
            for actor in self._actors.values():
                if actor.handle == handle:
                    return actor
            digest = base64.b32encode(hashlib.sha256(handle.encode()).digest()).decode().lower()
            actor = Actor(f"did:plc:{digest[:24]}", handle, display_name, followers, password)
            self._actors[actor.did] = actor
            return actor

    def add_post(
        self,
        author: str,
        text: str,
        *,
        created_at: str | None = None,
        indexed_at: str | None = None,
        reply_to: str | None = None,
        quote_of: str | None = None,
        langs: list[str] | None = None,
        facets: list[dict[str, Any]] | None = None,
        record: dict[str, Any] | None = None,
        patch: dict[str, Any] | None = None,
    ) -> StoredPost:
        """A post by ``author`` (a handle; created if unknown). ``record`` replaces the whole
        record; ``patch`` is merged into every view served of it (``REMOVE`` deletes a key)."""
        with self._lock:
            actor = self.add_actor(author)
            indexed = indexed_at or self._tick()
            rec: dict[str, Any] = {"$type": POST, "text": text, "createdAt": created_at or indexed}
            if langs:
                rec["langs"] = langs
            if facets:
                rec["facets"] = facets
            if reply_to is not None:
                parent = self._posts[reply_to]
                root = parent.record.get("reply", {}).get("root") or {
                    "uri": parent.uri,
                    "cid": parent.cid,
                }
                rec["reply"] = {"root": root, "parent": {"uri": parent.uri, "cid": parent.cid}}
            if quote_of is not None:
                quoted = self._posts[quote_of]
                rec["embed"] = {
                    "$type": "app.bsky.embed.record",
                    "record": {"uri": quoted.uri, "cid": quoted.cid},
                }
            if record is not None:
                rec = record
            return self._store(actor.did, rec, indexed, text, patch or {})

    def add_mention(self, author: str, text: str, **kwargs: Any) -> StoredPost:
        """A post that mentions the account, and its ``mention`` notification."""
        post = self.add_post(author, text, **kwargs)
        self.notify(post, "mention")
        return post

    def add_reply(self, author: str, text: str, reply_to: str, **kwargs: Any) -> StoredPost:
        """A reply to ``reply_to`` (a uri) and, when that is the account's, a ``reply``
        notification."""
        post = self.add_post(author, text, reply_to=reply_to, **kwargs)
        if self._posts[reply_to].author == self.account.did:
            self.notify(post, "reply", reason_subject=reply_to)
        return post

    def add_quote(self, author: str, text: str, quote_of: str, **kwargs: Any) -> StoredPost:
        """A quote post of ``quote_of`` and its ``quote`` notification."""
        post = self.add_post(author, text, quote_of=quote_of, **kwargs)
        self.notify(post, "quote", reason_subject=quote_of)
        return post

    def add_search_post(self, author: str, text: str, **kwargs: Any) -> StoredPost:
        """A post that only search finds (no notification)."""
        return self.add_post(author, text, **kwargs)

    def add_account_post(self, text: str, **kwargs: Any) -> StoredPost:
        """A post by the account itself (as if written in the Bluesky app)."""
        return self.add_post(self.account.handle, text, **kwargs)

    def add_repost(self, uri: str) -> None:
        """The account reposts ``uri`` (shows in its author feed with a ``reasonRepost``)."""
        with self._lock:
            if uri not in self._posts:
                raise KeyError(uri)
            self._reposts.append((self.account.did, uri, self._tick()))

    def notify(
        self,
        post: StoredPost,
        reason: str,
        *,
        reason_subject: str | None = None,
        patch: dict[str, Any] | None = None,
    ) -> None:
        """A notification of the account about ``post`` (``patch`` merged into it)."""
        with self._lock:
            self._notifications.append(
                {
                    "uri": post.uri,
                    "reason": reason,
                    "reasonSubject": reason_subject,
                    "indexedAt": post.indexed_at,
                    "patch": patch or {},
                }
            )

    def revoke_sessions(self) -> None:
        """Revoke every session: access tokens are refused (401) and refreshing fails."""
        with self._lock:
            for session in self._sessions.values():
                session.revoked = True

    def change_password(self, password: str) -> None:
        """Revoke the app password: createSession with the old one fails (401)."""
        with self._lock:
            self.account.password = password

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is expired now (400 ExpiredToken): clients must
        refresh."""
        with self._lock:
            self._expired.update(self._access_jtis)

    def force_rate_limit(self, count: int, reset_at: int, nsid: str | None = None) -> None:
        """Answer the next ``count`` requests (of ``nsid``, or any) with 429 and
        ``RateLimit-Reset: reset_at`` (Unix seconds)."""
        with self._lock:
            self._forced.extend([(nsid, reset_at)] * count)

    def fail_after_store(self, count: int = 1) -> None:
        """The next ``count`` createRecord calls store the post, then answer 500."""
        with self._lock:
            self._fail_after_store += count

    def session_string(self, pds_url: str, *, expired_access: bool = False) -> str:
        """A saved session as the atproto SDK exports it (no createSession counted);
        ``expired_access``: its access token has already expired."""
        with self._lock:
            access, refresh = self._new_session(self.account.did, expired=expired_access)
            return ":::".join([self.account.handle, self.account.did, access, refresh, pds_url])

    def post(self, uri: str) -> StoredPost:
        """A stored post by uri."""
        with self._lock:
            return self._posts[uri]

    # -- internals ---------------------------------------------------------------------------

    def _tick(self) -> str:
        """A strictly increasing indexing time (millisecond steps, counted in whole
        milliseconds: float seconds rounded to microseconds could print the same millisecond
        twice)."""
        millis = max(time.time_ns() // 1_000_000, self._last_tick + 1)
        self._last_tick = millis
        return iso(
            datetime.fromtimestamp(millis // 1000, UTC) + timedelta(milliseconds=millis % 1000)
        )

    def _store(
        self, did: str, record: dict[str, Any], indexed: str, text: str, patch: dict[str, Any]
    ) -> StoredPost:
        rkey = self._tid()
        uri = f"at://{did}/{POST}/{rkey}"
        digest = hashlib.sha256(_dumps(record) + rkey.encode()).digest()
        cid = "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")[:52]
        post = StoredPost(uri, cid, did, record, indexed, text, patch)
        self._posts[uri] = post
        return post

    def _tid(self) -> str:
        micros = max(time.time_ns() // 1000, self._last_tick * 1000)
        value = (micros << 10) | secrets.randbelow(1024)
        chars = []
        for _ in range(13):
            chars.append(_TID_CHARS[value & 31])
            value >>= 5
        return "".join(reversed(chars))

    def _jwt(self, payload: dict[str, Any], typ: str) -> str:
        head = _b64(json.dumps({"typ": typ, "alg": "HS256"}).encode())
        body = _b64(json.dumps(payload).encode())
        sig = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(sig)}"

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            head, body, sig = token.split(".")
            expected = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(sig)):
                raise ValueError("bad signature")
            payload: dict[str, Any] = json.loads(_unb64(body))
        except ValueError:
            raise XrpcError(400, "InvalidToken", "Token could not be verified") from None
        return payload

    def _new_session(
        self, did: str, *, expired: bool = False, sid: str | None = None
    ) -> tuple[str, str]:
        now = int(time.time())
        sid = sid or secrets.token_hex(8)
        access_jti, refresh_jti = secrets.token_hex(8), secrets.token_hex(8)
        exp = now - 60 if expired else now + self.access_ttl
        common = {"sub": did, "aud": "did:web:standin.localhost", "iat": now, "sid": sid}
        access = self._jwt(
            {**common, "scope": "com.atproto.access", "exp": exp, "jti": access_jti}, "at+jwt"
        )
        refresh = self._jwt(
            {
                **common,
                "scope": "com.atproto.refresh",
                "exp": now + REFRESH_TTL,
                "jti": refresh_jti,
            },
            "refresh+jwt",
        )
        self._sessions[sid] = _Session(did, refresh_jti)
        self._access_jtis[access_jti] = sid
        if expired:
            self._expired.add(access_jti)
        return access, refresh

    def _bearer(self, request: Request) -> str:
        value = request.headers.get("authorization", "")
        if not value.lower().startswith("bearer "):
            raise XrpcError(401, "AuthenticationRequired", "Authentication Required")
        return value[7:].strip()

    def _auth(self, request: Request) -> Actor:
        payload = self._verify(self._bearer(request))
        if payload.get("scope") != "com.atproto.access":
            raise XrpcError(400, "InvalidToken", "Bad token scope")
        session = self._sessions.get(str(payload.get("sid")))
        if session is None or session.revoked:
            raise XrpcError(401, "InvalidToken", "Token has been revoked")
        if payload.get("jti") in self._expired or int(payload.get("exp", 0)) <= time.time():
            raise XrpcError(400, "ExpiredToken", "Token has expired")
        return self._actors[session.did]

    def _rate_headers(self) -> dict[str, str]:
        now = int(time.time())
        if now >= self._window_start + RATE_WINDOW:
            self._window_start, self._calls_in_window, self._sessions_in_window = now, 0, 0
        reset = self._window_start + RATE_WINDOW
        return {
            "RateLimit-Limit": str(self.rate_limit),
            "RateLimit-Remaining": str(max(0, self.rate_limit - self._calls_in_window)),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{self.rate_limit};w={RATE_WINDOW}",
        }

    def _actor(self, ref: str | None) -> Actor:
        for actor in self._actors.values():
            if ref in (actor.did, actor.handle):
                return actor
        raise XrpcError(400, "InvalidRequest", "Profile not found")

    def _view(self, post: StoredPost) -> dict[str, Any]:
        replies = sum(
            1
            for other in self._posts.values()
            if isinstance(other.record.get("reply"), dict)
            and other.record["reply"].get("parent", {}).get("uri") == post.uri
        )
        view = {
            "uri": post.uri,
            "cid": post.cid,
            "author": self._actors[post.author].basic(),
            "record": post.record,
            "replyCount": replies,
            "repostCount": 0,
            "likeCount": 0,
            "quoteCount": 0,
            "indexedAt": post.indexed_at,
            "labels": [],
        }
        return _merge(view, post.patch)

    def _posts_count(self, did: str) -> int:
        return sum(1 for post in self._posts.values() if post.author == did)

    # -- HTTP --------------------------------------------------------------------------------

    async def _home(self, request: Request) -> HTMLResponse:
        with self._lock:
            rows = "".join(
                f"<li><code>{html.escape(entry['uri'])}</code> "
                f"{html.escape(str(entry['record'].get('text', '')))}</li>"
                for entry in self.published
            )
            handle = html.escape(self.account.handle)
        page = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            "<title>Local Bluesky stand-in</title></head><body>"
            "<h1>Local Bluesky stand-in — not a real network</h1>"
            f"<p>This is a local test server standing in for the Bluesky PDS of {handle}. "
            "Nothing here reaches Bluesky.</p>"
            f"<h2>Published ({len(self.published)})</h2><ul>{rows or '<li>nothing yet</li>'}</ul>"
            "</body></html>"
        )
        return HTMLResponse(page)

    async def _xrpc(self, request: Request) -> Response:
        nsid = request.path_params["nsid"]
        body: Any = None
        if request.method == "POST":
            raw = await request.body()
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._error(XrpcError(400, "InvalidRequest", "Invalid JSON body"), {})
        with self._lock:
            self.requests.append(nsid)
            headers = self._rate_headers()
            self._calls_in_window += 1
            try:
                self._check_forced(nsid)
                handler = self._HANDLERS.get((request.method, nsid))
                if handler is None:
                    raise XrpcError(501, "MethodNotImplemented", f"Method not implemented: {nsid}")
                result = handler(self, request, body if isinstance(body, dict) else {})
            except XrpcError as exc:
                return self._error(exc, headers)
        return Response(_dumps(result), 200, headers, media_type="application/json")

    def _error(self, exc: XrpcError, headers: dict[str, str]) -> Response:
        body = _dumps({"error": exc.error, "message": exc.message})
        return Response(body, exc.status, {**headers, **exc.headers}, media_type="application/json")

    def _check_forced(self, nsid: str) -> None:
        for index, (only, reset) in enumerate(self._forced):
            if only is None or only == nsid:
                del self._forced[index]
                raise XrpcError(
                    429,
                    "RateLimitExceeded",
                    "Rate Limit Exceeded",
                    {"RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)},
                )

    # -- com.atproto.server / identity -------------------------------------------------------

    def _create_session(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.create_session_calls += 1
        self._sessions_in_window += 1
        if self._sessions_in_window > self.create_session_limit:
            raise XrpcError(
                429,
                "RateLimitExceeded",
                "Rate Limit Exceeded",
                {
                    "RateLimit-Limit": str(self.create_session_limit),
                    "RateLimit-Remaining": "0",
                    "RateLimit-Reset": str(self._window_start + RATE_WINDOW),
                    "RateLimit-Policy": f"{self.create_session_limit};w={RATE_WINDOW}",
                },
            )
        identifier, password = body.get("identifier"), body.get("password")
        if not isinstance(identifier, str) or not isinstance(password, str):
            raise XrpcError(400, "InvalidRequest", 'Input must have the property "identifier"')
        try:
            actor = self._actor(identifier)
        except XrpcError:
            raise XrpcError(
                401, "AuthenticationRequired", "Invalid identifier or password"
            ) from None
        if actor.password is None or not hmac.compare_digest(actor.password, password):
            raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
        access, refresh = self._new_session(actor.did)
        return self._session_body(request, actor, access, refresh)

    def _session_body(
        self, request: Request, actor: Actor, access: str, refresh: str
    ) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": actor.handle,
            "did": actor.did,
            "didDoc": {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": actor.did,
                "alsoKnownAs": [f"at://{actor.handle}"],
                "verificationMethod": [],
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": base,
                    }
                ],
            },
            "email": f"social@{actor.handle}",
            "emailConfirmed": True,
            "active": True,
        }

    def _refresh_session(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.refresh_session_calls += 1
        payload = self._verify(self._bearer(request))
        if payload.get("scope") != "com.atproto.refresh":
            raise XrpcError(400, "InvalidToken", "Bad token scope")
        session = self._sessions.get(str(payload.get("sid")))
        if session is None or session.revoked or session.refresh_jti != payload.get("jti"):
            raise XrpcError(401, "InvalidToken", "Token has been revoked")
        access, refresh = self._new_session(session.did, sid=str(payload["sid"]))
        return self._session_body(request, self._actors[session.did], access, refresh)

    def _get_session(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        actor = self._auth(request)
        return {"handle": actor.handle, "did": actor.did, "active": True}

    def _resolve_handle(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        handle = request.query_params.get("handle", "").lower()
        for actor in self._actors.values():
            if actor.handle.lower() == handle:
                return {"did": actor.did}
        raise XrpcError(400, "InvalidRequest", "Unable to resolve handle")

    # -- app.bsky.actor ----------------------------------------------------------------------

    def _get_profile(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self._auth(request)
        actor = self._actor(request.query_params.get("actor"))
        return actor.detailed(self._posts_count(actor.did))

    def _get_profiles(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self._auth(request)
        refs = request.query_params.getlist("actors")
        if not refs or len(refs) > 25:
            raise XrpcError(400, "InvalidRequest", "actors must have 1 to 25 items")
        profiles = []
        for ref in refs:
            try:
                actor = self._actor(ref)
            except XrpcError:
                continue
            profiles.append(actor.detailed(self._posts_count(actor.did)))
        return {"profiles": profiles}

    # -- app.bsky.notification / feed --------------------------------------------------------

    @staticmethod
    def _limit(request: Request, default: int, top: int = 100) -> int:
        try:
            limit = int(request.query_params.get("limit", default))
        except ValueError:
            raise XrpcError(400, "InvalidRequest", "limit must be an integer") from None
        if not 1 <= limit <= top:
            raise XrpcError(400, "InvalidRequest", f"limit must be between 1 and {top}")
        return limit

    @staticmethod
    def _offset(request: Request) -> int:
        cursor = request.query_params.get("cursor")
        if not cursor:
            return 0
        if not cursor.isdigit():
            raise XrpcError(400, "InvalidRequest", "Malformed cursor")
        return int(cursor)

    def _list_notifications(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        actor = self._auth(request)
        if actor.did != self.account.did:
            return {"notifications": [], "priority": False}
        limit = self._limit(request, 50)
        reasons = set(request.query_params.getlist("reasons"))
        items = [n for n in self._notifications if not reasons or n["reason"] in reasons]
        items.sort(key=lambda n: n["indexedAt"], reverse=True)
        start = self._offset(request)
        page = items[start : start + limit]
        out = []
        for note in page:
            post = self._posts[note["uri"]]
            view = {
                "uri": post.uri,
                "cid": post.cid,
                "author": self._actors[post.author].basic(),
                "reason": note["reason"],
                "record": post.record,
                "isRead": False,
                "indexedAt": note["indexedAt"],
                "labels": [],
            }
            if note["reasonSubject"]:
                view["reasonSubject"] = note["reasonSubject"]
            out.append(_merge(_merge(view, post.patch), note["patch"]))
        result: dict[str, Any] = {"notifications": out, "priority": False}
        if start + limit < len(items):
            result["cursor"] = str(start + limit)
        return result

    def _search_posts(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self._auth(request)
        q = request.query_params.get("q", "").strip().lower()
        if not q:
            raise XrpcError(400, "InvalidRequest", 'Error: Params must have the property "q"')
        limit = self._limit(request, 25)
        since = _parse_time(request.query_params.get("since"))
        until = _parse_time(request.query_params.get("until"))

        def sort_at(post: StoredPost) -> datetime:
            indexed = _parse_time(post.indexed_at) or datetime.now(UTC)
            created = _parse_time(post.record.get("createdAt"))
            return min(created, indexed) if created else indexed

        def matches(post: StoredPost) -> bool:
            text = post.match_text.lower()
            if q.startswith("#"):
                return any(word.rstrip(".,!?;:") == q for word in text.split())
            return all(word in text for word in q.split())

        hits = [p for p in self._posts.values() if matches(p)]
        if since:
            hits = [p for p in hits if sort_at(p) >= since]
        if until:
            hits = [p for p in hits if sort_at(p) < until]
        hits.sort(key=sort_at, reverse=True)
        start = self._offset(request)
        page = hits[start : start + limit]
        result: dict[str, Any] = {"posts": [self._view(p) for p in page], "hitsTotal": len(hits)}
        if start + limit < len(hits):
            result["cursor"] = str(start + limit)
        return result

    def _get_posts(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self._auth(request)
        uris = request.query_params.getlist("uris")
        if len(uris) > 25:
            raise XrpcError(400, "InvalidRequest", "uris must not have more than 25 items")
        return {"posts": [self._view(self._posts[u]) for u in uris if u in self._posts]}

    def _get_author_feed(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self._auth(request)
        actor = self._actor(request.query_params.get("actor"))
        limit = self._limit(request, 50)
        kind = request.query_params.get("filter", "posts_with_replies")
        items: list[tuple[str, dict[str, Any]]] = []
        for post in self._posts.values():
            if post.author != actor.did:
                continue
            if kind == "posts_no_replies" and "reply" in post.record:
                continue
            items.append((post.indexed_at, {"post": self._view(post)}))
        for by, uri, at in self._reposts:
            if by == actor.did:
                reason = {
                    "$type": "app.bsky.feed.defs#reasonRepost",
                    "by": actor.basic(),
                    "indexedAt": at,
                }
                items.append((at, {"post": self._view(self._posts[uri]), "reason": reason}))
        items.sort(key=lambda item: item[0], reverse=True)
        start = self._offset(request)
        result: dict[str, Any] = {"feed": [item for _, item in items[start : start + limit]]}
        if start + limit < len(items):
            result["cursor"] = str(start + limit)
        return result

    # -- com.atproto.repo --------------------------------------------------------------------

    def _create_record(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        actor = self._auth(request)
        if body.get("repo") not in (actor.did, actor.handle):
            raise XrpcError(400, "InvalidRequest", "Invalid repo: not the authenticated account")
        if body.get("collection") != POST:
            raise XrpcError(400, "InvalidRequest", "This stand-in only stores app.bsky.feed.post")
        record = body.get("record")
        if not isinstance(record, dict):
            raise XrpcError(400, "InvalidRequest", 'Input must have the property "record"')
        self._validate_post(record)
        post = self._store(actor.did, record, self._tick(), str(record["text"]), {})
        entry = {"uri": post.uri, "cid": post.cid, "record": record}
        self.published.append(entry)
        if self.on_create is not None:
            self.on_create(entry)
        if self._fail_after_store > 0:
            self._fail_after_store -= 1
            raise XrpcError(500, "InternalServerError", "Internal Server Error")
        return {
            "uri": post.uri,
            "cid": post.cid,
            "commit": {"cid": post.cid, "rev": self._tid()},
            "validationStatus": "valid",
        }

    def _validate_post(self, record: dict[str, Any]) -> None:
        def invalid(why: str) -> XrpcError:
            return XrpcError(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {why}")

        if record.get("$type") != POST:
            raise invalid("Record/$type must be app.bsky.feed.post")
        text = record.get("text")
        if not isinstance(text, str):
            raise invalid('Record must have the property "text"')
        if graphemes(text) > MAX_GRAPHEMES:
            raise invalid(f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes")
        size = len(text.encode("utf-8"))
        if size > MAX_TEXT_BYTES:
            raise invalid(f"Record/text must not be longer than {MAX_TEXT_BYTES} characters")
        if _parse_time(record.get("createdAt")) is None:
            raise invalid(
                "Record/createdAt must be an valid atproto datetime (both RFC-3339 and ISO-8601)"
            )
        reply = record.get("reply")
        if reply is not None:
            for part in ("root", "parent"):
                ref = reply.get(part) if isinstance(reply, dict) else None
                if not isinstance(ref, dict):
                    raise invalid(f'Record/reply must have the property "{part}"')
                target = self._posts.get(str(ref.get("uri")))
                if target is None:
                    raise invalid(f"Record/reply/{part} does not exist: {ref.get('uri')}")
                if target.cid != ref.get("cid"):
                    raise invalid(f"Record/reply/{part}/cid does not match {target.uri}")
        for number, facet in enumerate(record.get("facets") or []):
            index = facet.get("index") if isinstance(facet, dict) else None
            start = index.get("byteStart") if isinstance(index, dict) else None
            end = index.get("byteEnd") if isinstance(index, dict) else None
            if (
                not isinstance(start, int)
                or not isinstance(end, int)
                or not 0 <= start < end <= size
            ):
                raise invalid(f"Record/facets/{number}/index is outside the text")
            features = facet.get("features")
            if not isinstance(features, list) or not features:
                raise invalid(f'Record/facets/{number} must have the property "features"')

    _HANDLERS: ClassVar[
        dict[tuple[str, str], Callable[[BlueskyStandin, Request, dict[str, Any]], Any]]
    ] = {
        ("POST", "com.atproto.server.createSession"): _create_session,
        ("POST", "com.atproto.server.refreshSession"): _refresh_session,
        ("GET", "com.atproto.server.getSession"): _get_session,
        ("GET", "com.atproto.identity.resolveHandle"): _resolve_handle,
        ("GET", "app.bsky.actor.getProfile"): _get_profile,
        ("GET", "app.bsky.actor.getProfiles"): _get_profiles,
        ("GET", "app.bsky.notification.listNotifications"): _list_notifications,
        ("GET", "app.bsky.feed.searchPosts"): _search_posts,
        ("GET", "app.bsky.feed.getPosts"): _get_posts,
        ("GET", "app.bsky.feed.getAuthorFeed"): _get_author_feed,
        ("POST", "com.atproto.repo.createRecord"): _create_record,
    }
