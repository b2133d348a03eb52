"""A person's own account: change the password, see and end their sessions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from townhall.errors import NotFoundError
from townhall.models import LoginSession, SessionEnd, User
from townhall.org import sessions as login_sessions
from townhall.org.accounts import set_password, verify_password
from townhall.org.passwords import MAX_LENGTH, MIN_LENGTH, password_problems
from townhall.org.throttle import locked_until, register_failure
from townhall.web.auth import CurrentUser, DbSession, audit_lock, client_address
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.params import IdNumber

NOTICE_KEY = "account_notice"
"""Session key of the one-time message shown after a change."""

router = APIRouter(prefix="/account")
csrf = [Depends(require_csrf)]

Password = Annotated[str, Form(max_length=MAX_LENGTH)]


def _page(
    request: Request,
    session: Session,
    user: User,
    *,
    errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    web = state(request)
    now = web.clock()
    context: dict[str, Any] = {
        "user": user,
        "department_name": web.department_name,
        "sessions": login_sessions.live_sessions(session, user.id, now),
        "this_session": getattr(request.state, "login_session_id", None),
        "expires_at": login_sessions.expires_at,
        "errors": errors or [],
        "notice": str(request.session.pop(NOTICE_KEY, "")),
        "min_length": MIN_LENGTH,
        "idle_hours": login_sessions.IDLE_TIMEOUT.total_seconds() / 3600,
        "absolute_hours": login_sessions.ABSOLUTE_TIMEOUT.total_seconds() / 3600,
    }
    return web.templates.TemplateResponse(request, "account.html", context, status_code=status)


def _done(request: Request, notice: str) -> Response:
    request.session[NOTICE_KEY] = notice
    return RedirectResponse("/account", status_code=303)


@router.get("", response_class=HTMLResponse)
def account_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """My account: change my password, see where I am logged in and end those sessions."""
    return _page(request, session, user)


@router.post("/password", dependencies=csrf)
def change_password(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    current: Password,
    new: Password,
    again: Password,
) -> Response:
    """Change my password (the current one first); every other session of mine ends.

    A wrong current password counts as a failed login, so a borrowed session cannot be used
    to guess it.
    """
    web = state(request)
    now = web.clock()
    address = client_address(request)
    if locked_until(session, user.email, address, now) is not None:
        message = "Too many wrong passwords: wait a few minutes, then try again."
        return _page(request, session, user, errors=[message], status=429)
    if not verify_password(user.password_hash, current):
        agent = request.headers.get("user-agent", "")[: login_sessions.USER_AGENT_CHARS]
        seen = {"address": address, "user_agent": agent}
        for lock in register_failure(session, user.email, address, now):
            audit_lock(session, now, lock, seen)
        message = "Your current password is not right: type it again."
        return _page(request, session, user, errors=[message], status=422)
    if new != again:
        message = "The two new passwords differ: type the same one twice."
        return _page(request, session, user, errors=[message], status=422)
    if new == current:
        message = "The new password is your current one: choose a different one."
        return _page(request, session, user, errors=[message], status=422)
    problems = password_problems(new, email=user.email, name=user.name)
    if problems:
        return _page(request, session, user, errors=problems, status=422)
    ended = set_password(
        session,
        user,
        new,
        now=now,
        actor=user.email,
        why=SessionEnd.PASSWORD_CHANGED,
        keep=getattr(request.state, "login_session_id", None),
    )
    return _done(request, f"Your password is changed. {_ended(ended)}")


def _ended(count: int) -> str:
    if count == 0:
        return "You were logged in nowhere else."
    return f"{count} other session{'s' * (count != 1)} ended."


@router.post("/sessions/others/end", dependencies=csrf)
def end_other_sessions(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """End every session of mine but this one."""
    ended = login_sessions.end_sessions(
        session,
        user.id,
        now=state(request).clock(),
        why=SessionEnd.ENDED_BY_USER,
        actor=user.email,
        keep=getattr(request.state, "login_session_id", None),
    )
    return _done(request, _ended(ended))


@router.post("/sessions/{session_id}/end", dependencies=csrf)
def end_one_session(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    session_id: IdNumber,
) -> Response:
    """End one of my sessions (ending this one logs me out)."""
    row = session.get(LoginSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFoundError(f"You have no session number {session_id}.")
    now = state(request).clock()
    if row.ended_at is None:
        login_sessions.end_session(
            session, row, now=now, why=SessionEnd.ENDED_BY_USER, actor=user.email
        )
    if row.id == getattr(request.state, "login_session_id", None):
        request.session.clear()
        return RedirectResponse("/login", status_code=303)
    return _done(request, "That session is ended: its browser has to log in again.")
