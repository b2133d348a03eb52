"""The agenda of the cross-team social meeting (/agenda) and its Markdown export
(/agenda.md), both from the same ``Agenda`` (``townhall.insights.agenda``).

Everyone who may see items sees it: its figures are company-wide counts that reveal no item,
crisis rooms appear by title, lead and risk as on the crises list, the calendar is the shared
plan, and the cards are those published to other teams. Times are in the company's zone, so
the page and the export read the same in every office.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from townhall.errors import InputError
from townhall.insights import render
from townhall.insights.agenda import Agenda, build_agenda, parse_since, period_start, until_of
from townhall.org.permissions import Action
from townhall.org.policy import Policy
from townhall.publishing import localtime
from townhall.web.access import allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state

router = APIRouter()

Since = Annotated[str, Query(max_length=8)]
Until = Annotated[str, Query(max_length=10)]


def _agenda(request: Request, session: DbSession, since: str, until: str) -> Agenda:
    web = state(request)
    now = web.clock()
    span = parse_since(since)
    end = now
    if until.strip():
        try:
            day = localtime.parse_day(until)
        except ValueError as exc:
            raise InputError(f"until: {exc}") from None
        end = until_of(day, web.policy.timezone)
    return build_agenda(session, web.policy, period_start(end, span, web.policy.timezone), end, now)


def _view(policy: Policy, agenda: Agenda) -> dict[str, Any]:
    """What the template shows, every time already in the company's zone."""
    zone = agenda.zone
    return {
        "period": (
            render.when(agenda.start, zone, "%a %d %b %Y %H:%M"),
            render.when(agenda.end, zone, "%a %d %b %Y %H:%M"),
        ),
        "sentiment": render.sentiment_rows(agenda.post_sentiment, {}),
        "median": render.duration(agenda.items.first_reply_median),
        "sla": render.sla_text(agenda.items),
        "crises": [
            {"room": r, "lead": render.name_of(policy, r.lead_department)} for r in agenda.crises
        ],
        "breaches": [(render.name_of(policy, d), n) for d, n in agenda.breaches],
        "cards": [
            {
                "shared": s,
                "from": render.name_of(policy, s.card.from_department),
                "for": [render.name_of(policy, d) for d in s.card.for_departments],
                "acted": [
                    {
                        "receipt": r,
                        "department": render.name_of(policy, r.department),
                        "when": render.when(r.acted_at, zone),
                    }
                    for r in s.acted
                ],
            }
            for s in agenda.cards
        ],
        "days": [
            (
                f"{day:%A %d %B}",
                [
                    {
                        "entry": e,
                        "time": render.when(e.starts_at, zone, "%H:%M"),
                        "department": render.name_of(policy, e.department),
                    }
                    for e in found
                ],
            )
            for day, found in agenda.coming_up
        ],
        "steps": [
            {
                "step": s,
                "department": render.name_of(policy, s.owner_department),
                "due": render.when(s.due_at, zone),
            }
            for s in agenda.next_steps
        ],
    }


@router.get("/agenda", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def agenda_page(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    since: Since = "7d",
    until: Until = "",
) -> Response:
    """The meeting's agenda for the period (default: the last 7 days)."""
    web = state(request)
    agenda = _agenda(request, session, since, until)
    context = {
        "user": user,
        "department_name": web.department_name,
        "agenda": agenda,
        "since": since,
        "until": until,
        "timezone": agenda.zone,
        **_view(web.policy, agenda),
    }
    return web.templates.TemplateResponse(request, "agenda.html", context)


@router.get("/agenda.md", dependencies=[allow(Action.VIEW)])
def agenda_markdown(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    since: Since = "7d",
    until: Until = "",
) -> Response:
    """The same agenda as a Markdown file."""
    agenda = _agenda(request, session, since, until)
    text = render.agenda_markdown(state(request).policy, agenda)
    name = f"agenda-{render.when(agenda.end, agenda.zone, '%Y-%m-%d')}.md"
    return PlainTextResponse(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
