"""Key results against their targets (pure): tallies add up, weeks run on, the line from the
start value to the target, the four statuses and the sentence that explains each."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from townhall.insights.charts import median_minutes
from townhall.insights.objective_chart import kpi_chart
from townhall.insights.objectives import (
    Status,
    Tally,
    judge,
    line_at,
    series,
    start_value,
    value_of,
)
from townhall.org.objectives import Kpi

STARTS = date(2026, 11, 1)
BY = date(2027, 3, 31)


def kpi(**fields: Any) -> Kpi:
    base: dict[str, Any] = {"id": "k", "metric": "negative_share", "target": 0.15, "by": BY}
    return Kpi.model_validate({**base, **fields})


def test_the_sentence_of_the_issue() -> None:
    halfway = STARTS + (BY - STARTS) / 2
    got = judge(kpi(), starts=STARTS, today=halfway, value=0.21, first=0.21 + 0.21 - 0.15)
    # The line runs from 27% to 15%: halfway it is at 21%, so 21% is on it (on track).
    assert got.status is Status.ON_TRACK
    got = judge(kpi(), starts=STARTS, today=halfway, value=0.21, first=0.21)
    line = 0.21 + (0.15 - 0.21) * ((halfway - STARTS).days / (BY - STARTS).days)
    assert got.status is Status.BEHIND
    assert got.line == pytest.approx(line)
    assert got.words == (
        f"Behind: 21% negative, the line to 15% by 31 Mar 2027 is at {line:.0%} today."
    )
    assert f"{line:.0%}" == "18%"


@pytest.mark.parametrize(
    ("direction", "value", "first", "expected"),
    [
        ("up", 900.0, 0.0, Status.ON_TRACK),
        ("up", 10.0, 0.0, Status.BEHIND),
        ("up", 1300.0, 0.0, Status.ACHIEVED),
        ("down", 1500.0, 2000.0, Status.ON_TRACK),
        ("down", 1900.0, 2000.0, Status.BEHIND),
        ("down", 1000.0, 2000.0, Status.ACHIEVED),
    ],
)
def test_status_against_the_line(
    direction: str, value: float, first: float, expected: Status
) -> None:
    target = 1000 if direction == "down" else 1200
    result = kpi(metric="mentions", target=target, direction=direction)
    today = STARTS + timedelta(days=60)
    line = line_at(STARTS, first, BY, result.target, today)
    got = judge(result, starts=STARTS, today=today, value=value, first=first)
    assert got.status is expected
    if expected is not Status.ACHIEVED:
        assert got.line == pytest.approx(line)
        right_side = value >= line if direction == "up" else value <= line
        assert (got.status is Status.ON_TRACK) == right_side


def test_no_data_not_started_and_past_the_date() -> None:
    assert judge(kpi(), starts=STARTS, today=STARTS, value=None, first=None).status is (
        Status.NO_DATA
    )
    early = judge(kpi(), starts=STARTS, today=STARTS - timedelta(days=1), value=0.5, first=0.5)
    assert early.status is Status.NO_DATA
    assert "starts on 1 Nov 2026" in early.words
    late = judge(kpi(), starts=STARTS, today=BY + timedelta(days=1), value=0.2, first=0.3)
    assert late.status is Status.BEHIND
    assert "the target was at most 15% by 31 Mar 2027" in late.words


def test_line_holds_at_its_ends() -> None:
    assert line_at(STARTS, 10, BY, 20, STARTS - timedelta(days=5)) == 10
    assert line_at(STARTS, 10, BY, 20, BY + timedelta(days=5)) == 20
    mid = STARTS + timedelta(days=30)
    assert line_at(STARTS, 10, BY, 20, mid) == pytest.approx(10 + 10 * 30 / (BY - STARTS).days)


def test_tallies_add_and_weeks_run_on() -> None:
    weeks = [
        Tally(2, 10, rows=10),
        Tally(),
        Tally(3, 5, rows=5),
    ]
    share = kpi()
    assert series(share, weeks) == [0.2, None, 0.6]
    running = kpi(window="total")
    assert series(running, weeks) == [0.2, 0.2, pytest.approx(5 / 15)]
    counts = kpi(metric="mentions", target=100)
    assert series(counts, [Tally(4, 4), Tally(), Tally(1, 1)]) == [4, 4, 5]
    assert start_value(counts, [4, 4, 5]) == 0.0  # a running count starts from nothing
    assert start_value(share, [None, 0.3, 0.2]) == 0.3  # the first week measured
    assert start_value(kpi(baseline=0.25), [0.3]) == 0.25


def test_readings_sum_or_the_latest_stands() -> None:
    summed = kpi(metric="reading", target=100, unit="clicks")
    latest = kpi(metric="reading", target=100, aggregate="latest")
    weeks = [
        Tally(30, rows=2, latest=(date(2026, 11, 3), 20.0)),
        Tally(),
        Tally(5, rows=1, latest=(date(2026, 11, 17), 5.0)),
    ]
    assert series(summed, weeks) == [30, 30, 35]
    assert series(latest, weeks) == [20, 20, 5]
    assert value_of(summed, Tally()) is None  # no reading is no data, not zero


def test_first_reply_is_the_median_of_the_minutes() -> None:
    minutes = {3: 2, 10: 1, 45: 1}
    reply = kpi(metric="first_reply_minutes", target=30)
    assert value_of(reply, Tally(minutes=minutes, rows=4)) == median_minutes(minutes)
    assert value_of(reply, Tally(minutes={3: 1}) + Tally(minutes={3: 1, 90: 1})) == 3
    assert value_of(reply, Tally()) is None


def test_chart_draws_the_weeks_and_the_line() -> None:
    target = kpi()
    weeks = [(STARTS, 0.3), (STARTS + timedelta(days=7), None), (STARTS + timedelta(7 * 2), 0.2)]
    chart = kpi_chart(target, weeks, (STARTS, 0.3))
    values = chart.spec["datasets"]["figures"]
    measured = [v for v in values if v["series"] == "Measured"]
    assert [v["value"] for v in measured] == [0.3, 0.2]
    assert [v["value"] for v in values if v["series"] != "Measured"] == [0.3, target.target]
    assert chart.points == 2
    assert [r[1] for r in chart.rows] == ["30%", "", "20%"]
