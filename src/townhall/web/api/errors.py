"""The API's answers when something is wrong: always JSON ``{"detail": ..., "errors": [...]}``.

``ApiRoute`` turns whatever an API handler raises into that shape, whatever the client's
``Accept`` header says: an expected condition (``TownhallError``) with its status, a request
that does not validate (422, one entry per field), an ``HTTPException`` with its status, and
anything unexpected as a 500 with a request id (the log has the traceback). It also answers a
replayed ``Idempotency-Key`` with the first answer (``townhall.web.api.idempotency``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from townhall.errors import ConductBlockedError, DatabaseBusyError, TownhallError

log = logging.getLogger(__name__)


class FieldProblem(BaseModel):
    """One thing wrong with a request: where (``field``; ``index`` in a batch) and what."""

    field: str
    message: str
    index: int | None = None


class ApiErrorBody(BaseModel):
    """Every error answer of the API."""

    detail: str
    errors: list[FieldProblem] = []


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ApiErrorBody} for status in (400, 401, 403, 404, 409, 422, 429)
}
"""Every error answer is an ``ApiErrorBody`` (documented on each operation)."""


class Replayed(Exception):
    """Raised by the idempotency check: send ``response`` (the first answer) again."""

    def __init__(self, response: Response) -> None:
        super().__init__("replayed")
        self.response = response


def error_response(
    status: int,
    detail: str,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The JSON error answer."""
    body = ApiErrorBody(detail=detail, errors=errors or [])
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _problems(exc: RequestValidationError) -> list[FieldProblem]:
    problems = []
    for err in exc.errors():
        where, *names = err.get("loc") or ("body",)
        index = next((n for n in names if isinstance(n, int)), None)
        field = ".".join(str(n) for n in names) or str(where)
        message = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
        problems.append(
            FieldProblem(field=f"{where}.{field}" if names else field, message=message, index=index)
        )
    return problems


def townhall_error(exc: TownhallError) -> JSONResponse:
    """The answer to an expected condition, with the headers it calls for."""
    from townhall.web.api.auth import RateLimited, TokenRequired
    from townhall.web.params import FieldError

    headers: dict[str, str] = {}
    errors: list[FieldProblem] = []
    if isinstance(exc, TokenRequired):
        headers["WWW-Authenticate"] = 'Bearer realm="townhall"'
    elif isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, DatabaseBusyError):
        headers.update(exc.headers)
    if isinstance(exc, ConductBlockedError):
        errors.extend(
            FieldProblem(
                field="text",
                message=f"{f.get('why')} (characters {f.get('start')}-{f.get('end')}): "
                f"{f.get('message')}",
            )
            for f in exc.findings
        )
    if isinstance(exc, FieldError):
        errors.append(
            FieldProblem(field=exc.field, message=exc.message.removeprefix(f"{exc.field}: "))
        )
    status = exc.status_code if 400 <= exc.status_code < 600 else 500
    return error_response(status, exc.message, errors, headers)


def _answer(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Replayed):
        return exc.response
    if isinstance(exc, TownhallError):
        return townhall_error(exc)
    if isinstance(exc, RequestValidationError):
        problems = _problems(exc)
        summary = "; ".join(f"{p.field}: {p.message}" for p in problems[:5])
        return error_response(422, f"The request is not valid: {summary}.", problems)
    if isinstance(exc, HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "The request failed."
        return error_response(exc.status_code, detail, headers=dict(exc.headers or {}))
    request_id = secrets.token_hex(6)
    log.error(
        "Unexpected API error (request id %s) on %s %s",
        request_id,
        request.method,
        request.url.path[:200],
        exc_info=exc,
    )
    return error_response(
        500,
        f"Something went wrong on our side (request id {request_id}). Please try again.",
        headers={"X-Request-Id": request_id},
    )


class ApiRoute(APIRoute):
    """An API route: every failure is answered as JSON (see the module)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, wrapped so that nothing it raises leaves as HTML."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                # Nothing of a failed request may be committed (the session's dependency
                # commits when the handler returns, and here it returns the error).
                session = getattr(request.state, "api_session", None)
                if isinstance(session, Session):
                    await run_in_threadpool(session.rollback)
                return _answer(request, exc)

        return route
