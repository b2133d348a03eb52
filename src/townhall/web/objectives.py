"""The objectives page (/objectives): company goals → social objectives → key results, each
against its target over time, with the campaigns and departments that contribute; and the
form that records a reading of a key result measured outside Townhall.

Everyone who may see the insights sees the page: its figures are company-wide (shares,
medians and counts that reveal no item, post or author), like the agenda's. Recording a
reading is managing the campaigns of the objective's department (``Action.CAMPAIGNS``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from townhall.errors import InputError
from townhall.insights import objective_report
from townhall.models import User
from townhall.org.objectives import Metric
from townhall.org.permissions import Action, Scope
from townhall.publishing import localtime
from townhall.web.access import MISSING, PermitDep, allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.insights import VEGA_BUNDLE
from townhall.web.params import FieldError

router = APIRouter(prefix="/objectives")

KpiId = Annotated[str, Path(max_length=64)]


def the_kpi(request: Request, kpi_id: KpiId) -> Scope:
    """A key result belongs to its objective's department."""
    found = state(request).policy.objectives.kpi(kpi_id)
    return MISSING if found is None else Scope.of(found[0].department)


def _page(
    request: Request,
    session: Session,
    user: User,
    person: Any,
    *,
    error: tuple[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    web = state(request)
    policy, now = web.policy, web.clock()
    goals = objective_report.progress(session, policy, now)
    today = localtime.local(now, localtime.zone(policy.timezone)).date()
    may_record = {
        o.id: person.can(Action.CAMPAIGNS, Scope.of(o.department))
        for o in policy.objectives.objectives
    }
    found = policy.objectives.kpi(error[0]) if error else None
    inline = bool(
        found and found[1].measure is Metric.READING and may_record.get(found[0].id, False)
    )
    context = {
        "page_error": error[1] if error and not inline else "",
        "user": user,
        "department_name": web.department_name,
        "goals": goals,
        "may_record": may_record,
        "reading": Metric.READING,
        "today": today.isoformat(),
        "error": error,
        "typed": typed or {},
        "bundle": VEGA_BUNDLE,
    }
    return web.templates.TemplateResponse(
        request, "objectives.html", context, status_code=status_code
    )


@router.get("", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def objectives_page(
    request: Request, session: DbSession, user: CurrentUser, person: PermitDep
) -> Response:
    """Every goal, objective and key result with its value, target, date, status and chart."""
    return _page(request, session, user, person)


@router.post(
    "/kpis/{kpi_id}/readings",
    dependencies=[
        Depends(require_csrf),
        allow(Action.CAMPAIGNS, the_kpi, "record readings of this objective"),
    ],
)
def record_reading(
    request: Request,
    kpi_id: KpiId,
    session: DbSession,
    user: CurrentUser,
    person: PermitDep,
    value: Annotated[str, Form(max_length=40)],
    on: Annotated[str, Form(max_length=32)],
    country: Annotated[str, Form(max_length=8)] = "",
    note: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    """Record a reading; a value or day that will not do comes back on the page (422) with
    the field named."""
    web = state(request)
    typed = {"kpi": kpi_id, "value": value, "on": on, "country": country, "note": note}
    try:
        objective_report.reading_kpi(web.policy, kpi_id)
        number = objective_report.parse_value(value)
        try:
            day = localtime.parse_day(on)
        except ValueError as exc:
            raise FieldError("on", str(exc)) from None
        objective_report.record_reading(
            session,
            web.policy,
            kpi_id=kpi_id,
            value=number,
            on=day,
            country=country or None,
            note=note,
            actor=user,
            now=web.clock(),
        )
    except InputError as refused:
        session.rollback()
        return _page(
            request,
            session,
            user,
            person,
            error=(kpi_id, refused.message),
            typed=typed,
            status_code=422,
        )
    return RedirectResponse(f"/objectives#kpi-{kpi_id}", status_code=303)
