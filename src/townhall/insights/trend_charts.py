"""Two more time charts (Altair, like ``charts``): volume per topic, and one author's weekly
sentiment toward us. Pure: rows in, a ``Chart`` (spec and table) out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt

from townhall.insights.charts import DATA, Cell, Chart, counts_axis, spec_of

OTHER_TOPICS = "Other topics"
TOPIC_COLOURS = ["#2b6cb0", "#dd6b20", "#2f855a", "#6b46c1", "#c53030", "#2c7a7b", "#b7791f"]
OTHER_COLOUR = "#a0aec0"


def topics(days: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> Chart:
    """Posts per day (or week) for each topic, a line each, from the day labels and
    (topic name, posts per day) in rank order; a series named ``OTHER_TOPICS`` is grey."""
    values = [
        {"day": day, "topic": name, "posts": posts[i]}
        for name, posts in series
        for i, day in enumerate(days)
    ]
    names = [name for name, _ in series]
    most = max([n for _, posts in series for n in posts] + [0])
    colours = [
        OTHER_COLOUR if name == OTHER_TOPICS else TOPIC_COLOURS[n % len(TOPIC_COLOURS)]
        for n, name in enumerate(names)
    ]
    chart = (
        alt.Chart(alt.NamedData(name=DATA))
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=24))
        .encode(
            x=alt.X("day:O", sort=list(days), title=None),
            y=alt.Y("posts:Q", title="Posts", axis=counts_axis(most)),
            color=alt.Color(
                "topic:N",
                scale=alt.Scale(domain=names, range=colours),
                sort=names,
                title="Topic",
                legend=alt.Legend(orient="bottom", columns=3, labelLimit=180),
            ),
            tooltip=[
                alt.Tooltip("day:O", title="Day"),
                alt.Tooltip("topic:N", title="Topic"),
                alt.Tooltip("posts:Q", title="Posts", format=","),
            ],
        )
    )
    rows: list[list[Cell]] = [
        [day, *(posts[i] for _, posts in series)] for i, day in enumerate(days)
    ]
    return Chart(
        "topics",
        "Volume per topic",
        spec_of(chart, values, 240),
        ["Day", *names],
        rows,
        points=sum(1 for v in values if v["posts"]),
    )


def sentiment_weeks(weeks: Sequence[tuple[str, int, float | None]]) -> Chart:
    """One author's mean sentiment (−1..1) per week, from (week label, posts about us, mean or
    None) in week order; weeks without a scored post are gaps, not zeros."""
    values: list[dict[str, Any]] = [
        {"week": w, "posts": n, "sentiment": round(m, 3)} for w, n, m in weeks if m is not None
    ]
    labels = [w for w, _, _ in weeks]
    x = alt.X("week:O", sort=labels, scale=alt.Scale(domain=labels), title="Week of")
    y = alt.Y(
        "sentiment:Q", title="Mean sentiment", scale=alt.Scale(domain=[-1, 1]), axis=alt.Axis()
    )
    zero = (
        alt.Chart(alt.NamedData(name=DATA))
        .mark_rule(color="#a0aec0", strokeDash=[3, 3])
        .encode(y=alt.datum(0))
    )
    line = (
        alt.Chart(alt.NamedData(name=DATA))
        .mark_line(color="#6b46c1", point=alt.OverlayMarkDef(color="#6b46c1", filled=True))
        .encode(
            x=x,
            y=y,
            tooltip=[
                alt.Tooltip("week:O", title="Week of"),
                alt.Tooltip("posts:Q", title="Posts about us"),
                alt.Tooltip("sentiment:Q", title="Mean sentiment", format="+.2f"),
            ],
        )
    )
    rows: list[list[Cell]] = [[w, n, "–" if m is None else f"{m:+.2f}"] for w, n, m in weeks if n]
    return Chart(
        "sentiment",
        "Sentiment toward us, per week",
        spec_of(zero + line, values, 160),
        ["Week of", "Posts about us", "Mean sentiment (−1 to +1)"],
        rows,
        points=len(values),
    )
