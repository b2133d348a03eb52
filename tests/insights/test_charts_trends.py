"""The time charts: volume and brand health against the previous period, volume per topic and
an author's weekly sentiment. Specs validate (Altair round trip), render offline (PNG and SVG),
and their tables carry the figures given."""

from __future__ import annotations

import re

import altair as alt
import pytest
import vl_convert

from townhall.insights import charts, topic_metrics, trend_charts
from townhall.insights.topic_metrics import TopicLists

DAYS = [
    ("Sat 14 Nov", "positive", 3),
    ("Sat 14 Nov", "negative", 1),
    ("Sun 15 Nov", "neutral", 2),
    ("Sun 15 Nov", "negative", 4),
]
BEFORE = [("Sat 14 Nov", "Sat 07 Nov", 6), ("Sun 15 Nov", "Sun 08 Nov", 1)]


def _validates(spec: dict[str, object]) -> None:
    kind = alt.LayerChart if "layer" in spec else alt.Chart
    assert kind.from_dict(spec).to_dict() == spec


def _renders(spec: dict[str, object]) -> str:
    svg = vl_convert.vegalite_to_svg(spec)
    assert svg.lstrip().startswith("<svg") and "<path" in svg
    assert vl_convert.vegalite_to_png(spec)[:8] == b"\x89PNG\r\n\x1a\n"
    return svg


def test_volume_draws_the_previous_period_and_tabulates_the_change() -> None:
    chart = charts.volume(DAYS, BEFORE)
    _validates(chart.spec)
    svg = _renders(chart.spec)
    assert chart.spec["datasets"][charts.PREVIOUS] == [
        {"day": d, "series": charts.PREVIOUS_PERIOD, "then": then, "posts": n}
        for d, then, n in BEFORE
    ]
    assert "Previous period" in svg  # its legend entry
    assert chart.columns[-3:] == [charts.PREVIOUS_PERIOD, "Posts then", "Change"]
    for row, (day, then, old) in zip(chart.rows, BEFORE, strict=True):
        now = sum(n for d, _, n in DAYS if d == day)
        assert row[0] == day and row[4] == now
        assert row[5:] == [then, old, f"{now - old:+,}"]


def test_volume_without_a_previous_period_is_the_plain_stack() -> None:
    chart = charts.volume(DAYS)
    assert "layer" not in chart.spec and charts.PREVIOUS not in chart.spec["datasets"]
    assert chart.columns == ["Day", "Positive", "Neutral", "Negative", "Posts"]


def test_health_has_two_series_and_the_change_in_points() -> None:
    now = [("Sat 14 Nov", 0.75), ("Sun 15 Nov", None), ("Mon 16 Nov", 0.5)]
    before = [("Sat 14 Nov", "Sat 07 Nov", 0.5), ("Sun 15 Nov", "Sun 08 Nov", 0.2)]
    before.append(("Mon 16 Nov", "Mon 09 Nov", None))
    chart = charts.health(now, before)
    _validates(chart.spec)
    _renders(chart.spec)
    series = [(v["series"], v["day"]) for v in chart.spec["datasets"][charts.DATA]]
    assert series == [
        (charts.THIS_PERIOD, "Sat 14 Nov"),
        (charts.THIS_PERIOD, "Mon 16 Nov"),
        (charts.PREVIOUS_PERIOD, "Sat 14 Nov"),
        (charts.PREVIOUS_PERIOD, "Sun 15 Nov"),
    ]
    assert chart.rows[0] == ["Sat 14 Nov", "75%", "Sat 07 Nov", "50%", "+25 points"]
    assert chart.rows[1] == ["Sun 15 Nov", "", "Sun 08 Nov", "20%", ""]
    assert chart.points == 2


def test_per_topic_ranks_sums_the_others_once_a_post() -> None:
    rows = [
        TopicLists(0, ("brand:acme", "product:a"), 3),
        TopicLists(0, ("product:b",), 2),
        TopicLists(1, ("product:a", "product:c", "product:d"), 2),
        TopicLists(1, ("product:b",), 1),
    ]
    got = topic_metrics.per_topic(rows, 2, top=2)
    # product:a has 5 posts, then brand:acme and product:b tie on 3 (ties by id).
    assert got.topics == ["product:a", "brand:acme"]
    assert got.per_bucket == {"product:a": [3, 2], "brand:acme": [3, 0]}
    # Bucket 0: 2 posts on b; bucket 1: 2 posts naming c and d (once each post) + 1 on b.
    assert got.others == [2, 3]
    assert got.has_others
    assert not topic_metrics.per_topic(rows, 2, top=10).has_others


def test_the_topic_chart_draws_a_line_per_topic() -> None:
    days = ["Sat 14 Nov", "Sun 15 Nov", "Mon 16 Nov"]
    series = [("ACME AirFry 5", [3, 5, 0]), ("ACME", [1, 0, 2]), ("Other topics", [0, 1, 1])]
    chart = trend_charts.topics(days, series)
    _validates(chart.spec)
    svg = _renders(chart.spec)
    for name, _ in series:
        assert name in svg  # the legend names every topic
    assert chart.columns == ["Day", "ACME AirFry 5", "ACME", "Other topics"]
    assert chart.rows == [[d, *(posts[i] for _, posts in series)] for i, d in enumerate(days)]
    assert chart.points == sum(1 for _, posts in series for n in posts if n)
    colours = chart.spec["encoding"]["color"]["scale"]["range"]
    assert colours[-1] == trend_charts.OTHER_COLOUR


@pytest.mark.parametrize("weeks", [[("02 Nov", 2, 0.5), ("09 Nov", 0, None), ("16 Nov", 3, -0.4)]])
def test_weekly_sentiment_leaves_gaps_and_tabulates_weeks_with_posts(
    weeks: list[tuple[str, int, float | None]],
) -> None:
    chart = trend_charts.sentiment_weeks(weeks)
    _validates(chart.spec)
    svg = _renders(chart.spec)
    assert [v["week"] for v in chart.spec["datasets"][charts.DATA]] == ["02 Nov", "16 Nov"]
    assert chart.rows == [["02 Nov", 2, "+0.50"], ["16 Nov", 3, "-0.40"]]
    # Every week is on the axis, the empty one too.
    assert all(re.search(rf">{w}<", svg) for w, _, _ in weeks)
