"""``GET /healthz`` (liveness, for anyone) and ``GET /readyz`` (readiness, for operators).

``/healthz`` says only that the process answers. ``/readyz`` checks the database and its
schema, the broker when ``TOWNHALL_BROKER_URL`` is set (PING, one second at most), and counts
posts and open items; it answers a logged-in admin, or a caller that sends
``Authorization: Bearer <TOWNHALL_OPERATOR_TOKEN>``. Anyone else gets a 401 (with
``WWW-Authenticate: Bearer``) and learns nothing about the database.
"""

from __future__ import annotations

import hmac
import logging

import redis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from townhall.cases import repository
from townhall.db import schema_head, schema_revision
from townhall.errors import TownhallError
from townhall.models import Role
from townhall.web.auth import SESSION_KEY, session_user
from townhall.web.context import state

log = logging.getLogger(__name__)

router = APIRouter()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """``{"status": "ok"}`` while the process answers; nothing else, since anyone may ask."""
    return {"status": "ok"}


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _is_operator(request: Request) -> bool:
    expected = state(request).settings.operator_token
    given = _bearer_token(request)
    if expected is None or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _unauthorised() -> JSONResponse:
    return JSONResponse(
        {
            "detail": "Readiness is for operators: log in as an admin, or send "
            "Authorization: Bearer <TOWNHALL_OPERATOR_TOKEN>."
        },
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="townhall"'},
    )


NO_BROKER = "none (one process)"
BROKER_TIMEOUT = 1.0
"""Seconds the broker has to answer PING before readiness says it does not answer."""


def broker_problem(url: str | None) -> str:
    """``ok``, ``none (one process)`` without a broker URL, or what is wrong with the broker."""
    if url is None:
        return NO_BROKER
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=BROKER_TIMEOUT, socket_connect_timeout=BROKER_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        log.warning("readiness check: the broker does not answer: %s", exc)
        return "does not answer (see the server log)"
    return "ok"


def _unavailable(problem: str) -> JSONResponse:
    return JSONResponse(
        {"status": "unavailable", "database": problem},
        status_code=503,
        headers={"Retry-After": "5"},
    )


@router.get("/readyz", response_model=None)
def readyz(request: Request) -> JSONResponse:
    """Database and broker reachable, schema at the newest migration, two counts (operators).

    200 ``{"status": "ok", "database": "ok", "broker": "ok", "schema": {...}, "posts": n,
    "items": n}`` (``"broker": "none (one process)"`` without a broker URL); 503 when the
    database or the broker does not answer or the schema is not the one this code expects;
    401 for a caller who is neither an admin nor holds the operator token.
    """
    operator = _is_operator(request)
    logged_in = "session" in request.scope and SESSION_KEY in request.session
    if not operator and not logged_in:
        return _unauthorised()  # without touching the database
    web = state(request)
    try:
        with web.read_sessions() as session:
            if not operator:
                user = session_user(request, session)
                if user is None or user.role != Role.ADMIN:
                    return _unauthorised()
            current, head = schema_revision(session), schema_head()
            current_schema = current == head
            # Counting needs the tables this code expects: only on the current schema.
            posts = repository.count_posts(session) if current_schema else None
            items = repository.count_open_items(session) if current_schema else None
    except (SQLAlchemyError, TownhallError) as exc:
        log.warning("readiness check: the database does not answer: %s", exc)
        return _unavailable("does not answer (see the server log)")
    broker = broker_problem(web.settings.broker_url)
    broker_ok = broker in ("ok", NO_BROKER)
    if not current_schema:
        status = "schema not current: run `townhall db upgrade`"
    else:
        status = "ok" if broker_ok else "unavailable: the broker does not answer"
    body = {
        "status": status,
        "database": "ok",
        "broker": broker,
        "schema": {"current": current, "head": head, "up_to_date": current_schema},
        "posts": posts,
        "items": items,
    }
    ready = current_schema and broker_ok
    return JSONResponse(
        body, status_code=200 if ready else 503, headers=None if ready else {"Retry-After": "5"}
    )
