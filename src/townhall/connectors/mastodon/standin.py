"""A local stand-in for a Mastodon server: REST, rate limits and the SSE user stream.

``MastodonStandin().app`` is a Starlette app that speaks the wire format Mastodon.py expects
(bearer tokens, ``X-RateLimit-*`` headers, ``Link`` pagination, ``{"error": ...}`` bodies, the
``/api/v1/streaming/user`` event stream). State lives in memory behind one lock: the app runs in
``LocalServer``'s thread while tests and the demo call the control methods from theirs.
"""

from __future__ import annotations

import asyncio
import html
import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from townhall.connectors.mastodon import entities

MAX_CHARS = 500
RATE_LIMIT = 300
RATE_WINDOW = timedelta(minutes=5)
_ID_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class _Stream:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[tuple[str, str] | None]


@dataclass
class _Budget:
    remaining: int = RATE_LIMIT
    reset: datetime = field(default_factory=lambda: datetime.now(UTC) + RATE_WINDOW)
    forced: int = 0
    forced_reset: datetime | None = None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


class MastodonStandin:
    """An in-memory Mastodon instance hosting one account (``@username@domain``)."""

    def __init__(
        self,
        domain: str = "mastodon.example",
        username: str = "acme",
        token: str = "standin-token",  # noqa: S107 - the stand-in's fixed test token
        *,
        version: str = "4.3.2",
        heartbeat_seconds: float = 10.0,
        web_url: str | None = None,
    ) -> None:
        self.domain = domain
        self.web_url = web_url.rstrip("/") if web_url else None
        """Where this stand-in is reachable (the demo): the account's statuses link there, and
        ``/@<user>/<id>`` shows one, instead of pointing at the made-up ``domain``."""
        self.token = token
        self.version = version
        self.heartbeat_seconds = heartbeat_seconds
        self.on_create: Callable[[dict[str, Any]], None] | None = None
        """Called with each new status after it is stored and before the response is sent."""
        self._lock = threading.RLock()
        self._streams_changed = threading.Condition(self._lock)
        self._last_id = 0
        self._last_notification = 0
        self._accounts: dict[str, dict[str, Any]] = {}
        self._statuses: dict[str, dict[str, Any]] = {}
        self._notifications: list[dict[str, Any]] = []
        self._idempotency: dict[str, str] = {}
        self._streams: list[_Stream] = []
        self._revoked = False
        self._budget = _Budget()
        self._fail_creates: list[int] = []
        self._held: threading.Event | None = None
        self.requests: list[str] = []
        """Every API request as ``"GET /api/v1/notifications?..."``, oldest first."""
        self.me = self._account(username, domain, name="ACME", followers=1200)
        self.app = Starlette(routes=self._routes())

    # -- control methods (tests and the demo) ----------------------------------------------------

    def author(self, handle: str, name: str = "", followers: int = 0) -> dict[str, Any]:
        """The Account for ``@user@domain`` (or a local ``user``), created on first use."""
        user, _, domain = handle.lstrip("@").partition("@")
        return self._account(user, domain or self.domain, name=name, followers=followers)

    def add_mention(
        self,
        author: str,
        text: str,
        *,
        reply_to: str | None = None,
        visibility: str = "public",
        at: datetime | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A status from ``author`` mentioning the account (a reply when ``reply_to`` names one
        of its statuses); creates the mention notification and streams it. ``fields`` override
        entries of the status payload (hostile tests)."""
        mention = f"@{self.me['username']}"
        if mention.lower() not in text.lower():
            text = f"{mention} {text}"
        status = self.add_status(author, text, reply_to=reply_to, visibility=visibility, at=at)
        with self._lock:
            status.update(fields)
            self._last_notification += 1
            note = entities.notification(
                str(self._last_notification),
                "mention",
                at or datetime.now(UTC),
                status["account"],
                status,
            )
            self._notifications.append(note)
        self._broadcast("notification", note)
        return status

    def add_status(
        self,
        author: str,
        text: str,
        *,
        reply_to: str | None = None,
        visibility: str = "public",
        at: datetime | None = None,
        spoiler_text: str = "",
        language: str | None = "en",
        media: list[str] | None = None,
        reblog_of: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A status from ``author`` (a hashtag post, a search hit, a reblog with ``reblog_of``);
        it does not notify or stream."""
        account = self.author(author)
        moment = at or datetime.now(UTC)
        with self._lock:
            parent = self._statuses.get(reply_to) if reply_to else None
            if reply_to and parent is None:
                raise KeyError(f"no status {reply_to}")
            reblog = self._statuses[reblog_of] if reblog_of else None
            status = entities.status(
                self._next_id(moment),
                account,
                text,
                moment,
                self.domain,
                visibility=visibility,
                in_reply_to=parent,
                spoiler_text=spoiler_text,
                language=language,
                media=media,
                reblog=reblog,
            )
            self._link_mentions(status)
            status.update(fields)
            self._statuses[status["id"]] = status
            return status

    def add_reply(self, author: str, text: str, to: str, **fields: Any) -> dict[str, Any]:
        """A reply from ``author`` to the account's status ``to`` (notified as a mention)."""
        return self.add_mention(author, text, reply_to=to, **fields)

    def add_hashtag_post(self, author: str, text: str, tag: str, **fields: Any) -> dict[str, Any]:
        """A public status from ``author`` carrying ``#tag`` (appended when missing)."""
        if f"#{tag.lstrip('#').lower()}" not in text.lower():
            text = f"{text} #{tag.lstrip('#')}"
        return self.add_status(author, text, **fields)

    def revoke_token(self) -> None:
        """Revoke the access token: every later request is a 401 and open streams end."""
        with self._lock:
            self._revoked = True
        self.drop_streams()

    def force_rate_limit(self, requests: int = 1, reset_at: datetime | None = None) -> datetime:
        """Answer the next ``requests`` API calls with 429 and ``X-RateLimit-Reset: reset_at``."""
        reset = reset_at or datetime.now(UTC) + timedelta(minutes=1)
        with self._lock:
            self._budget.forced = requests
            self._budget.forced_reset = reset
        return reset

    def set_rate_budget(self, remaining: int, reset_at: datetime) -> None:
        """Set the rate-limit budget left in the current window (0 → 429 until ``reset_at``)."""
        with self._lock:
            self._budget.remaining = remaining
            self._budget.reset = reset_at

    def fail_creates(self, count: int = 1, status_code: int = 500) -> None:
        """Store the next ``count`` new statuses, then answer ``status_code`` instead of them."""
        with self._lock:
            self._fail_creates.extend([status_code] * count)

    def hold_creates(self) -> threading.Event:
        """Store new statuses but hold each response until the returned event is set."""
        with self._lock:
            self._held = threading.Event()
            return self._held

    def drop_streams(self) -> None:
        """End every open streaming connection (clients see the stream close)."""
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.loop.call_soon_threadsafe(stream.queue.put_nowait, None)

    def wait_for_streams(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` streams are open (at most ``timeout`` seconds)."""
        with self._streams_changed:
            return self._streams_changed.wait_for(lambda: len(self._streams) >= count, timeout)

    def wait_for_no_streams(self, timeout: float = 5.0) -> bool:
        """Block until every stream has closed (at most ``timeout`` seconds)."""
        with self._streams_changed:
            return self._streams_changed.wait_for(lambda: not self._streams, timeout)

    @property
    def open_streams(self) -> int:
        """How many streaming connections are open."""
        with self._lock:
            return len(self._streams)

    @property
    def published(self) -> list[dict[str, Any]]:
        """The statuses the account created, oldest first."""
        with self._lock:
            return [dict(s) for s in self._statuses.values() if s["account"]["id"] == self.me["id"]]

    def status(self, id: str) -> dict[str, Any]:
        """A stored status by id (KeyError if none)."""
        with self._lock:
            return dict(self._statuses[id])

    # -- state helpers ---------------------------------------------------------------------------

    def _next_id(self, moment: datetime) -> str:
        # Mastodon ids: milliseconds since an epoch shifted 16 bits, plus a sequence.
        candidate = int((moment - _ID_EPOCH).total_seconds() * 1000) << 16
        self._last_id = max(candidate, self._last_id + 1)
        return str(self._last_id)

    def _account(self, user: str, domain: str, *, name: str, followers: int) -> dict[str, Any]:
        with self._lock:
            for existing in self._accounts.values():
                if existing["username"] == user and existing["url"].split("/")[2] == domain:
                    return existing
            id = str(len(self._accounts) + 1)
            made = entities.account(
                id, user, domain, self.domain, name=name or user.title(), followers=followers
            )
            self._accounts[id] = made
            return made

    def _link_mentions(self, status: dict[str, Any]) -> None:
        for mention in status["mentions"]:
            user, _, domain = mention["acct"].partition("@")
            found = self._account(user, domain or self.domain, name="", followers=0)
            mention["id"] = found["id"]

    def _broadcast(self, event: str, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False)
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.loop.call_soon_threadsafe(stream.queue.put_nowait, (event, data))

    # -- HTTP plumbing -----------------------------------------------------------------------------

    def _rate_headers(self) -> dict[str, str]:
        budget = self._budget
        reset = budget.forced_reset if budget.forced else budget.reset
        remaining = 0 if budget.forced else max(budget.remaining, 0)
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": (reset or budget.reset).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }

    def _gate(self, request: Request, *, auth: bool = True) -> Response | None:
        """Count the request against the budget and check the token; an error response or
        None."""
        with self._lock:
            self.requests.append(f"{request.method} {request.url.path}?{request.url.query}")
            now = datetime.now(UTC)
            budget = self._budget
            if budget.reset <= now:
                budget.remaining, budget.reset = RATE_LIMIT, now + RATE_WINDOW
            if budget.forced:
                headers = self._rate_headers()
                budget.forced -= 1
                return JSONResponse({"error": "Too many requests"}, 429, headers=headers)
            if budget.remaining <= 0:
                return JSONResponse(
                    {"error": "Too many requests"}, 429, headers=self._rate_headers()
                )
            budget.remaining -= 1
            if auth and not self._authorised(request):
                return JSONResponse(
                    {"error": "The access token is invalid"}, 401, headers=self._rate_headers()
                )
        return None

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        token = token or request.query_params.get("access_token", "")
        return not self._revoked and token == self.token

    def _json(
        self, data: Any, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        with self._lock:
            merged = {**self._rate_headers(), **(headers or {})}
        return JSONResponse(data, status_code, headers=merged)

    def _page(
        self, request: Request, items: list[dict[str, Any]], default: int, most: int
    ) -> JSONResponse:
        """One page of ``items`` (any order) by ``max_id`` / ``since_id`` / ``min_id`` /
        ``limit``, newest first, with the ``Link`` header Mastodon sends."""
        query = request.query_params
        limit = min(max(_int(query.get("limit")) or default, 1), most)
        max_id, since_id, min_id = (_int(query.get(k)) for k in ("max_id", "since_id", "min_id"))
        chosen = sorted(items, key=lambda i: int(i["id"]), reverse=True)
        if max_id is not None:
            chosen = [i for i in chosen if int(i["id"]) < max_id]
        if since_id is not None:
            chosen = [i for i in chosen if int(i["id"]) > since_id]
        if min_id is not None:
            # The items immediately newer than min_id (still returned newest first).
            chosen = [i for i in chosen if int(i["id"]) > min_id][-limit:]
        else:
            chosen = chosen[:limit]
        headers = {}
        if chosen:
            keep = [
                (k, v) for k, v in query.multi_items() if k not in ("max_id", "min_id", "since_id")
            ]
            base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
            newer = urlencode([*keep, ("min_id", chosen[0]["id"])])
            older = urlencode([*keep, ("max_id", chosen[-1]["id"])])
            headers["Link"] = f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'
        return self._json(chosen, headers=headers)

    # -- endpoints -------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        return [
            Route("/", self._home),
            Route("/@{user}/{id}", self._status_page),
            Route("/api/v1/instance", self._instance_v1),
            Route("/api/v1/instance/", self._instance_v1),
            Route("/api/v2/instance", self._instance_v2),
            Route("/api/v2/instance/", self._instance_v2),
            Route("/api/v1/accounts/verify_credentials", self._verify_credentials),
            Route("/api/v1/accounts/{id}/statuses", self._account_statuses),
            Route("/api/v1/notifications", self._notifications_list),
            Route("/api/v1/timelines/tag/{hashtag}", self._tag_timeline),
            Route("/api/v2/search", self._search),
            Route("/api/v1/statuses", self._create_status, methods=["POST"]),
            Route("/api/v1/statuses/{id}", self._get_status),
            Route("/api/v1/streaming/health", self._stream_health),
            Route("/api/v1/streaming/user", self._stream_user),
        ]

    def _streaming_url(self, request: Request) -> str:
        return f"ws://{request.url.netloc}"

    async def _instance_v1(self, request: Request) -> Response:
        if denied := self._gate(request, auth=False):
            return denied
        return self._json(
            {
                "uri": self.domain,
                "title": "Mastodon stand-in",
                "short_description": "A local stand-in for a Mastodon server.",
                "description": "A local stand-in for a Mastodon server (not a real network).",
                "email": f"admin@{self.domain}",
                "version": self.version,
                "urls": {"streaming_api": self._streaming_url(request)},
                "stats": {"user_count": len(self._accounts), "status_count": 0, "domain_count": 1},
                "thumbnail": None,
                "languages": ["en"],
                "registrations": False,
                "approval_required": False,
                "invites_enabled": False,
                "configuration": {"statuses": {"max_characters": MAX_CHARS}},
                "contact_account": None,
                "rules": [],
            }
        )

    async def _instance_v2(self, request: Request) -> Response:
        if denied := self._gate(request, auth=False):
            return denied
        public = {"local": "public", "remote": "public"}
        return self._json(
            {
                "domain": self.domain,
                "title": "Mastodon stand-in",
                "version": self.version,
                "source_url": "https://github.com/mastodon/mastodon",
                "description": "A local stand-in for a Mastodon server (not a real network).",
                "usage": {"users": {"active_month": len(self._accounts)}},
                "thumbnail": {"url": f"https://{self.domain}/thumbnail.png"},
                "languages": ["en"],
                "configuration": {
                    "urls": {"streaming": self._streaming_url(request)},
                    "statuses": {"max_characters": MAX_CHARS, "max_media_attachments": 4},
                    "timelines_access": {
                        "live_feeds": public,
                        "hashtag_feeds": public,
                        "trending_link_feeds": public,
                    },
                },
                "registrations": {"enabled": False, "approval_required": False, "message": None},
                "api_versions": {"mastodon": 2},
                "contact": {"email": f"admin@{self.domain}", "account": None},
                "rules": [],
            }
        )

    async def _verify_credentials(self, request: Request) -> Response:
        if denied := self._gate(request):
            return denied
        with self._lock:
            me = dict(self.me)
            me["statuses_count"] = len(self.published)
        me["source"] = {"privacy": "public", "sensitive": False, "language": "en", "note": ""}
        return self._json(me)

    async def _notifications_list(self, request: Request) -> Response:
        if denied := self._gate(request):
            return denied
        query = request.query_params
        types = set(query.getlist("types[]"))
        excluded = set(query.getlist("exclude_types[]"))
        with self._lock:
            items = [
                n
                for n in self._notifications
                if (not types or n["type"] in types) and n["type"] not in excluded
            ]
        return self._page(request, items, 40, 80)

    async def _tag_timeline(self, request: Request) -> Response:
        if denied := self._gate(request):
            return denied
        tag = request.path_params["hashtag"].lower()
        with self._lock:
            items = [
                s
                for s in self._statuses.values()
                if s.get("visibility") == "public"
                and any(t.get("name") == tag for t in s.get("tags") or [])
            ]
        return self._page(request, items, 20, 40)

    async def _search(self, request: Request) -> Response:
        if denied := self._gate(request):
            return denied
        query = request.query_params
        q = query.get("q", "").strip().lower()
        result: dict[str, Any] = {"accounts": [], "statuses": [], "hashtags": []}
        if q and query.get("type") in (None, "statuses"):
            from townhall.connectors.html_text import html_to_text

            with self._lock:
                hits = [
                    s
                    for s in self._statuses.values()
                    if s.get("visibility") == "public"
                    and s.get("reblog") is None
                    and q in html_to_text(str(s.get("content") or "")).lower()
                ]
            page = self._page(request, hits, 20, 40)
            result["statuses"] = json.loads(bytes(page.body))
        return self._json(result)

    async def _get_status(self, request: Request) -> Response:
        if denied := self._gate(request):
            return denied
        with self._lock:
            found = self._statuses.get(request.path_params["id"])
        if found is None:
            return self._json({"error": "Record not found"}, 404)
        return self._json(found)

    async def _account_statuses(self, request: Request) -> Response:
        if denied := self._gate(request):
            return denied
        query = request.query_params
        no_reblogs = query.get("exclude_reblogs") in ("1", "true", "True")
        no_replies = query.get("exclude_replies") in ("1", "true", "True")
        with self._lock:
            if request.path_params["id"] not in self._accounts:
                return self._json({"error": "Record not found"}, 404)
            items = [
                s
                for s in self._statuses.values()
                if s["account"]["id"] == request.path_params["id"]
                and not (no_reblogs and s.get("reblog"))
                and not (no_replies and s.get("in_reply_to_id"))
            ]
        return self._page(request, items, 20, 40)

    async def _create_status(self, request: Request) -> Response:
        if denied := self._gate(request):
            return denied
        if request.headers.get("content-type", "").startswith("application/json"):
            body: dict[str, Any] = await request.json()
        else:
            body = dict((await request.form()).items())
        text = str(body.get("status") or "")
        visibility = str(body.get("visibility") or "public")
        reply_to = str(body.get("in_reply_to_id") or "") or None
        key = request.headers.get("idempotency-key")
        if not text.strip():
            return self._json({"error": "Validation failed: Text can't be blank"}, 422)
        if len(text) > MAX_CHARS:
            return self._json(
                {"error": f"Validation failed: Text character limit of {MAX_CHARS} exceeded"}, 422
            )
        if visibility not in ("public", "unlisted", "private", "direct"):
            return self._json({"error": "Validation failed: Visibility is not included"}, 422)
        with self._lock:
            if key and key in self._idempotency:
                return self._json(self._statuses[self._idempotency[key]])
            if reply_to and reply_to not in self._statuses:
                return self._json({"error": "Record not found"}, 404)
            me = self.me
        created = self.add_status(
            f"@{me['username']}@{self.domain}", text, reply_to=reply_to, visibility=visibility
        )
        if self.web_url:
            with self._lock:
                created["url"] = f"{self.web_url}/@{me['username']}/{created['id']}"
        with self._lock:
            if key:
                self._idempotency[key] = created["id"]
            failure = self._fail_creates.pop(0) if self._fail_creates else None
            held = self._held
        if self.on_create is not None:
            self.on_create(dict(created))
        self._broadcast("update", created)
        if held is not None:
            await anyio.to_thread.run_sync(held.wait, 30.0)
        if failure is not None:
            return self._json({"error": "We're sorry, but something went wrong."}, failure)
        return self._json(created)

    async def _stream_health(self, request: Request) -> Response:
        return PlainTextResponse("OK")

    async def _stream_user(self, request: Request) -> Response:
        with self._lock:
            allowed = self._authorised(request)
        if not allowed:
            return JSONResponse({"error": "The access token is invalid"}, 401)
        stream = _Stream(asyncio.get_running_loop(), asyncio.Queue())
        with self._streams_changed:
            self._streams.append(stream)
            self._streams_changed.notify_all()
        return StreamingResponse(self._events(stream), media_type="text/event-stream")

    async def _events(self, stream: _Stream) -> AsyncIterator[str]:
        try:
            yield ":)\n"
            while True:
                try:
                    item = await asyncio.wait_for(stream.queue.get(), self.heartbeat_seconds)
                except TimeoutError:
                    yield ":thump\n"
                    continue
                if item is None:
                    return
                event, data = item
                yield f"event: {event}\ndata: {data}\n\n"
        finally:
            with self._streams_changed:
                if stream in self._streams:
                    self._streams.remove(stream)
                self._streams_changed.notify_all()

    async def _status_page(self, request: Request) -> Response:
        from townhall.connectors.html_text import html_to_text

        with self._lock:
            status = self._statuses.get(request.path_params["id"])
        if status is None:
            return HTMLResponse("<!doctype html><p>No such status on this stand-in.</p>", 404)
        who = status.get("account", {}).get("acct", "?")
        page = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Status {html.escape(str(status['id']))} (Mastodon stand-in)</title></head>"
            "<body><p><strong>Local stand-in for a Mastodon server</strong> (not a real "
            "network). <a href='/'>All statuses</a></p>"
            f"<article><p><b>@{html.escape(str(who))}</b> · "
            f"{html.escape(str(status.get('created_at')))} · "
            f"{html.escape(str(status.get('visibility')))}</p>"
            f"<p>{html.escape(html_to_text(str(status.get('content') or '')))}</p></article>"
            "</body></html>"
        )
        return HTMLResponse(page)

    async def _home(self, request: Request) -> Response:
        with self._lock:
            published = self.published[::-1]
            mentions = [n for n in self._notifications if n["type"] == "mention"][-20:][::-1]
        from townhall.connectors.html_text import html_to_text

        def row(s: dict[str, Any]) -> str:
            text = html_to_text(str(s.get("content") or ""))
            who = s.get("account", {}).get("acct", "?")
            return (
                f"<li><code>{html.escape(str(s.get('id')))}</code> "
                f"<b>@{html.escape(str(who))}</b> ({html.escape(str(s.get('visibility')))}): "
                f"{html.escape(text)}</li>"
            )

        own = "".join(row(s) for s in published) or "<li>nothing yet</li>"
        heard = (
            "".join(row(n["status"]) for n in mentions if n.get("status")) or "<li>none yet</li>"
        )
        page = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>Mastodon stand-in: {html.escape(self.domain)}</title></head><body>"
            "<p><strong>This is a local stand-in for a Mastodon server</strong>, "
            "run by Townhall for tests and the demo. It is not a real network: nothing here "
            "leaves this machine.</p>"
            f"<h1>@{html.escape(self.me['username'])}@{html.escape(self.domain)}</h1>"
            f"<h2>Published statuses</h2><ul>{own}</ul>"
            f"<h2>Recent mentions</h2><ul>{heard}</ul></body></html>"
        )
        return HTMLResponse(page)
