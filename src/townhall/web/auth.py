"""Login, logout and the ``current_user`` dependency.

The signed session cookie carries a random session id (``SESSION_KEY``) and nothing else that
says who is logged in; ``townhall.org.sessions`` checks it against the ``login_sessions`` table
on every request, so logout, a password change or reset and deactivation end a session at once.
Logins are throttled per e-mail and per client address (``townhall.org.throttle``).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.db import is_locked, transaction
from townhall.errors import DatabaseBusyError, TownhallError
from townhall.models import LoginSession, SessionEnd, User
from townhall.org import sessions as login_sessions
from townhall.org.accounts import authenticate, normalise_email
from townhall.org.passwords import MAX_LENGTH as MAX_PASSWORD
from townhall.org.throttle import (
    Lock,
    forget_account,
    locked_until,
    prune_attempts,
    register_failure,
)
from townhall.web.context import READ_METHODS, db_session, state
from townhall.web.csrf import require_csrf, rotate_csrf_token

log = logging.getLogger(__name__)

SESSION_KEY = "sid"
"""Key of the session id in the signed cookie."""

USER_KEY = "uid"
"""No longer written (the cookie holds only ``SESSION_KEY``); read by ``web/app.py`` until it
asks ``session_user`` instead."""

MAX_NEXT = 2000
"""Longest page address a login may return to (characters)."""

WRONG = "E-mail or password is wrong."
LOCKED = (
    "Too many failed logins for this e-mail address or from your network. For safety, logging "
    "in is paused: try again in {minutes} minute{s}. If you have forgotten your password, ask "
    "an administrator to reset it."
)
"""What a locked login answers, word for word the same whether the e-mail exists or not."""

DbSession = Annotated[Session, Depends(db_session, scope="function")]


class LoginRequired(TownhallError):
    """The request needs a logged-in user (401; pages redirect to the login form)."""

    status_code = 401


def client_address(request: Request) -> str:
    """The client's IP address as the server sees it ("unknown" when there is none)."""
    host = request.client.host if request.client else ""
    return (host or "unknown")[: login_sessions.ADDRESS_CHARS]


def session_user(request: Request, session: Session) -> User | None:
    """The active user of the request's live login session, or None (never writes)."""
    found = _live(request, session)
    return found[1] if found else None


def _live(request: Request, session: Session) -> tuple[LoginSession, User] | None:
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        return None
    row = login_sessions.live_session(session, token, state(request).clock())
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.active:
        return None
    return row, user


def current_user(request: Request, session: DbSession) -> User:
    """The logged-in, active user of a live session; raises ``LoginRequired``.

    Keeps the session's ``last_seen_at`` fresh (at most every ``TOUCH_EVERY``): in the
    request's own transaction when it writes, in a short one of its own when it only reads.
    """
    found = _live(request, session)
    if found is None:
        if SESSION_KEY in request.session or USER_KEY in request.session:
            request.session.clear()
        raise LoginRequired("Please log in to continue.")
    row, user = found
    request.state.login_session_id = row.id
    now = state(request).clock()
    if login_sessions.needs_touch(row, now):
        if request.method in READ_METHODS:
            _touch_aside(request, row.id, now)
        else:
            login_sessions.touch(session, row.id, now)
    return user


def _touch_aside(request: Request, session_id: int, now: datetime) -> None:
    # Best effort: a database too busy to take this small write must not fail the page.
    try:
        with transaction(state(request).sessions) as writer:
            login_sessions.touch(writer, session_id, now)
    except DatabaseBusyError:
        log.info("session %s: last_seen_at not refreshed (database busy)", session_id)
    except OperationalError as exc:
        if not is_locked(exc):
            raise
        log.info("session %s: last_seen_at not refreshed (database locked)", session_id)


CurrentUser = Annotated[User, Depends(current_user)]

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only local paths: "//evil.example" and "/\evil" would leave the site.
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/inbox"


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    session: DbSession,
    next: Annotated[str | None, Query(max_length=MAX_NEXT)] = None,
) -> Response:
    """The login page."""
    if session_user(request, session) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return state(request).templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "email": ""}
    )


def _refused(
    request: Request, email: str, next: str, message: str, status: int, retry_after: int = 0
) -> Response:
    response = state(request).templates.TemplateResponse(
        request,
        "login.html",
        {"next": _safe_next(next), "error": message, "email": email},
        status_code=status,
    )
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _locked_response(request: Request, email: str, next: str, until: datetime) -> Response:
    seconds = max(1, math.ceil((until - state(request).clock()).total_seconds()))
    minutes = math.ceil(seconds / 60)
    message = LOCKED.format(minutes=minutes, s="s" * (minutes != 1))
    return _refused(request, email, next, message, 429, retry_after=seconds)


@router.post("/login", dependencies=[Depends(require_csrf)])
def login(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=MAX_PASSWORD)],
    next: Annotated[str, Form(max_length=MAX_NEXT)] = "/inbox",
) -> Response:
    """Check the e-mail and password; start a fresh session on success.

    A locked e-mail or address is refused (429) even with the right password; the password is
    checked all the same, so a locked or unknown e-mail takes as long as any other.
    """
    web = state(request)
    now = web.clock()
    key = normalise_email(email)
    address = client_address(request)
    agent = request.headers.get("user-agent", "")[: login_sessions.USER_AGENT_CHARS]
    seen = {"address": address, "user_agent": agent}
    prune_attempts(session, now)
    lock = locked_until(session, key, address, now)
    user = authenticate(session, key, password)
    if lock is not None:
        _audit_failure(session, now, key, seen, "locked")
        return _locked_response(request, email, next, lock)
    if user is None:
        _audit_failure(session, now, key, seen, _why_refused(session, key))
        locks = register_failure(session, key, address, now)
        for started in locks:
            audit_lock(session, now, started, seen)
        if locks:
            return _locked_response(request, email, next, max(s.until for s in locks))
        return _refused(request, email, next, WRONG, 401)
    forget_account(session, key)
    login_sessions.prune_sessions(session, now)
    _end_previous(request, session, now)
    token, row = login_sessions.start_session(
        session, user, now=now, address=address, user_agent=agent
    )
    record(
        session,
        at=now,
        actor=user.email,
        action="login.succeeded",
        subject_type="user",
        subject_id=user.id,
        why=f"logged in from {address}",
        details={**seen, "session": row.id},
    )
    request.session.clear()  # a new session on login: no fixation
    request.session[SESSION_KEY] = token
    rotate_csrf_token(request)
    return RedirectResponse(_safe_next(next), status_code=303)


def _why_refused(session: Session, key: str) -> str:
    """For the audit log only; the person is told the same in every case."""
    active = session.scalar(select(User.active).where(User.email == key))
    if active is None:
        return "unknown e-mail"
    return "wrong password" if active else "login deactivated"


def _end_previous(request: Request, session: Session, now: datetime) -> None:
    """End the session this browser had before logging in again."""
    token = request.session.get(SESSION_KEY)
    row = login_sessions.find_session(session, token) if isinstance(token, str) else None
    if row is not None and row.ended_at is None:
        user = session.get(User, row.user_id)
        actor = user.email if user else "anonymous"
        login_sessions.end_session(session, row, now=now, why=SessionEnd.LOGOUT, actor=actor)


def _audit_failure(
    session: Session, now: datetime, key: str, seen: dict[str, str], reason: str
) -> None:
    # Never the password; the e-mail as typed (normalised), which may be anyone's or no one's.
    record(
        session,
        at=now,
        actor="anonymous",
        action="login.failed",
        subject_type="login",
        subject_id=key,
        why=f"login refused: {reason}",
        details={**seen, "reason": reason},
    )


def audit_lock(session: Session, now: datetime, lock: Lock, seen: dict[str, str]) -> None:
    """Record that ``lock`` started (``login.locked``)."""
    record(
        session,
        at=now,
        actor="system",
        action="login.locked",
        subject_type="login" if lock.scope == "account" else "address",
        subject_id=lock.key,
        why=f"too many failed logins: {lock.scope} locked until {lock.until:%Y-%m-%d %H:%M} UTC",
        details={
            **seen,
            "scope": str(lock.scope),
            "until": lock.until.isoformat(),
            "lockouts": lock.lockouts,
        },
    )


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request, session: DbSession) -> Response:
    """End the session, on the server as well as in the browser."""
    _end_previous(request, session, state(request).clock())
    request.session.clear()
    rotate_csrf_token(request)
    return RedirectResponse("/login", status_code=303)
