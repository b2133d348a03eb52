"""The web app: ``create_app`` wires settings, database, policy, middleware and routers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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
    admin,
    auth,
    channels,
    crisis,
    drafts,
    health,
    inbox,
    items,
    takeovers,
    teams,
)
from townhall.web.context import WebState, state
from townhall.web.params import no_nul_characters
from townhall.web.security import HEADERS as SECURITY_HEADERS
from townhall.web.security import SecurityHeadersMiddleware
from townhall.web.templating import STATIC_DIR, Templates
from townhall.web.worker import Deliverer, lifespan

SESSION_COOKIE = "townhall_session"
SESSION_MAX_AGE = 12 * 3600
"""Seconds a login lasts."""


def _wants_page(request: Request) -> bool:
    """Whether the client is a browser navigating (not htmx, an event stream or an API call)."""
    accept = request.headers.get("accept", "")
    if request.headers.get("HX-Request") == "true" or "text/event-stream" in accept:
        return False
    return not request.url.path.endswith("/stream") and "application/json" not in accept


def _error_response(request: Request, status: int, message: str) -> Response:
    if request.url.path == "/healthz" or "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"detail": message}, status_code=status)
    name = "_error.html" if request.headers.get("HX-Request") == "true" else "error.html"
    return state(request).templates.TemplateResponse(
        request, name, {"status": status, "message": message}, status_code=status
    )


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
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc'][1:]) or 'request'}: {err['msg']}"
        for err in exc.errors()
    )
    return _error_response(request, 422, f"The request could not be accepted ({problems}).")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    response = _error_response(request, exc.status_code, str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the server's log (Starlette re-raises); the person gets no details.
    # This runs outside every middleware, so the security headers are added here.
    message = "Something went wrong on our side. Please try again in a moment."
    try:
        response = _error_response(request, 500, message)
    except Exception:
        response = PlainTextResponse(message, status_code=500)
    response.headers.update(SECURITY_HEADERS)
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
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    return app
