"""``GET /healthz`` (liveness, for anyone) and ``GET /readyz`` (readiness, for operators).

``/healthz`` says only that the process answers. ``/readyz`` checks the database and its
schema and counts posts and open items; it answers a logged-in admin, or a caller that sends
``Authorization: Bearer <TOWNHALL_OPERATOR_TOKEN>``. Anyone else gets a 401 (with
``WWW-Authenticate: Bearer``) and learns nothing about the database.
"""

from __future__ import annotations

import hmac
import logging

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


def _unavailable(problem: str) -> JSONResponse:
    return JSONResponse(
        {"status": "unavailable", "database": problem},
        status_code=503,
        headers={"Retry-After": "5"},
    )


@router.get("/readyz", response_model=None)
def readyz(request: Request) -> JSONResponse:
    """Database reachable, schema at the newest migration, and two counts (operators only).

    200 ``{"status": "ok", "database": "ok", "schema": {...}, "posts": n, "items": n}``;
    503 when the database does not answer or its schema is not the one this code expects;
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
    body = {
        "status": "ok" if current_schema else "schema not current: run `townhall db upgrade`",
        "database": "ok",
        "schema": {"current": current, "head": head, "up_to_date": current_schema},
        "posts": posts,
        "items": items,
    }
    return JSONResponse(body, status_code=200 if current_schema else 503)
