"""A key result's chart: its value per week against the straight line to its target, as a
Vega-Lite spec (Altair) with the same figures as a table, the way ``insights.charts`` does
the dashboard's. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import altair as alt

from townhall.insights.charts import DATA, WIDTH, Cell, Chart
from townhall.insights.objectives import amount
from townhall.org.objectives import SHARES, Kpi

MEASURED = "Measured"
LINE = "Line to target"
COLOURS = {MEASURED: "#2b6cb0", LINE: "#718096"}


def kpi_chart(
    kpi: Kpi,
    weeks: Sequence[tuple[date, float | None]],
    line: tuple[date, float] | None,
) -> Chart:
    """The chart of one key result, from (week's first day, value or None) in order and the
    line's start (day, value); the line ends at the target on the key result's date."""
    values: list[dict[str, Any]] = [
        {"week": d.isoformat(), "series": MEASURED, "value": v} for d, v in weeks if v is not None
    ]
    if line is not None:
        values += [
            {"week": line[0].isoformat(), "series": LINE, "value": line[1]},
            {"week": kpi.by.isoformat(), "series": LINE, "value": kpi.target},
        ]
    share = kpi.measure in SHARES
    axis = alt.Axis(format="%") if share else alt.Axis()
    base = alt.Chart(alt.NamedData(name=DATA)).encode(
        x=alt.X("week:T", title=None, axis=alt.Axis(format="%d %b")),
        y=alt.Y("value:Q", title=kpi.label, axis=axis, scale=alt.Scale(zero=True)),
        color=alt.Color(
            "series:N",
            scale=alt.Scale(domain=list(COLOURS), range=list(COLOURS.values())),
            title=None,
        ),
        strokeDash=alt.StrokeDash(
            "series:N",
            scale=alt.Scale(domain=list(COLOURS), range=[[1, 0], [6, 4]]),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("week:T", title="Week of", format="%d %b %Y"),
            "series:N",
            alt.Tooltip("value:Q", title="Value", format=".0%" if share else ",.1f"),
        ],
    )
    chart = base.mark_line() + base.mark_point(filled=True)
    spec: dict[str, Any] = chart.properties(width=WIDTH, height=200).to_dict()
    spec["datasets"] = {DATA: values}
    rows: list[list[Cell]] = [
        [f"{d.day} {d:%b %Y}", "" if v is None else amount(kpi, v)] for d, v in weeks
    ]
    return Chart(
        f"kpi-{kpi.id}",
        kpi.label,
        spec,
        ["Week of", "Value"],
        rows,
        points=sum(1 for v in values if v["series"] == MEASURED),
    )
