"""The Takeovers page: who runs which account now, the rota ahead and behind, and (for admins
and the departments leading the social calendar) adding and cancelling shifts.

Times are typed and shown in the policy's time zone.
"""

from __future__ import annotations

import zoneinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from townhall.models import OutboxPost, Takeover, User
from townhall.org.permissions import Action
from townhall.org.policy import Policy
from townhall.publishing import drafts, takeovers
from townhall.web.access import allow, the_calendar
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.params import FieldError, IdNumber, parse_local_time

router = APIRouter(prefix="/takeovers")
csrf = [Depends(require_csrf)]


def _row(
    policy: Policy, takeover: Takeover, posts: dict[int, OutboxPost], now_state: str
) -> dict[str, Any]:
    announcement = posts.get(takeover.announcement_id) if takeover.announcement_id else None
    sign_off = posts.get(takeover.sign_off_id) if takeover.sign_off_id else None
    return {
        "shift": takeover,
        "when": takeovers.shift_span(policy, takeover.starts_at, takeover.ends_at),
        "state": now_state,
        "announcement": announcement,
        "sign_off": sign_off,
    }


def _state(takeover: Takeover, now: Any) -> str:
    if takeover.cancelled_at is not None:
        return "cancelled"
    if takeover.ends_at <= now:
        return "ended"
    return "on now" if takeover.starts_at <= now else "upcoming"


@router.get("", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def takeovers_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Who is on which account now, the shifts to come and the last ones."""
    web = state(request)
    policy, now = web.policy, web.clock()
    groups = {
        "now": takeovers.current(session, now),
        "upcoming": takeovers.upcoming(session, now),
        "past": takeovers.past(session, now),
    }
    ids = {
        i
        for rows in groups.values()
        for t in rows
        for i in (t.announcement_id, t.sign_off_id)
        if i is not None
    }
    posts = (
        {p.id: p for p in session.scalars(select(OutboxPost).where(OutboxPost.id.in_(ids)))}
        if ids
        else {}
    )
    editor = takeovers.may_edit(policy, user)
    people: list[User] = []
    if editor:
        people = list(
            session.scalars(select(User).where(User.active.is_(True)).order_by(User.name))
        )
    context = {
        "user": user,
        "department_name": web.department_name,
        "rows": {
            name: [_row(policy, t, posts, _state(t, now)) for t in rows]
            for name, rows in groups.items()
        },
        "editor": editor,
        "people": people,
        "channels": policy.channels,
        "timezone": policy.timezone,
        "now_local": takeovers.local_time(policy, now),
        "labels": drafts.STATUS_LABELS,
        "editors": ", ".join(web.department_name(d) for d in policy.leads("social_calendar")),
    }
    return web.templates.TemplateResponse(request, "takeovers.html", context)


@router.post("", dependencies=[*csrf, allow(Action.CALENDAR, the_calendar)])
def add_shift(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    person: Annotated[str, Form(max_length=320)],
    channel: Annotated[str, Form(max_length=64)],
    start: Annotated[str, Form(max_length=32)],
    end: Annotated[str, Form(max_length=32)],
) -> Response:
    """Put a person on an account from ``start`` to ``end`` (local to the policy's zone)."""
    web = state(request)
    policy = web.policy
    zone = zoneinfo.ZoneInfo(policy.timezone)
    if not person.strip():
        raise FieldError("person", "choose who takes over the account.")
    starts_at = parse_local_time("start", start, zone)
    ends_at = parse_local_time("end", end, zone)
    takeovers.add_shift(
        session,
        policy,
        person_email=person,
        channel=channel,
        start=starts_at,
        end=ends_at,
        actor=user,
        now=web.clock(),
    )
    return RedirectResponse("/takeovers", status_code=303)


@router.post("/{takeover_id}/cancel", dependencies=[*csrf, allow(Action.CALENDAR, the_calendar)])
def cancel_shift(
    request: Request, takeover_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """Cancel a shift that has not ended (a running one ends now)."""
    web = state(request)
    takeovers.cancel_shift(session, web.policy, takeover_id, actor=user, now=web.clock())
    return RedirectResponse("/takeovers", status_code=303)
