"""Security headers on every response, and the trusted-hosts check.

Every response gets a strict CSP and friends (``HEADERS``); every response outside
``/static`` gets ``Cache-Control: no-store`` (pages of logged-in people must never land in a
shared or browser cache); a response to a request that came over HTTPS gets HSTS. A request
whose Host header is not one of ``TOWNHALL_TRUSTED_HOSTS`` is answered 400.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Headers of every response the app makes (the 500 page adds them itself: it is answered
outside the middleware); files under ``STATIC_PREFIX`` get all but ``Cache-Control``."""

STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"
"""HSTS for one year, subdomains included; sent only on responses to HTTPS requests."""

STATIC_PREFIX = "/static/"
"""Files served as they are (CSS, JS, images): cacheable by anyone."""

OWN_CACHE_PREFIXES = ("/feeds/",)
"""Responses that say their own ``Cache-Control`` (calendar feeds: ``private``, polled by
calendar apps); they get ``no-store`` only when they say nothing."""

UNTRUSTED_HOST_MESSAGE = (
    "Bad request: this server does not answer to the host name in the request's Host header. "
    "If you run this server, add the name to TOWNHALL_TRUSTED_HOSTS (comma-separated, "
    "*.example.com for subdomains)."
)


class SecurityHeadersMiddleware:
    """Add ``HEADERS``, ``Cache-Control: no-store`` outside ``/static`` and HSTS over HTTPS to
    every HTTP response (pure ASGI, so streams pass through)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        dynamic = not path.startswith(STATIC_PREFIX)
        own_cache = path.startswith(OWN_CACHE_PREFIXES)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name == "Cache-Control":
                        if own_cache:
                            headers.setdefault(name, value)
                        elif dynamic:  # whatever a route said: only static files are cacheable
                            headers[name] = value
                    else:
                        headers.setdefault(name, value)
                if https:
                    headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TrustedHostsMiddleware:
    """Starlette's ``TrustedHostMiddleware`` over ``allowed_hosts``, answering an untrusted
    Host header with a 400 that says what to do instead of a bare "Invalid host header"."""

    _PASSED = "townhall.trusted_host"

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.check = TrustedHostMiddleware(self._passed, allowed_hosts, www_redirect=False)

    async def _passed(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[self._PASSED] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # refused by Starlette's own answer
            await self.check(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_unless_refused(message: Message) -> None:
            # Before the check lets the request through, messages are its own refusal:
            # dropped here and replaced below.
            if scope.get(self._PASSED):
                await send(message)

        await self.check(scope, receive, send_unless_refused)
        if not scope.get(self._PASSED):
            refusal = PlainTextResponse(UNTRUSTED_HOST_MESSAGE, status_code=400)
            await refusal(scope, receive, send)
