"""Teams and SLAs: each department's queue and breaches, each person's load and availability,
and "I'm out of office"."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from townhall.cases import repository, service
from townhall.org.permissions import Action
from townhall.routing.assignment import candidates_for, unavailable_because
from townhall.web.access import allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.params import FieldError, parse_local_time

BREACH_WINDOW = timedelta(days=7)
"""How far back the breach counts on the teams page look."""

MAX_AWAY = timedelta(days=731)
"""Longest out of office one can set (two years; beyond that, deactivate the account)."""

router = APIRouter(prefix="/teams")
csrf = [Depends(require_csrf)]


@router.get("", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def teams_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Every department: open, unassigned and late items, breaches this week, its people."""
    web = state(request)
    now = web.clock()
    policy = web.policy
    logins = repository.logins(session)
    shown = web.departments()
    ids = [dept_id for dept_id, _ in shown]
    load = repository.open_items_per_assignee(session, ids)
    queues = repository.queue_counts(session, ids)
    breaches = repository.breach_counts(session, now - BREACH_WINDOW)
    departments = []
    for dept_id, name in shown:
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
        "role_title": policy.permissions.role_title,
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
    web = state(request)
    zone = zoneinfo.ZoneInfo(web.policy.department_timezone(user.department))
    now = web.clock()
    at = parse_local_time("until", until, zone)
    if at <= now:
        raise FieldError("until", "Out of office must end in the future.")
    if at - now > MAX_AWAY:
        raise FieldError("until", f"Out of office can last {MAX_AWAY.days} days at most.")
    service.set_out_of_office(session, user.id, at, actor=user, now=now)
    return RedirectResponse("/teams", status_code=303)


@router.post("/back", dependencies=csrf)
def back(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """I am back: automatic assignment may give me items again."""
    service.set_out_of_office(session, user.id, None, actor=user, now=state(request).clock())
    return RedirectResponse("/teams", status_code=303)
