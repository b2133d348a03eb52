"""Teams and SLAs: each department's queue and breaches, each person's load and availability,
and "I'm out of office"."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from townhall.cases import repository, service
from townhall.errors import InputError
from townhall.routing.assignment import candidates_for, unavailable_because
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf

BREACH_WINDOW = timedelta(days=7)
"""How far back the breach counts on the teams page look."""

router = APIRouter(prefix="/teams")
csrf = [Depends(require_csrf)]


@router.get("", response_class=HTMLResponse)
def teams_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Every department: open, unassigned and late items, breaches this week, its people."""
    web = state(request)
    now = web.clock()
    policy = web.policy
    logins = repository.logins(session)
    load = repository.open_items_per_assignee(session)
    queues = repository.queue_counts(session)
    breaches = repository.breach_counts(session, now - BREACH_WINDOW)
    departments = []
    for dept_id, name in web.departments():
        candidates = sorted(candidates_for(policy, dept_id, logins, load), key=lambda c: c.name)
        people = [(c, unavailable_because(c, now)) for c in candidates]
        departments.append(
            {
                "id": dept_id,
                "name": name,
                "queue": queues.get(dept_id, {"open": 0, "unassigned": 0, "breached": 0}),
                "breaches": breaches.get(dept_id, {}),
                "people": people,
                "hours": policy.department(dept_id).working_hours or "all day",
            }
        )
    me = next((login for login in logins if login.user_id == user.id), None)
    context = {
        "user": user,
        "departments": departments,
        "department_name": web.department_name,
        "me": me,
        "timezone": state(request).policy.department_timezone(user.department),
        "window_days": BREACH_WINDOW.days,
    }
    return web.templates.TemplateResponse(request, "teams.html", context)


@router.post("/away", dependencies=csrf)
def away(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    until: Annotated[str, Form(max_length=32)],
) -> Response:
    """Mark myself out of office until a local date and time (my department's time zone)."""
    try:
        local = datetime.fromisoformat(until)
    except ValueError:
        raise InputError(f"Not a date and time: {until!r} (expected YYYY-MM-DDTHH:MM).") from None
    if local.tzinfo is None:
        local = local.replace(
            tzinfo=zoneinfo.ZoneInfo(state(request).policy.department_timezone(user.department))
        )
    service.set_out_of_office(session, user.id, local, actor=user, now=state(request).clock())
    return RedirectResponse("/teams", status_code=303)


@router.post("/back", dependencies=csrf)
def back(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """I am back: automatic assignment may give me items again."""
    service.set_out_of_office(session, user.id, None, actor=user, now=state(request).clock())
    return RedirectResponse("/teams", status_code=303)
