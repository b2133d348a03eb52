"""Login, logout and the ``current_user`` dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from townhall.errors import TownhallError
from townhall.models import User
from townhall.org.accounts import authenticate
from townhall.web.context import db_session, state
from townhall.web.csrf import require_csrf, rotate_csrf_token

USER_KEY = "uid"

MAX_NEXT = 2000
"""Longest page address a login may return to (characters)."""

DbSession = Annotated[Session, Depends(db_session, scope="function")]


class LoginRequired(TownhallError):
    """The request needs a logged-in user (401; pages redirect to the login form)."""

    status_code = 401


def current_user(request: Request, session: DbSession) -> User:
    """The logged-in, active user; raises ``LoginRequired``."""
    user_id = request.session.get(USER_KEY)
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active:
        if user_id is not None:
            request.session.clear()
        raise LoginRequired("Please log in to continue.")
    return user


CurrentUser = Annotated[User, Depends(current_user)]

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only local paths: "//evil.example" and "/\evil" would leave the site.
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/inbox"


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, next: Annotated[str | None, Query(max_length=MAX_NEXT)] = None
) -> Response:
    """The login page."""
    if isinstance(request.session.get(USER_KEY), int):
        return RedirectResponse(_safe_next(next), status_code=303)
    return state(request).templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "email": ""}
    )


@router.post("/login", dependencies=[Depends(require_csrf)])
def login(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=MAX_NEXT)] = "/inbox",
) -> Response:
    """Check the e-mail and password; start a fresh session on success."""
    user = authenticate(session, email, password)
    if user is None:
        return state(request).templates.TemplateResponse(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "E-mail or password is wrong.", "email": email},
            status_code=401,
        )
    request.session.clear()  # a new session on login: no fixation
    request.session[USER_KEY] = user.id
    rotate_csrf_token(request)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request) -> Response:
    """End the session."""
    request.session.clear()
    rotate_csrf_token(request)
    return RedirectResponse("/login", status_code=303)
