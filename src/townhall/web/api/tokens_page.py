"""``/account/tokens``: people create and revoke their own personal access tokens.

Cookie pages (login and CSRF as every form). A new token is shown once, on the answer to the
form that created it, and never again: only its hash is kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from townhall.errors import InputError, NotFoundError
from townhall.models import ApiToken, User
from townhall.org.permissions import Action
from townhall.web.access import actor_of
from townhall.web.api import tokens
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.params import IdNumber

router = APIRouter(prefix="/account/tokens")
csrf = [Depends(require_csrf)]

NOTICE_KEY = "tokens_notice"


def useful_scopes(request: Request, session: Session, user: User) -> list[Action]:
    """The actions the person's role grants somewhere: a token can add nothing else."""
    web = state(request)
    actor = actor_of(session, user, web.clock())
    permissions = web.policy.permissions
    found = []
    for action in Action:
        scope = permissions.departments_for(actor, action, web.policy.department_ids)
        if (
            not scope.nothing
            or permissions.can(actor, action)
            or (permissions.channels_on_shift_only(actor, action))
        ):
            found.append(action)
    return found


def _page(
    request: Request,
    session: Session,
    user: User,
    *,
    secret: str = "",
    error: str = "",
    status: int = 200,
    form: dict[str, Any] | None = None,
) -> Response:
    web = state(request)
    now = web.clock()
    context = {
        "user": user,
        "department_name": web.department_name,
        "tokens": [t for t, _ in tokens.tokens_of(session, user.id)],
        "status_of": lambda token: tokens.status_of(token, now),
        "scopes": useful_scopes(request, session, user),
        "secret": secret,
        "error": error,
        "notice": str(request.session.pop(NOTICE_KEY, "")),
        "form": form or {"name": "", "days": tokens.DEFAULT_DAYS, "scopes": ["view"]},
        "max_days": tokens.MAX_DAYS,
    }
    response = web.templates.TemplateResponse(request, "tokens.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("", response_class=HTMLResponse)
def tokens_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """My personal access tokens, and the form for a new one."""
    return _page(request, session, user)


@router.post("", response_class=HTMLResponse, dependencies=csrf)
def create(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    name: Annotated[str, Form(max_length=tokens.MAX_NAME + 100)],
    days: Annotated[int, Form(ge=1, le=tokens.MAX_DAYS)] = tokens.DEFAULT_DAYS,
    scope: Annotated[list[str] | None, Form(max_length=len(Action))] = None,
) -> Response:
    """Create a token: shown on this answer once, never again."""
    chosen = [s[:32] for s in scope or []]
    form = {"name": name, "days": days, "scopes": chosen}
    try:
        made = tokens.create_token(
            session,
            user,
            name=name,
            scopes=chosen,
            days=days,
            now=state(request).clock(),
            by=user.email,
        )
    except InputError as refused:
        session.rollback()
        return _page(request, session, user, error=refused.message, status=422, form=form)
    return _page(request, session, user, secret=made.secret)


@router.post("/{token_id}/revoke", dependencies=csrf)
def revoke(request: Request, token_id: IdNumber, session: DbSession, user: CurrentUser) -> Response:
    """Revoke one of my tokens: it stops working at once."""
    web = state(request)
    mine = session.get(ApiToken, token_id)
    if mine is None or mine.user_id != user.id:  # someone else's: not on this page
        raise NotFoundError(f"You have no token #{token_id}.")
    token = tokens.revoke_token(session, token_id, now=web.clock(), by=user, actor=user.email)
    request.session[NOTICE_KEY] = f"The token “{token.name}” is revoked."
    return RedirectResponse("/account/tokens", status_code=303)
