"""The insight cards pages: the board (cards for my team first, then the others, and the
proposals waiting for my team), one card (opening it records that I saw it; "We acted on
this" records what we did), and the form to publish one.

Every logged-in person may read cards and publish one from their own department
(``Action.VIEW`` at the route; ``insights.cards`` checks the department). Cards carry figures
a team chose to share, never items, so they are shown to everyone whatever departments the
person may see. Times are shown in the viewer's own zone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from townhall.db import is_locked, transaction
from townhall.errors import DatabaseBusyError, InputError
from townhall.insights import cards
from townhall.insights.cards import CardView, Figure
from townhall.models import CardStatus, InsightCard, User
from townhall.org.permissions import Action
from townhall.org.policy import Policy
from townhall.publishing import localtime
from townhall.web.access import allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.params import IdNumber

log = logging.getLogger(__name__)

router = APIRouter(prefix="/cards")
csrf = [Depends(require_csrf)]

FIGURE_ROWS = 4
"""Empty figure rows the form offers (more come back when a card has more)."""

KIND_WORDS = {
    "manual": "",
    "audience_country": "Audience",
    "negative_topic": "Negative sentiment",
    "campaign_outperformed": "Campaign results",
}


def _when(policy: Policy, user: User, moment: datetime | None) -> str:
    if moment is None:
        return ""
    where = localtime.zone(policy.person_timezone(user.email))
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return f"{localtime.local(aware, where):%a %d %b %Y, %H:%M}"


def _own_link(link: str | None) -> str | None:
    """``link`` when it is a page of this site ("/insights?..."), else None (never another
    site's, never a script)."""
    if link and link.startswith("/") and not link.startswith(("//", "/\\")):
        return link
    return None


def _shown(request: Request, user: User, view: CardView) -> dict[str, Any]:
    """What a template needs of a card: names, not ids; times in the viewer's zone."""
    web = state(request)
    card = view.card
    return {
        "card": card,
        "from": web.department_name(card.from_department),
        "for": [web.department_name(d) for d in card.for_departments or []],
        "figures": view.figures,
        "link": _own_link(card.link),
        "seen": view.seen,
        "actions": [
            {"name": a.name, "text": a.text, "when": _when(web.policy, user, a.at)}
            for a in view.actions
        ],
        "when": _when(web.policy, user, card.published_at or card.created_at),
        "kind": KIND_WORDS.get(card.kind, card.kind.replace("_", " ").capitalize()),
        "proposed": card.status == CardStatus.PROPOSED,
        "may_decide": card.status == CardStatus.PROPOSED
        and cards.may_speak_for(user, card.from_department),
    }


@router.get("", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def board_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Cards for my department, then the rest published, newest first; proposals waiting."""
    web = state(request)
    found = cards.board(session, user)
    context = {
        "user": user,
        "department_name": web.department_name,
        "mine_title": f"For {web.department_name(user.department)}",
        "for_mine": [_shown(request, user, v) for v in found.for_mine],
        "others": [_shown(request, user, v) for v in found.others],
        "proposals": [_shown(request, user, v) for v in found.proposals],
    }
    return web.templates.TemplateResponse(request, "cards.html", context)


# -- the form ---------------------------------------------------------------------------------
def _blank(user: User) -> dict[str, Any]:
    return {
        "title": "",
        "body": "",
        "from_department": user.department,
        "for": [],
        "figures": [Figure("", "")] * FIGURE_ROWS,
        "link": "",
    }


def _form_page(
    request: Request,
    user: User,
    values: Mapping[str, Any],
    error: str = "",
    status_code: int = 200,
) -> Response:
    web = state(request)
    departments = web.departments()
    sources = (
        departments
        if cards.is_admin(user)
        else [(d, n) for d, n in departments if d == user.department]
    )
    context = {
        "user": user,
        "department_name": web.department_name,
        "form": values,
        "error": error,
        "sources": sources,
        "departments": [(d, n) for d, n in departments],
        "max_title": cards.MAX_TITLE,
        "max_body": cards.MAX_BODY,
        "max_label": cards.MAX_LABEL,
        "max_value": cards.MAX_VALUE,
    }
    return web.templates.TemplateResponse(
        request, "card_form.html", context, status_code=status_code
    )


async def _form_values(request: Request) -> dict[str, Any]:
    """The card form as typed (lists: the teams ticked, the figure rows)."""
    form = await request.form()

    def text(key: str, limit: int) -> str:
        raw = form.get(key, "")
        return raw[:limit] if isinstance(raw, str) else ""

    def texts(key: str, limit: int) -> list[str]:
        return [v[:limit] for v in form.getlist(key) if isinstance(v, str)][:50]

    labels = texts("figure_label", cards.MAX_LABEL + 50)
    values = texts("figure_value", cards.MAX_VALUE + 50)
    rows = max(len(labels), len(values))
    figures = [
        Figure(labels[i] if i < len(labels) else "", values[i] if i < len(values) else "")
        for i in range(rows)
    ]
    return {
        "title": text("title", cards.MAX_TITLE + 100),
        "body": text("body", cards.MAX_BODY + 100),
        "from_department": text("from_department", 64),
        "for": texts("for", 64),
        "figures": figures or [Figure("", "")] * FIGURE_ROWS,
        "link": text("link", cards.MAX_LINK + 100),
    }


FormValues = Annotated[dict[str, Any], Depends(_form_values)]


@router.get("/new", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def new_form(request: Request, user: CurrentUser) -> Response:
    """The form to publish a card from my department."""
    return _form_page(request, user, _blank(user))


@router.post("/new", dependencies=[*csrf, allow(Action.VIEW)])
def create(request: Request, session: DbSession, user: CurrentUser, values: FormValues) -> Response:
    """Publish a card; a value that will not do comes back in the form (422)."""
    web = state(request)
    try:
        card = cards.create(
            session,
            web.policy,
            title=values["title"],
            body=values["body"],
            from_department=values["from_department"] or user.department,
            for_departments=values["for"],
            figures=values["figures"],
            link=values["link"],
            actor=user,
            now=web.clock(),
        )
    except InputError as refused:
        session.rollback()
        return _form_page(request, user, values, error=refused.message, status_code=422)
    return RedirectResponse(f"/cards/{card.id}", status_code=303)


# -- one card ---------------------------------------------------------------------------------
def _note_seen_aside(request: Request, card_id: int, user_id: int, now: datetime) -> bool:
    """Record the receipt in a short write transaction of its own (the page's is read-only);
    best effort: a busy database must not fail the page."""
    try:
        with transaction(state(request).sessions) as writer:
            card, person = writer.get(InsightCard, card_id), writer.get(User, user_id)
            if card is None or person is None:
                return False
            cards.see(writer, card, person, now)
        return True
    except DatabaseBusyError:
        log.info("card %s: not marked seen by %s (database busy)", card_id, user_id)
    except OperationalError as exc:
        if not is_locked(exc):
            raise
        log.info("card %s: not marked seen by %s (database locked)", card_id, user_id)
    return False


def card_page(
    request: Request,
    session: Session,
    user: User,
    card: InsightCard,
    *,
    error: str = "",
    action: str = "",
    status_code: int = 200,
) -> Response:
    """One card: what was learned, its evidence, who saw it, what was done with it."""
    web = state(request)
    [view] = cards.views_of(session, [card])
    mine = cards.receipt_of(session, card, user)
    first_sight = card.status == CardStatus.PUBLISHED and mine is None
    if (
        first_sight
        and request.method == "GET"
        and _note_seen_aside(request, card.id, user.id, web.clock())
    ):
        view.seen += 1
    context = {
        "user": user,
        "department_name": web.department_name,
        "shown": _shown(request, user, view),
        "error": error,
        "action": action or (mine.action if mine else ""),
        "acted": bool(mine and mine.acted_at),
        "may_act": card.status == CardStatus.PUBLISHED,
        "max_action": cards.MAX_ACTION,
    }
    return web.templates.TemplateResponse(request, "card.html", context, status_code=status_code)


@router.get("/{card_id}", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def card_view(
    request: Request, card_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """One card (see ``card_page``); opening it records that I saw it, once."""
    card = cards.get_for(session, card_id, user)
    return card_page(request, session, user, card)


@router.post("/{card_id}/act", dependencies=[*csrf, allow(Action.VIEW)])
def act(
    request: Request,
    card_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    action: Annotated[str, Form(max_length=cards.MAX_ACTION + 200)] = "",
) -> Response:
    """Record what my team did with a card; a text that will not do comes back (422)."""
    web = state(request)
    card = cards.get_for(session, card_id, user)
    try:
        cards.act(session, card, user, action, web.clock())
    except InputError as refused:
        session.rollback()
        card = cards.get_for(session, card_id, user)
        return card_page(
            request, session, user, card, error=refused.message, action=action, status_code=422
        )
    return RedirectResponse(f"/cards/{card_id}#actions", status_code=303)


@router.post("/{card_id}/publish", dependencies=[*csrf, allow(Action.VIEW)])
def publish(request: Request, card_id: IdNumber, session: DbSession, user: CurrentUser) -> Response:
    """Publish a card Townhall proposed (a person of its department, or an admin)."""
    web = state(request)
    card = cards.get_for(session, card_id, user)
    cards.publish(session, web.policy, card, actor=user, now=web.clock())
    return RedirectResponse(f"/cards/{card_id}", status_code=303)


@router.post("/{card_id}/dismiss", dependencies=[*csrf, allow(Action.VIEW)])
def dismiss(request: Request, card_id: IdNumber, session: DbSession, user: CurrentUser) -> Response:
    """Dismiss a card Townhall proposed (a person of its department, or an admin)."""
    web = state(request)
    card = cards.get_for(session, card_id, user)
    cards.dismiss(session, web.policy, card, actor=user, now=web.clock())
    return RedirectResponse("/cards", status_code=303)
