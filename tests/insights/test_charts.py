"""Chart specs validate against the Vega-Lite schema (Altair's ``to_dict``), render offline,
and carry the same figures as their tables."""

from __future__ import annotations

import statistics

import altair as alt
import jsonschema
import pytest
import vl_convert

from townhall.insights import charts

DAYS = [
    ("Sat 14 Nov", "positive", 3),
    ("Sat 14 Nov", "negative", 1),
    ("Sun 15 Nov", "neutral", 2),
    ("Sun 15 Nov", "negative", 4),
]


def _every_chart() -> list[charts.Chart]:
    return [
        charts.volume(DAYS),
        charts.health([("Sat 14 Nov", 0.75), ("Sun 15 Nov", None)]),
        charts.bars(
            "voice", "Share of voice", [("ACME", 12), ("Globex", 3)], label="Who", measure="Posts"
        ),
        charts.bars(
            "sla",
            "SLA",
            [("Customer service", 0.8)],
            label="Department",
            measure="In time",
            percent=True,
        ),
        charts.durations(
            "first_reply", "First reply", [("Customer service", 4, 12.5, 10.0)], label="Department"
        ),
        charts.crises(
            [("02 Nov", "open", 1), ("09 Nov", "advocate", 2)], ["02 Nov", "09 Nov", "16 Nov"]
        ),
        charts.campaigns([("Winter sale", 3, {"positive": 2, "negative": 1})]),
    ]


@pytest.mark.parametrize("chart", _every_chart(), ids=lambda c: c.name)
def test_every_spec_validates_and_renders(chart: charts.Chart) -> None:
    # Round trip through Altair: from_dict validates against the Vega-Lite schema.
    kind = alt.LayerChart if "layer" in chart.spec else alt.Chart
    assert kind.from_dict(chart.spec).to_dict() == chart.spec
    svg = vl_convert.vegalite_to_svg(chart.spec)
    assert svg.lstrip().startswith("<svg") and "<path" in svg
    assert len(chart.columns) == len(chart.rows[0])


def test_an_invalid_spec_is_refused() -> None:
    with pytest.raises(jsonschema.ValidationError):
        alt.Chart.from_dict({"mark": "nonsense", "data": {"values": []}})


def test_volume_table_sums_each_day() -> None:
    chart = charts.volume(DAYS)
    totals: dict[str, int] = {}
    for day, _, n in DAYS:
        totals[day] = totals.get(day, 0) + n
    assert {row[0]: row[-1] for row in chart.rows} == totals
    assert chart.points == sum(1 for _, _, n in DAYS if n)
    assert charts.volume([("Sat 14 Nov", "positive", 0)]).points == 0


@pytest.mark.parametrize("minutes", [[5], [1, 9], [3, 3, 7, 20], [0, 0, 1], [2, 4, 4, 4, 90, 91]])
def test_the_median_of_a_minute_histogram(minutes: list[int]) -> None:
    histogram: dict[int, int] = {}
    for m in minutes:
        histogram[m] = histogram.get(m, 0) + 1
    assert charts.median_minutes(histogram) == statistics.median(minutes)
    assert charts.median_minutes({}) == 0.0
