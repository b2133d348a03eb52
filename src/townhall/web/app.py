"""The web app: ``create_app`` wires settings, database, policy, middleware and routers."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from townhall.config import Settings
from townhall.db import session_factory
from townhall.errors import TownhallError
from townhall.org.source import PolicySource
from townhall.posts import now_utc
from townhall.publishing.publisher import OutboxPublisher
from townhall.web import (
    account,
    admin,
    agenda,
    api,
    audit_log,
    auth,
    calendar,
    campaigns,
    cards,
    channels,
    crisis,
    dead_letters,
    drafts,
    feeds,
    health,
    inbox,
    influencers,
    insights,
    items,
    objectives,
    plans,
    system,
    takeovers,
    teams,
    webhooks,
)
from townhall.web.context import WebState, state
from townhall.web.params import no_nul_characters
from townhall.web.security import HEADERS as SECURITY_HEADERS
from townhall.web.security import SecurityHeadersMiddleware, TrustedHostsMiddleware
from townhall.web.templating import STATIC_DIR, Templates
from townhall.web.worker import Deliverer, lifespan

log = logging.getLogger(__name__)

PATH_NOUNS = {
    "item_id": "an item number",
    "room_id": "a crisis room number",
    "reply_id": "a reply number",
    "outbox_id": "a draft number",
    "entry_id": "a question number",
    "user_id": "a person's number",
}
"""How an error names a bad id in the address (``/items/abc``)."""

SESSION_COOKIE = "townhall_session"
SESSION_MAX_AGE = 12 * 3600
"""Seconds a login lasts."""


def _wants_page(request: Request) -> bool:
    """Whether the client is a browser navigating (not htmx, an event stream or an API call)."""
    accept = request.headers.get("accept", "")
    if request.headers.get("HX-Request") == "true" or "text/event-stream" in accept:
        return False
    return not request.url.path.endswith("/stream") and "application/json" not in accept


def _way_back(request: Request) -> str | None:
    """The page the person came from, when it is one of ours and not this one."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not referer.path.startswith("/"):
        return None
    back = referer.path + (f"?{referer.query}" if referer.query else "")
    if back.startswith("//") or referer.path == request.url.path or len(back) > 500:
        return None
    return back


def _error_response(
    request: Request, status: int, message: str, *, request_id: str | None = None
) -> Response:
    path = request.url.path
    if (
        path in ("/healthz", "/readyz")
        or path.startswith("/api/")
        or ("application/json" in request.headers.get("accept", ""))
    ):
        body = {"detail": message} | ({"request_id": request_id} if request_id else {})
        return JSONResponse(body, status_code=status)
    name = "_error.html" if request.headers.get("HX-Request") == "true" else "error.html"
    context = {
        "status": status,
        "message": message,
        "request_id": request_id,
        "back": _way_back(request),
    }
    web = state(request)
    signed_in = "session" in request.scope and auth.SESSION_KEY in request.session
    if status >= 500 or not signed_in:
        return web.templates.TemplateResponse(request, name, context, status_code=status)
    # The logged-in person's navigation, so that the error is one of the app's pages.
    with web.read_sessions() as session:
        context["user"] = auth.session_user(request, session)
        context["department_name"] = web.department_name
        return web.templates.TemplateResponse(request, name, context, status_code=status)


def _shown(value: object, limit: int = 60) -> str:
    """A value someone typed, on one line and short enough to quote back."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _townhall_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TownhallError)
    if isinstance(exc, auth.LoginRequired) and _wants_page(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":  # a form sent after the session expired: start over
            target = "/inbox"
        return RedirectResponse(f"/login?{_next(target)}", status_code=303)
    response = _error_response(request, exc.status_code, exc.message)
    if isinstance(exc, auth.LoginRequired):
        response.headers["HX-Redirect"] = "/login"
    return response


def _next(target: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": target})


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where, *names = err["loc"] or ("request",)
        field = ".".join(str(n) for n in names) or "the request"
        problem = str(err["msg"]).removeprefix("Value error, ")
        if where == "path" and field.endswith("_id"):
            noun = PATH_NOUNS.get(field, field.removesuffix("_id").replace("_", " ") + " number")
            value = _shown(err.get("input", ""))
            problems.append(f"“{value}” in the address is not {noun} ({field}: {problem})")
        else:
            problems.append(f"{field}: {problem}")
    return _error_response(request, 422, "; ".join(problems) + ".")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and exc.detail == "Not Found":  # no route matched
        message = f"There is no page at {_shown(request.url.path)}."
    elif exc.status_code == 405:
        message = "This page cannot be used that way: follow a link or a button to it instead."
    else:
        message = str(exc.detail)
    response = _error_response(request, exc.status_code, message)
    response.headers.update(exc.headers or {})
    return response


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # The person gets a request id and no details; the log gets the id and the traceback, so
    # the two can be matched. This runs outside every middleware: security headers added here.
    request_id = secrets.token_hex(6)
    log.error(
        "Unexpected error (request id %s) on %s %s",
        request_id,
        request.method,
        _shown(request.url.path, 200),
        exc_info=exc,
    )
    message = "Something went wrong on our side. Please try again in a moment."
    try:
        response = _error_response(request, 500, message, request_id=request_id)
    except Exception:
        response = PlainTextResponse(f"{message} (request id {request_id})", status_code=500)
    response.headers.update(SECURITY_HEADERS)
    response.headers["X-Request-Id"] = request_id
    return response


def create_app(
    settings: Settings,
    engine: Engine,
    policy: PolicySource,
    *,
    clock: Callable[[], datetime] = now_utc,
) -> FastAPI:
    """The Townhall web app over ``engine`` for the organisation policy in ``policy``."""
    app = FastAPI(
        title="Townhall",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        dependencies=[Depends(no_nul_characters)],
    )
    app.state.web = WebState(
        settings=settings,
        source=policy,
        sessions=session_factory(engine),
        templates=Templates(),
        clock=clock,
        deliverer=Deliverer(),
    )
    if settings.listen:
        web: WebState = app.state.web
        web.publisher = OutboxPublisher(web.sessions, lambda: web.policy, settings, clock)
    app.add_exception_handler(TownhallError, _townhall_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(inbox.router)
    app.include_router(items.router)
    app.include_router(teams.router)
    app.include_router(admin.router)
    app.include_router(crisis.router)
    app.include_router(channels.router)
    app.include_router(drafts.router)
    app.include_router(takeovers.router)
    app.include_router(feeds.router)
    app.include_router(calendar.router)
    app.include_router(campaigns.router)
    app.include_router(plans.router)
    app.include_router(insights.router)
    app.include_router(cards.router)
    app.include_router(influencers.router)
    app.include_router(agenda.router)
    app.include_router(objectives.router)
    app.include_router(audit_log.router)
    app.include_router(account.router)
    app.include_router(webhooks.router)
    app.include_router(dead_letters.router)
    app.include_router(system.router)
    app.include_router(api.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    # Added last runs first: headers on every answer, then the Host check, then sessions.
    app.add_middleware(TrustedHostsMiddleware, allowed_hosts=settings.trusted_hosts)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
