"""Vega-Lite specs (built with Altair) and the matching tables, from plain metric rows.

One spec serves the page (vega-embed, SVG) and the exports (vl-convert PNG/SVG). Each
function takes rows as ``metrics`` returns them, already named for people, and gives a
``Chart``: its spec (validated by Altair's ``to_dict``) and the same figures as a table.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import altair as alt

WIDTH = 560
"""Width of an exported chart (pixels); the page stretches charts to their box."""

SENTIMENT_COLOURS = {"positive": "#2f855a", "neutral": "#a0aec0", "negative": "#c53030"}
OUTCOME_COLOURS = {
    "open": "#dd6b20",
    "advocate": "#2f855a",
    "neutral": "#a0aec0",
    "resolved": "#4a5568",
    "detractor": "#c53030",
}

Cell = str | int | float


@dataclass
class Chart:
    """One panel's chart spec (a Vega-Lite dict) and its figures as a table."""

    name: str
    title: str
    spec: dict[str, Any]
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    points: int = 0
    """How many non-zero values the chart draws (the page shows no chart without any)."""


DATA = "figures"
"""The name of every chart's one dataset."""


def _spec(
    chart: alt.Chart | alt.LayerChart, values: list[dict[str, Any]], height: int = 220
) -> dict[str, Any]:
    """The validated spec, with ``values`` added afterwards as its named dataset: validating
    every value against the schema costs ~0.2 ms a row and checks nothing a row can break."""
    spec: dict[str, Any] = chart.properties(width=WIDTH, height=height).to_dict()
    spec["datasets"] = {DATA: values}
    return spec


def _points(values: Sequence[dict[str, Any]], key: str) -> int:
    return sum(1 for v in values if v.get(key))


def _scale(colours: dict[str, str]) -> alt.Scale:
    return alt.Scale(domain=list(colours), range=list(colours.values()))


def volume(days: Sequence[tuple[str, str, int]]) -> Chart:
    """Posts per day stacked by sentiment, from (day label, sentiment, posts) in day order."""
    values = [{"day": d, "sentiment": s, "posts": n} for d, s, n in days]
    chart = (
        alt.Chart(alt.NamedData(name=DATA))
        .mark_bar()
        .encode(
            x=alt.X("day:O", sort=None, title=None),
            y=alt.Y("sum(posts):Q", title="Posts", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("sentiment:N", scale=_scale(SENTIMENT_COLOURS), title="Sentiment"),
            order=alt.Order("sentiment:N"),
            tooltip=["day:O", "sentiment:N", "posts:Q"],
        )
    )
    by_day: dict[str, dict[str, int]] = {}
    for d, s, n in days:
        by_day.setdefault(d, {})[s] = n
    rows: list[list[Cell]] = [
        [d, *(got.get(s, 0) for s in SENTIMENT_COLOURS), sum(got.values())]
        for d, got in by_day.items()
    ]
    return Chart(
        "volume",
        "Volume and sentiment",
        _spec(chart, values),
        ["Day", "Positive", "Neutral", "Negative", "Posts"],
        rows,
        points=_points(values, "posts"),
    )


def health(days: Sequence[tuple[str, float | None]]) -> Chart:
    """Brand health per day, positive / (positive + negative), from (day label, share or
    None on a day with neither)."""
    values = [{"day": d, "health": h} for d, h in days if h is not None]
    base = alt.Chart(alt.NamedData(name=DATA)).encode(
        x=alt.X("day:O", sort=[d for d, _ in days], title=None),
        y=alt.Y(
            "health:Q",
            title="Brand health",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%"),
        ),
        tooltip=["day:O", alt.Tooltip("health:Q", format=".0%")],
    )
    chart = base.mark_line(color="#2b6cb0") + base.mark_point(color="#2b6cb0", filled=True)
    rows: list[list[Cell]] = [[d, "" if h is None else f"{h:.0%}"] for d, h in days]
    return Chart(
        "health",
        "Brand health",
        _spec(chart, values),
        ["Day", "Brand health"],
        rows,
        points=sum(1 for v in values if v["health"] is not None),
    )


def bars(
    name: str,
    title: str,
    rows: Sequence[tuple[str, int | float]],
    *,
    label: str,
    measure: str,
    colour: str = "#2b6cb0",
    percent: bool = False,
) -> Chart:
    """A horizontal bar chart of (label, value) rows, in the order given."""
    values = [{"label": k, "value": v} for k, v in rows]
    axis = alt.Axis(format="%") if percent else alt.Axis(tickMinStep=1)
    chart = (
        alt.Chart(alt.NamedData(name=DATA))
        .mark_bar(color=colour)
        .encode(
            y=alt.Y("label:N", sort=None, title=None),
            x=alt.X("value:Q", title=measure, axis=axis),
            tooltip=[
                alt.Tooltip("label:N", title=label),
                alt.Tooltip("value:Q", title=measure, format=".0%" if percent else ","),
            ],
        )
    )
    height = max(60, 24 * len(values))
    table: list[list[Cell]] = [[k, f"{v:.0%}" if percent else v] for k, v in rows]
    return Chart(
        name, title, _spec(chart, values, height), [label, measure], table, _points(values, "value")
    )


def durations(
    name: str, title: str, rows: Sequence[tuple[str, int, float, float]], *, label: str
) -> Chart:
    """Mean and median minutes per group, from (group, items, mean min, median min)."""
    values = [
        {"group": g, "measure": m, "minutes": round(v, 1)}
        for g, _, mean, median in rows
        for m, v in (("Mean", mean), ("Median", median))
    ]
    chart = (
        alt.Chart(alt.NamedData(name=DATA))
        .mark_bar()
        .encode(
            y=alt.Y("group:N", sort=None, title=None),
            yOffset=alt.YOffset("measure:N"),
            x=alt.X("minutes:Q", title="Minutes"),
            color=alt.Color(
                "measure:N", scale=_scale({"Mean": "#2b6cb0", "Median": "#90cdf4"}), title=None
            ),
            tooltip=["group:N", "measure:N", "minutes:Q"],
        )
    )
    table: list[list[Cell]] = [
        [g, n, round(mean, 1), round(median, 1)] for g, n, mean, median in rows
    ]
    height = max(60, 40 * len(rows))
    return Chart(
        name,
        title,
        _spec(chart, values, height),
        [label, "Items", "Mean (min)", "Median (min)"],
        table,
        points=len(rows),
    )


def crises(weeks: Sequence[tuple[str, str, int]], week_labels: Sequence[str]) -> Chart:
    """Crisis rooms opened per week by outcome, from (week label, outcome, rooms)."""
    values = [{"week": w, "outcome": o, "rooms": n} for w, o, n in weeks]
    chart = (
        alt.Chart(alt.NamedData(name=DATA))
        .mark_bar()
        .encode(
            x=alt.X(
                "week:O",
                sort=list(week_labels),
                title=None,
                scale=alt.Scale(domain=list(week_labels)),
            ),
            y=alt.Y("sum(rooms):Q", title="Rooms opened", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("outcome:N", scale=_scale(OUTCOME_COLOURS), title="Outcome"),
            tooltip=["week:O", "outcome:N", "rooms:Q"],
        )
    )
    table: list[list[Cell]] = [[w, o, n] for w, o, n in weeks]
    return Chart(
        "crises",
        "Crisis history",
        _spec(chart, values),
        ["Week of", "Outcome", "Rooms"],
        table,
        _points(values, "rooms"),
    )


def campaigns(rows: Sequence[tuple[str, int, dict[str, int]]]) -> Chart:
    """Replies each campaign drew, stacked by sentiment, from (campaign, posts, replies by
    sentiment)."""
    values = [
        {"campaign": c, "sentiment": s, "replies": got.get(s, 0)}
        for c, _, got in rows
        for s in SENTIMENT_COLOURS
    ]
    chart = (
        alt.Chart(alt.NamedData(name=DATA))
        .mark_bar()
        .encode(
            y=alt.Y("campaign:N", sort=None, title=None),
            x=alt.X("sum(replies):Q", title="Replies drawn", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("sentiment:N", scale=_scale(SENTIMENT_COLOURS), title="Sentiment"),
            tooltip=["campaign:N", "sentiment:N", "replies:Q"],
        )
    )
    table: list[list[Cell]] = [
        [c, posts, sum(got.values()), *(got.get(s, 0) for s in SENTIMENT_COLOURS)]
        for c, posts, got in rows
    ]
    height = max(60, 28 * len(rows))
    return Chart(
        "campaigns",
        "Campaign results",
        _spec(chart, values, height),
        ["Campaign", "Posts", "Replies", "Positive", "Neutral", "Negative"],
        table,
        _points(values, "replies"),
    )


def median_minutes(histogram: dict[int, int]) -> float:
    """The median of a histogram of whole minutes (minute → count), as minutes; 0 when empty.
    With an even count it is the mean of the two middle values."""
    total = sum(histogram.values())
    if total == 0:
        return 0.0
    ordered = sorted(histogram.items())

    def nth(n: int) -> int:
        seen = 0
        for minute, count in ordered:
            seen += count
            if n < seen:
                return minute
        return ordered[-1][0]

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2
