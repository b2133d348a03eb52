"""CSRF protection: one random token per session, checked on every state-changing request.

Forms send it in the hidden ``csrf_token`` field; htmx sends the ``X-CSRF-Token`` header that
``hx-headers`` on ``<body>`` sets. The login form is covered by a token in the pre-login session.
"""

from __future__ import annotations

import secrets

from fastapi import Request

from townhall.errors import PermissionDeniedError

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


class CsrfError(PermissionDeniedError):
    """The request lacks the session's CSRF token, or carries a wrong one (403)."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return token


def rotate_csrf_token(request: Request) -> str:
    """Replace the session's CSRF token (after login and logout)."""
    request.session.pop(SESSION_KEY, None)
    return csrf_token(request)


async def require_csrf(request: Request) -> None:
    """Dependency for POST routes: raise ``CsrfError`` unless the token matches the session's."""
    sent: object = request.headers.get(HEADER)
    if not sent:
        form = await request.form()
        sent = form.get(FORM_FIELD)
    expected = request.session.get(SESSION_KEY)
    if not isinstance(expected, str) or not expected:
        raise CsrfError(
            "Your session has no security token (it may have expired). "
            "Reload the page and try again."
        )
    if not isinstance(sent, str) or not sent:
        raise CsrfError("The request carries no security token (CSRF). Reload the page and retry.")
    if not secrets.compare_digest(sent.encode(), expected.encode()):
        raise CsrfError("The security token (CSRF) does not match. Reload the page and retry.")
