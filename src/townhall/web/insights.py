"""The insights dashboard at /insights, and its exports: each chart's spec as JSON, PNG and SVG
(rendered on the server by vl-convert, offline) and each table as CSV.

Filters are a GET form: ``from``/``to`` (days in the viewer's zone, default the last 7 days to
today), ``days`` (a preset: 7, 30 or 90), ``department`` and ``channel``. Post figures are
company-wide (public posts Townhall heard); a department filter narrows them to posts routed to
that department, and is refused unless the person sees it. Item figures (response times, SLA)
count only items the person sees; crisis history counts rooms company-wide (no title or story).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import vl_convert
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from townhall.errors import NotFoundError
from townhall.insights import dashboard, periods, world_map
from townhall.insights.charts import Chart
from townhall.insights.metrics import Visibility
from townhall.org.permissions import Action, Scope
from townhall.publishing import localtime
from townhall.web.access import Permit, PermitDep, allow
from townhall.web.audit_log import csv_cell
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state

router = APIRouter(prefix="/insights")

VEGA_BUNDLE = "/static/vendor/vega-embed-bundle-1.9.0.post1.js"
"""The vendored Vega, Vega-Lite and vega-embed bundle (scripts/vendor-vega.py writes it)."""

Text = Annotated[str | None, Query(max_length=64)]


@dataclass(frozen=True)
class Choice:
    """The filters as the person chose them, for the form and the export links."""

    first: str
    last: str
    days: int | None
    department: str
    channel: str

    def query(self) -> str:
        """The filters as a query string (for links that keep them)."""
        from urllib.parse import urlencode

        pairs = {"from": self.first, "to": self.last}
        if self.department:
            pairs["department"] = self.department
        if self.channel:
            pairs["channel"] = self.channel
        return urlencode(pairs)


def _date(value: str | None) -> date | None:
    try:
        return localtime.parse_day(value) if value else None
    except ValueError:
        return None


def _seen(person: Permit) -> Visibility:
    scope = person.departments()
    return Visibility(scope.owned, scope.supported_by, scope.everything)


def filters_of(
    request: Request,
    person: PermitDep,
    user: CurrentUser,
    first: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    days: Annotated[str | None, Query(max_length=3)] = None,
    department: Text = None,
    channel: Text = None,
) -> tuple[dashboard.Ask, Choice]:
    """The dashboard's filters from the query string; unknown values are ignored, a
    department the person may not see is refused."""
    web = state(request)
    policy, now = web.policy, web.clock()
    where = localtime.zone(policy.person_timezone(user.email))
    today = localtime.local(now, where).date()
    # Only the presets' own ASCII digits: str.isdigit() is true for "²", which int() refuses.
    presets = {str(p): p for p in periods.PRESETS}
    preset = presets.get(days or "")
    if preset:
        period = periods.last_days(today, preset, where)
    else:
        period = periods.choose(today, where, _date(first), _date(last))
    if department not in policy.department_ids:
        department = None
    if department:
        person.require(Action.VIEW, Scope.of(department), "see the insights")
    if channel not in {c.id for c in policy.channels}:
        channel = None
    ask = dashboard.Ask(policy, period, channel, department, _seen(person), now)
    choice = Choice(
        period.first.isoformat(), period.last.isoformat(), preset, department or "", channel or ""
    )
    return ask, choice


FiltersDep = Annotated[tuple[dashboard.Ask, Choice], Depends(filters_of)]


def _panel(session: Session, ask: dashboard.Ask, name: str) -> Chart:
    build = dashboard.PANELS.get(name)
    if build is None:
        raise NotFoundError("There is no such chart.")
    return build(session, ask)


def _exported(session: Session, ask: dashboard.Ask, name: str) -> dict[str, Any]:
    """A panel's spec standing on its own: the map's country shapes inlined (the page loads
    them by URL; vl-convert and a spec saved to disk cannot)."""
    return world_map.inline_shapes(_panel(session, ask, name).spec)


@router.get("", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def insights_page(
    request: Request, session: DbSession, user: CurrentUser, filters: FiltersDep
) -> Response:
    """The dashboard: headline figures against the period before, and every panel as a chart
    with its table."""
    web = state(request)
    ask, choice = filters
    panels = [build(session, ask) for build in dashboard.PANELS.values()]
    context = {
        "user": user,
        "department_name": web.department_name,
        "departments": web.departments(),
        "channels": [c.id for c in web.policy.channels],
        "choice": choice,
        "presets": periods.PRESETS,
        "period": ask.period,
        "figures": dashboard.headline(session, ask),
        "panels": panels,
        "specs": {p.name: p.spec for p in panels},
        "query": choice.query(),
        "bundle": VEGA_BUNDLE,
    }
    return web.templates.TemplateResponse(request, "insights.html", context)


@router.get("/chart/{name}.json", dependencies=[allow(Action.VIEW)])
def chart_json(name: str, session: DbSession, filters: FiltersDep) -> Response:
    """One chart's Vega-Lite spec (self-contained: data and shapes inlined)."""
    spec = _exported(session, filters[0], name)
    return Response(json.dumps(spec), media_type="application/json")


def _download(name: str, choice: Choice, ext: str) -> dict[str, str]:
    return {
        "Content-Disposition": (
            f'attachment; filename="townhall-{name}-{choice.first}-{choice.last}.{ext}"'
        )
    }


@router.get("/chart/{name}.png", dependencies=[allow(Action.VIEW)])
def chart_png(name: str, session: DbSession, filters: FiltersDep) -> Response:
    """One chart as a PNG image (rendered on the server, twice the pixels for sharpness)."""
    png = vl_convert.vegalite_to_png(_exported(session, filters[0], name), scale=2)
    return Response(png, media_type="image/png", headers=_download(name, filters[1], "png"))


@router.get("/chart/{name}.svg", dependencies=[allow(Action.VIEW)])
def chart_svg(name: str, session: DbSession, filters: FiltersDep) -> Response:
    """One chart as an SVG image."""
    svg = vl_convert.vegalite_to_svg(_exported(session, filters[0], name))
    return Response(svg, media_type="image/svg+xml", headers=_download(name, filters[1], "svg"))


def table_csv(chart: Chart) -> str:
    """A panel's table as CSV text; text cells that a spreadsheet would run are defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(c) for c in chart.columns])
    for row in chart.rows:
        writer.writerow([v if isinstance(v, int | float) else csv_cell(v) for v in row])
    return buffer.getvalue()


@router.get("/table/{name}.csv", dependencies=[allow(Action.VIEW)])
def table_export(name: str, session: DbSession, filters: FiltersDep) -> Response:
    """One panel's table as CSV."""
    chart = _panel(session, filters[0], name)
    return Response(
        table_csv(chart),
        media_type="text/csv; charset=utf-8",
        headers=_download(name, filters[1], "csv"),
    )
