"""The public REST API under ``/api/v1``: personal access tokens, the person's permissions.

``v1`` holds the API's routes (each an ``ApiRoute``: errors are always JSON); ``router``,
included by the app, adds the cookie pages where people manage their own tokens
(``/account/tokens``). See docs/api.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path

from townhall.org.permissions import Action
from townhall.web.api import audit, crises, drafts, items, posts, tokens_page
from townhall.web.api.auth import ApiPermitDep, api_allow
from townhall.web.api.errors import ERRORS, ApiRoute, error_response
from townhall.web.api.schemas import PersonOut, TokenOut

v1 = APIRouter(prefix="/api/v1", route_class=ApiRoute)


@v1.get(
    "/token",
    response_model=TokenOut,
    tags=["tokens"],
    responses=ERRORS,
    dependencies=[api_allow(Action.VIEW, in_handler=True)],
)
def this_token(person: ApiPermitDep) -> TokenOut:
    """The token the request came with and its person (to check a token works)."""
    token = person.token
    assert token is not None
    return TokenOut(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        scopes=list(token.scopes),
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        person=PersonOut.of(person.user),
    )


v1.include_router(items.router)
v1.include_router(posts.router)
v1.include_router(drafts.router)
v1.include_router(crises.router)
v1.include_router(audit.router)

_DOCUMENT: dict[str, Any] = {}


@v1.get("/openapi.json", include_in_schema=False)
def openapi_json() -> JSONResponse:
    """The API's OpenAPI document (no token needed: it describes, it tells nothing)."""
    if not _DOCUMENT:
        from townhall.web.api.openapi import document  # not at import: ``python -m`` runs it

        _DOCUMENT.update(document(v1.routes))
    return JSONResponse(_DOCUMENT)


CATCH_ALL = "/api/v1/{rest:path}"


@v1.api_route(
    "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    include_in_schema=False,
)
def no_such_endpoint(request: Request, rest: str) -> Response:
    """Anything else under /api/v1: a JSON 404 (or 405 when only the method is wrong)."""
    allowed: set[str] = set()
    for route in iter_route_contexts(v1.routes):
        if route.path in (None, CATCH_ALL) or not route.methods:
            continue
        if compile_path(route.path)[0].match(request.url.path):
            allowed |= set(route.methods)
    if allowed:
        return error_response(
            405,
            f"{request.method} is not allowed here; use {', '.join(sorted(allowed))}.",
            headers={"Allow": ", ".join(sorted(allowed))},
        )
    return error_response(404, f"There is no API endpoint at {request.url.path[:100]}.")


router = APIRouter()
router.include_router(v1)
router.include_router(tokens_page.router)
