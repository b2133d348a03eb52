"""Personal access tokens: create (shown once), list, revoke, and recognise them on a request.

A token is ``thp_`` and 32 random bytes (URL-safe base64). Only its SHA-256 is stored, with its
first 8 characters (``prefix``) so that lists can tell tokens apart. A token acts as its person
and never for more: the API allows an action when the person's role allows it *and* the action
is one of the token's ``scopes``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.errors import InputError, NotFoundError, PermissionDeniedError
from townhall.models import ApiToken, Role, User
from townhall.org.permissions import Action

PREFIX = "thp_"
"""Every token starts with this, so that secret scanners and people recognise one."""

PREFIX_CHARS = 8
"""Characters of a token kept in clear (``thp_`` and four more)."""

DEFAULT_DAYS = 90
MAX_DAYS = 366
"""Longest life of a token, in days (a year, leap years included)."""

MAX_NAME = 100
MAX_TOKEN_CHARS = 200
"""Longest Authorization value looked at (a real token has 47 characters)."""

TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token."""


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``secret`` is the token itself, shown this once."""

    row: ApiToken
    secret: str


def digest(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def scopes_of(values: Iterable[str]) -> list[str]:
    """``values`` as a sorted list of distinct actions; ``InputError`` names a wrong one."""
    found: set[str] = set()
    for value in values:
        try:
            found.add(Action(value.strip()).value)
        except ValueError:
            names = ", ".join(action.value for action in Action)
            raise InputError(f"scopes: {value!r} is not an action; use {names}.") from None
    if not found:
        raise InputError("scopes: give a token at least one scope (for example view).")
    return sorted(found)


def create_token(
    session: Session,
    user: User,
    *,
    name: str,
    scopes: Sequence[str],
    days: int,
    now: datetime,
    by: str,
) -> NewToken:
    """A new token for ``user`` living ``days`` days (1 to ``MAX_DAYS``); audited."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise InputError(f"name: give the token a name of 1 to {MAX_NAME} characters.")
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"days: a token lives 1 to {MAX_DAYS} days.")
    if not user.active:
        raise InputError(f"{user.email} is deactivated: it cannot have tokens.")
    granted = scopes_of(scopes)
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:PREFIX_CHARS],
        token_hash=digest(secret),
        scopes=granted,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    record(
        session,
        at=now,
        actor=by,
        action="api_token.created",
        subject_type="api_token",
        subject_id=row.id,
        why=f"token {name!r} for {user.email}, {days} days, scopes {', '.join(granted)}",
        details={"user": user.email, "scopes": granted, "expires_at": row.expires_at.isoformat()},
    )
    return NewToken(row, secret)


def tokens_of(session: Session, user_id: int | None = None) -> list[tuple[ApiToken, User]]:
    """Tokens (newest first) with their people: one person's, or everyone's."""
    query = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    rows = session.execute(query.order_by(ApiToken.id.desc()))
    return [(token, user) for token, user in rows]


def revoke_token(
    session: Session, token_id: int, *, now: datetime, by: User | None, actor: str
) -> ApiToken:
    """Revoke a token at once (``by``: the person asking; None: an operator at the CLI, who
    may revoke anyone's). A person revokes their own tokens; an admin anyone's. Audited."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"There is no token #{token_id}.")
    if by is not None and token.user_id != by.id and by.role != Role.ADMIN:
        raise PermissionDeniedError("You may revoke only your own tokens.")
    if token.revoked_at is None:
        token.revoked_at = now
        record(
            session,
            at=now,
            actor=actor,
            action="api_token.revoked",
            subject_type="api_token",
            subject_id=token.id,
            why=f"token {token.name!r} ({token.prefix}…) revoked",
        )
    return token


def status_of(token: ApiToken, now: datetime) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


def find_token(session: Session, secret: str, now: datetime) -> tuple[ApiToken, User] | None:
    """The live token ``secret`` and its active person, or None (unknown, expired, revoked,
    or its person deactivated)."""
    if not secret.startswith(PREFIX) or len(secret) > MAX_TOKEN_CHARS:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or status_of(token, now) != "active":
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    return token, user


def needs_touch(token: ApiToken, now: datetime) -> bool:
    """Whether ``last_used_at`` is old enough to write again."""
    return token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY
