"""Admins edit the organisation policy in the browser: validated exactly like
``townhall policy check``, recorded in the audit log, and in force at once (no restart)."""

from __future__ import annotations

import difflib
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from townhall.audit import record
from townhall.errors import PolicyError
from townhall.models import User
from townhall.org.loader import parse_policy
from townhall.org.permissions import Action
from townhall.org.source import text_digest
from townhall.web.access import allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf

MAX_POLICY_CHARS = 1_000_000
"""Largest policy text accepted from the editor."""

MAX_DIFF_CHARS = 20_000
"""Longest diff kept in the audit event (the rest is cut, and the cut is said)."""

router = APIRouter(prefix="/admin")
csrf = [Depends(require_csrf)]


def _page(
    request: Request, user: User, text: str, problems: list[str], status: int = 200
) -> Response:
    web = state(request)
    context = {
        "user": user,
        "department_name": web.department_name,
        "text": text,
        "problems": problems,
        "disk_problems": web.source.problems,
        "version": web.source.version,
        "digest": text_digest(web.source.text),
        "path": web.source.path,
        "saved": request.query_params.get("saved"),
    }
    return web.templates.TemplateResponse(request, "policy.html", context, status_code=status)


@router.get("/policy", response_class=HTMLResponse, dependencies=[allow(Action.POLICY)])
def policy_page(request: Request, user: CurrentUser) -> Response:
    """The policy in force, in an editor."""
    return _page(request, user, state(request).source.text, [])


@router.post("/policy", dependencies=[*csrf, allow(Action.POLICY)])
def save_policy(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    text: Annotated[str, Form(max_length=MAX_POLICY_CHARS)],
) -> Response:
    """Validate and apply a new policy; on problems, show them (with lines) and change nothing."""
    web = state(request)
    text = text.replace("\r\n", "\n")
    old = web.source.text
    if text == old:
        return RedirectResponse("/admin/policy", status_code=303)
    try:
        parse_policy(text, web.source.path.name)
    except PolicyError as exc:
        return _page(request, user, text, exc.problems, status=422)
    diff = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=f"{web.source.path.name} (v{web.source.version})",
            tofile=f"{web.source.path.name} (new)",
        )
    )
    if len(diff) > MAX_DIFF_CHARS:
        diff = diff[:MAX_DIFF_CHARS] + f"\n… {len(diff) - MAX_DIFF_CHARS:,} more characters\n"
    changed = sum(
        1 for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    )
    record(
        session,
        at=web.clock(),
        actor=user.email,
        action="policy.changed",
        subject_type="policy",
        subject_id=web.source.path.name,
        why=f"{user.name} changed the policy ({changed} lines); it applies from now on",
        details={"before": text_digest(old), "after": text_digest(text), "diff": diff},
    )
    session.flush()
    web.source.replace(text)
    return RedirectResponse(f"/admin/policy?saved={web.source.version}", status_code=303)
