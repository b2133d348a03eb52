"""Calendar feeds: the page where people make, copy and revoke their feeds
(``/calendar/feeds``), and the feeds themselves (``/feeds/{token}.ics``).

The feed address takes no login: its token is the credential. An unknown or revoked token
answers 404 (not 403: the answer never says whether a feed existed). Calendar apps poll, so the
feed carries an ETag and answers ``If-None-Match`` with 304, and ``last_used_at`` is written at
most once a minute, in a short transaction of its own.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from townhall.db import transaction
from townhall.errors import DatabaseBusyError, InputError, NotFoundError
from townhall.models import Campaign, FeedScope, Role, User
from townhall.org.permissions import Action
from townhall.publishing import feeds, localtime
from townhall.web.access import NotAllowed, Permit, PermitDep, allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.params import IdNumber

log = logging.getLogger(__name__)

router = APIRouter()
"""The feed pages (/calendar/feeds) and the feeds themselves (/feeds/{token}.ics)."""
csrf = [Depends(require_csrf)]

PAGE = "/calendar/feeds"
NOTICE_KEY = "feeds_notice"
CACHE = "private, max-age=300"


def _campaigns(session: Session) -> list[Campaign]:
    query = select(Campaign).where(Campaign.archived_at.is_(None)).order_by(Campaign.name)
    return list(session.scalars(query))


def _page(
    request: Request,
    session: Session,
    user: User,
    person: Permit,
    *,
    made: feeds.NewFeed | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    web = state(request)
    policy = web.policy
    zone_name = policy.person_timezone(user.email)
    where = localtime.zone(zone_name)
    admin = user.role == Role.ADMIN
    rows = feeds.feeds_of(session, None if admin else user)

    def when(moment: datetime | None) -> str:
        if moment is None:
            return "never"
        return localtime.local(moment, where).strftime("%d %b %Y %H:%M")

    context = {
        "user": user,
        "department_name": web.department_name,
        "feeds": rows,
        "status_of": feeds.status_of,
        "when": when,
        "timezone": zone_name,
        "admin": admin,
        "departments": [(d, n) for d, n in web.departments() if person.sees(d)],
        "campaigns": _campaigns(session),
        "made": made,
        "made_url": _absolute(request, made.path) if made is not None else "",
        "error": error,
        "notice": str(request.session.pop(NOTICE_KEY, "")),
    }
    response = web.templates.TemplateResponse(request, "feeds.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _absolute(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


@router.get(PAGE, response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def feeds_page(
    request: Request, session: DbSession, user: CurrentUser, person: PermitDep
) -> Response:
    """My calendar feeds (every feed, for an admin), and the form for a new one."""
    return _page(request, session, user, person)


@router.post(PAGE, response_class=HTMLResponse, dependencies=[*csrf, allow(Action.VIEW)])
def create_feed(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    person: PermitDep,
    scope: Annotated[str, Form(max_length=16)],
    department: Annotated[str, Form(max_length=64)] = "",
    campaign: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Make a feed of a department's plan (one the person may see) or of a campaign: its
    address is shown on this answer once, never again."""
    web = state(request)
    try:
        kind = FeedScope(scope)
    except ValueError:
        return _page(request, session, user, person, error="Choose a department or a campaign.",
                     status=422)  # fmt: skip
    target = department.strip() if kind is FeedScope.DEPARTMENT else campaign.strip()
    if not target:
        what = "department" if kind is FeedScope.DEPARTMENT else "campaign"
        return _page(request, session, user, person, error=f"Choose a {what}.", status=422)
    known = target in web.policy.department_ids
    if kind is FeedScope.DEPARTMENT and known and not person.sees(target):
        raise NotAllowed(f"You may not see the plan of {web.department_name(target)}.")
    try:
        made = feeds.create(
            session, web.policy, scope=kind, target=target, creator=user, now=web.clock()
        )
    except (InputError, NotFoundError) as refused:
        session.rollback()
        return _page(request, session, user, person, error=refused.message, status=422)
    return _page(request, session, user, person, made=made)


@router.post(f"{PAGE}/{{feed_id}}/revoke", dependencies=[*csrf, allow(Action.VIEW)])
def revoke_feed(
    request: Request, feed_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """Revoke a feed (its maker, or an admin): its address answers 404 from now on."""
    web = state(request)
    feed = feeds.revoke(session, feed_id, now=web.clock(), by=user)
    request.session[NOTICE_KEY] = f"The feed of the {feed.label} is revoked."
    return RedirectResponse(PAGE, status_code=303)


def _not_found() -> Response:
    return Response(
        "There is no calendar feed at this address.\n",
        status_code=404,
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


@router.get("/feeds/{token}.ics")
def feed(request: Request, token: str, session: DbSession) -> Response:
    """A department's or campaign's plan as iCalendar; the token in the address is the only
    credential (no login). Any token that is not a live feed's, however malformed, is 404."""
    web = state(request)
    found = feeds.find(session, token)
    if found is None:
        return _not_found()
    now = web.clock()
    body = feeds.build(
        session,
        web.policy,
        found,
        now,
        base_url=str(request.base_url),
        host=request.url.hostname or "",
    )
    if feeds.needs_touch(found, now):
        _touch_aside(request, found.id, now)
    etag = feeds.etag_of(body)
    headers = {"ETag": etag, "Cache-Control": CACHE}
    wanted = request.headers.get("if-none-match", "")
    if etag in {tag.strip() for tag in wanted.split(",")} or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


def _touch_aside(request: Request, feed_id: int, now: datetime) -> None:
    # Best effort: a busy database must not fail a calendar app's poll.
    try:
        with transaction(state(request).sessions) as writer:
            feeds.touch(writer, feed_id, now)
    except DatabaseBusyError:
        log.info("calendar feed %s: last_used_at not refreshed (database busy)", feed_id)
    except OperationalError as exc:
        log.info("calendar feed %s: last_used_at not refreshed (%s)", feed_id, exc)
