"""Bearer tokens on API requests, and the API's side of the permission model.

``api_permit`` reads ``Authorization: Bearer <token>`` and gives an ``ApiPermit``: the person's
``Permit`` narrowed to the token's scopes. Every API route declares what it needs with
``api_allow(action, scope_of)``, the API's twin of ``townhall.web.access.allow``;
``tests/api/test_routes.py`` checks that none is missing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from townhall.db import is_locked, transaction
from townhall.errors import DatabaseBusyError, PermissionDeniedError, TownhallError
from townhall.models import ApiToken
from townhall.org.permissions import Action, DepartmentScope, Scope
from townhall.web.access import Permit, ScopeOf, actor_of
from townhall.web.api import tokens
from townhall.web.auth import DbSession
from townhall.web.context import READ_METHODS, state

log = logging.getLogger(__name__)

bearer = HTTPBearer(auto_error=False, description="A personal access token (thp_…).")

ACTIONS = frozenset(action.value for action in Action)

RATE_LIMIT = 600
"""Requests one token may make per ``RATE_WINDOW`` seconds."""
RATE_WINDOW = 60.0


class TokenRequired(TownhallError):
    """No token, or one that is unknown, expired or revoked (401, ``WWW-Authenticate``)."""

    status_code = 401


class RateLimited(TownhallError):
    """The token made too many requests lately (429, ``Retry-After``)."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class RateLimiter:
    """A sliding window of request times per token, in memory (one per app process)."""

    limit: int = RATE_LIMIT
    window: float = RATE_WINDOW
    clock: Any = time.monotonic
    _seen: dict[int, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, token_id: int) -> int:
        """Count one request; 0 when allowed, else the seconds to wait."""
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault(token_id, deque())
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            if len(seen) >= self.limit:
                return max(1, int(seen[0] + self.window - now) + 1)
            seen.append(now)
            return 0


def limiter_of(request: Request) -> RateLimiter:
    """The app's API rate limiter (made on first use; tests may set ``app.state.api_limiter``)."""
    found = getattr(request.app.state, "api_limiter", None)
    if not isinstance(found, RateLimiter):
        found = RateLimiter()
        request.app.state.api_limiter = found
    return found


@dataclass
class ApiPermit(Permit):
    """A ``Permit`` through a token: the person's permission AND the token's scopes."""

    token: ApiToken | None = None
    scopes: frozenset[Action] = frozenset()

    def can(self, action: Action, scope: Scope | None = None) -> bool:
        """Whether the token has ``action`` in its scopes and the person may do it."""
        return action in self.scopes and super().can(action, scope)

    def require(self, action: Action, scope: Scope | None = None, what: str = "") -> None:
        """Raise ``PermissionDeniedError`` unless the token and the person may do ``action``."""
        self.require_scope(action)
        super().require(action, scope, what)

    def require_scope(self, action: Action) -> None:
        """Raise unless ``action`` is one of the token's scopes (whatever the person may do)."""
        if action not in self.scopes:
            raise PermissionDeniedError(
                f"This token may not {action.doing}: its scopes are "
                f"{', '.join(sorted(self.scopes)) or 'none'}. Create a token with the scope "
                f"{action.value!r} for that."
            )

    def departments(self, action: Action = Action.VIEW) -> DepartmentScope:
        """The departments whose things the token may do ``action`` on."""
        if action not in self.scopes:
            return DepartmentScope(frozenset())
        return super().departments(action)


def _touch(request: Request, session: Session, token: ApiToken) -> None:
    now = state(request).clock()
    if not tokens.needs_touch(token, now):
        return
    if request.method not in READ_METHODS:
        token.last_used_at = now
        return
    # A read has a read-only session: a short write of its own, best effort.
    try:
        with transaction(state(request).sessions) as writer:
            row = writer.get(ApiToken, token.id)
            if row is not None:
                row.last_used_at = now
    except DatabaseBusyError:
        log.info("token %s: last_used_at not refreshed (database busy)", token.id)
    except OperationalError as exc:
        if not is_locked(exc):
            raise
        log.info("token %s: last_used_at not refreshed (database locked)", token.id)


def api_permit(
    request: Request,
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiPermit:
    """The request's token and person (a dependency); ``TokenRequired`` without a live one,
    ``RateLimited`` past ``RATE_LIMIT`` requests a minute."""
    # The request's session, for ``ApiRoute`` to roll back when the handler fails: it answers
    # the failure itself, so the session's dependency never sees the exception.
    request.state.api_session = session
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise TokenRequired("Send a personal access token: Authorization: Bearer thp_…")
    web = state(request)
    found = tokens.find_token(session, credentials.credentials.strip(), web.clock())
    if found is None:
        raise TokenRequired("The token is unknown, expired or revoked (or its person left).")
    token, user = found
    wait = limiter_of(request).take(token.id)
    if wait:
        raise RateLimited(
            f"Too many requests with this token: at most {limiter_of(request).limit} a "
            f"minute. Try again in {wait} s.",
            wait,
        )
    _touch(request, session, token)
    person = ApiPermit(
        web.policy,
        user,
        actor_of(session, user, web.clock()),
        token=token,
        scopes=frozenset(Action(s) for s in token.scopes if s in ACTIONS),
    )
    request.state.api_permit = person
    return person


ApiPermitDep = Annotated[ApiPermit, Depends(api_permit)]


def api_allow(
    action: Action, scope_of: ScopeOf | None = None, *, what: str = "", in_handler: bool = False
) -> Any:
    """A route dependency: the token and its person may do ``action`` (on what ``scope_of``
    reads from the request), else 403. With ``in_handler`` the route checks only the token's
    scope and its handler checks the person against the exact thing (read from the body)."""

    def no_scope() -> None:
        return None

    # The scope's dependency is a default, not in ``Annotated``: with postponed annotations
    # FastAPI could not see ``scope_of``, a local name.
    def dependency(
        person: ApiPermitDep,
        scope: Scope | None = Depends(scope_of or no_scope),  # noqa: B008
    ) -> None:
        if in_handler:
            person.require_scope(action)
        else:
            person.require(action, scope, what)

    dependency.action = action  # type: ignore[attr-defined]
    return Depends(dependency)
