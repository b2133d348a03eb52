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


PREVIOUS = "previous"
"""The name of the dataset holding the previous period's figures, where a chart has them."""

THIS_PERIOD, PREVIOUS_PERIOD = "This period", "Previous period"


def spec_of(
    chart: alt.Chart | alt.LayerChart,
    values: list[dict[str, Any]],
    height: int = 220,
    previous: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The validated spec, with ``values`` added afterwards as its named dataset: validating
    every value against the schema costs ~0.2 ms a row and checks nothing a row can break."""
    spec: dict[str, Any] = chart.properties(width=WIDTH, height=height).to_dict()
    spec["datasets"] = {DATA: values}
    if previous is not None:
        spec["datasets"][PREVIOUS] = previous
    return spec


def _points(values: Sequence[dict[str, Any]], key: str) -> int:
    return sum(1 for v in values if v.get(key))


def _scale(colours: dict[str, str]) -> alt.Scale:
    return alt.Scale(domain=list(colours), range=list(colours.values()))


def counts_axis(largest: float) -> alt.Axis:
    """An axis of whole counts up to ``largest``: Vega's ``tickMinStep`` still puts a tick at
    0.5 when the largest value is 1 or 2, so small ranges get their ticks listed."""
    if largest < 6:
        return alt.Axis(values=list(range(int(largest) + 1)), format="d")
    return alt.Axis(tickMinStep=1, format="d")


def _signed(value: int) -> str:
    return f"{value:+,}"


def volume(
    days: Sequence[tuple[str, str, int]], previous: Sequence[tuple[str, str, int]] = ()
) -> Chart:
    """Posts per day stacked by sentiment, from (day label, sentiment, posts) in day order;
    with ``previous`` (day label it lines up with, the earlier day's label, posts), the
    period before as a dashed line over the bars, the same number of days earlier."""
    values = [{"day": d, "sentiment": s, "posts": n} for d, s, n in days]
    x = alt.X("day:O", sort=None, title=None)
    stacks: dict[str, int] = {}
    for d, _, n in days:
        stacks[d] = stacks.get(d, 0) + n
    axis = counts_axis(max([*stacks.values(), *(n for _, _, n in previous), 0]))
    bars = (
        alt.Chart(alt.NamedData(name=DATA))
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("sum(posts):Q", title="Posts", axis=axis),
            color=alt.Color("sentiment:N", scale=_scale(SENTIMENT_COLOURS), title="Sentiment"),
            order=alt.Order("sentiment:N"),
            tooltip=["day:O", "sentiment:N", "posts:Q"],
        )
    )
    by_day: dict[str, dict[str, int]] = {}
    for d, s, n in days:
        by_day.setdefault(d, {})[s] = n
    before = {d: (label, n) for d, label, n in previous}
    columns = ["Day", "Positive", "Neutral", "Negative", "Posts"]
    rows: list[list[Cell]] = []
    for d, got in by_day.items():
        row: list[Cell] = [d, *(got.get(s, 0) for s in SENTIMENT_COLOURS), sum(got.values())]
        if previous:
            label, then = before.get(d, ("", 0))
            row += [label, then, _signed(sum(got.values()) - then)]
        rows.append(row)
    if not previous:
        return Chart(
            "volume",
            "Volume and sentiment",
            spec_of(bars, values),
            columns,
            rows,
            points=_points(values, "posts"),
        )
    earlier = [
        {"day": d, "series": PREVIOUS_PERIOD, "then": label, "posts": n} for d, label, n in previous
    ]
    line = (
        alt.Chart(alt.NamedData(name=PREVIOUS))
        .mark_line(color="#4a5568", point=alt.OverlayMarkDef(color="#4a5568", size=20))
        .encode(
            x=x,
            y=alt.Y("posts:Q", title="Posts", axis=axis),
            strokeDash=alt.StrokeDash(
                "series:N", scale=alt.Scale(domain=[PREVIOUS_PERIOD], range=[[4, 3]]), title=None
            ),
            tooltip=[
                alt.Tooltip("then:N", title=PREVIOUS_PERIOD),
                alt.Tooltip("posts:Q", title="Posts then"),
            ],
        )
    )
    return Chart(
        "volume",
        "Volume and sentiment",
        spec_of(bars + line, values, previous=earlier),
        [*columns, PREVIOUS_PERIOD, "Posts then", "Change"],
        rows,
        points=_points(values, "posts"),
    )


HEALTH_COLOURS = {THIS_PERIOD: "#2b6cb0", PREVIOUS_PERIOD: "#a3bffa"}


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def health(
    days: Sequence[tuple[str, float | None]],
    previous: Sequence[tuple[str, str, float | None]] = (),
) -> Chart:
    """Brand health per day, positive / (positive + negative), from (day label, share or
    None on a day with neither); with ``previous`` (day label it lines up with, the earlier
    day's label, share or None), the period before as a lighter dashed line."""
    values: list[dict[str, Any]] = [
        {"day": d, "series": THIS_PERIOD, "then": d, "health": h} for d, h in days if h is not None
    ]
    values += [
        {"day": d, "series": PREVIOUS_PERIOD, "then": label, "health": h}
        for d, label, h in previous
        if h is not None
    ]
    base = alt.Chart(alt.NamedData(name=DATA)).encode(
        x=alt.X(
            "day:O",
            sort=[d for d, _ in days],
            scale=alt.Scale(domain=[d for d, _ in days]),
            title=None,
        ),
        y=alt.Y(
            "health:Q",
            title="Brand health",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%"),
        ),
        color=alt.Color(
            "series:N",
            scale=_scale(HEALTH_COLOURS),
            title=None,
            legend=alt.Legend(orient="bottom") if previous else None,
        ),
        strokeDash=alt.StrokeDash(
            "series:N",
            scale=alt.Scale(domain=list(HEALTH_COLOURS), range=[[1, 0], [4, 3]]),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("then:N", title="Day"),
            alt.Tooltip("series:N", title="Period"),
            alt.Tooltip("health:Q", format=".0%", title="Brand health"),
        ],
    )
    chart = base.mark_line() + base.mark_point(filled=True)
    before = {d: (label, h) for d, label, h in previous}
    rows: list[list[Cell]] = []
    for d, h in days:
        row: list[Cell] = [d, _share(h)]
        if previous:
            label, then = before.get(d, ("", None))
            moved = "" if h is None or then is None else f"{(h - then) * 100:+.0f} points"
            row += [label, _share(then), moved]
        rows.append(row)
    columns = ["Day", "Brand health"]
    if previous:
        columns += [PREVIOUS_PERIOD, "Brand health then", "Change"]
    return Chart(
        "health",
        "Brand health",
        spec_of(chart, values),
        columns,
        rows,
        points=sum(1 for v in values if v["series"] == THIS_PERIOD),
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
    largest = max([v for _, v in rows] + [0])
    axis = alt.Axis(format="%") if percent else counts_axis(largest)
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
        name,
        title,
        spec_of(chart, values, height),
        [label, measure],
        table,
        _points(values, "value"),
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
        spec_of(chart, values, height),
        [label, "Items", "Mean (min)", "Median (min)"],
        table,
        points=len(rows),
    )


def crises(weeks: Sequence[tuple[str, str, int]], week_labels: Sequence[str]) -> Chart:
    """Crisis rooms opened per week by outcome, from (week label, outcome, rooms)."""
    values = [{"week": w, "outcome": o, "rooms": n} for w, o, n in weeks]
    per_week: dict[str, int] = {}
    for w, _, n in weeks:
        per_week[w] = per_week.get(w, 0) + n
    most = max([*per_week.values(), 0])
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
            y=alt.Y("sum(rooms):Q", title="Rooms opened", axis=counts_axis(most)),
            color=alt.Color("outcome:N", scale=_scale(OUTCOME_COLOURS), title="Outcome"),
            tooltip=["week:O", "outcome:N", "rooms:Q"],
        )
    )
    table: list[list[Cell]] = [[w, o, n] for w, o, n in weeks]
    return Chart(
        "crises",
        "Crisis history",
        spec_of(chart, values),
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
    most = max([sum(got.values()) for _, _, got in rows] + [0])
    chart = (
        alt.Chart(alt.NamedData(name=DATA))
        .mark_bar()
        .encode(
            y=alt.Y("campaign:N", sort=None, title=None),
            x=alt.X("sum(replies):Q", title="Replies drawn", axis=counts_axis(most)),
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
        spec_of(chart, values, height),
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
