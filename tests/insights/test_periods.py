"""Periods in a zone: whole local days, the period before, and day or week buckets over DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from townhall.insights.periods import Grain, Period, change, choose, grain_for, last_days

LONDON = ZoneInfo("Europe/London")


def test_last_days_end_today_and_the_previous_period_has_the_same_length() -> None:
    period = last_days(date(2026, 11, 20), 7, LONDON)
    assert (period.first, period.last, period.days) == (date(2026, 11, 14), date(2026, 11, 20), 7)
    before = period.previous()
    assert (before.first, before.last, before.days) == (date(2026, 11, 7), date(2026, 11, 13), 7)
    assert before.end == period.start


def test_the_day_the_clocks_go_back_has_25_hours() -> None:
    # 25 Oct 2026: London leaves BST (UTC+1) at 02:00 for GMT.
    period = Period(date(2026, 10, 24), date(2026, 10, 26), LONDON)
    days = period.buckets(Grain.DAY)
    lengths = [(b.end - b.start) / timedelta(hours=1) for b in days]
    assert lengths == [24, 25, 24]
    assert days[0].start == datetime(2026, 10, 23, 23, 0, tzinfo=UTC)
    assert days[2].start == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)
    assert period.end == days[-1].end


def test_the_day_the_clocks_go_forward_has_23_hours() -> None:
    # 28 Mar 2027: London goes from GMT to BST at 01:00.
    period = Period(date(2027, 3, 27), date(2027, 3, 29), LONDON)
    lengths = [(b.end - b.start) / timedelta(hours=1) for b in period.buckets()]
    assert lengths == [24, 23, 24]
    assert period.buckets()[2].start == datetime(2027, 3, 28, 23, 0, tzinfo=UTC)


def test_weeks_run_monday_to_sunday_clipped_to_the_period() -> None:
    period = Period(date(2026, 11, 4), date(2026, 11, 20), LONDON)  # a Wednesday to a Friday
    weeks = period.buckets(Grain.WEEK)
    assert [(w.first, w.last) for w in weeks] == [
        (date(2026, 11, 4), date(2026, 11, 8)),
        (date(2026, 11, 9), date(2026, 11, 15)),
        (date(2026, 11, 16), date(2026, 11, 20)),
    ]
    assert all(a.end == b.start for a, b in pairwise(weeks))


def test_choose_swaps_a_reversed_range_and_clips_a_long_one() -> None:
    today = date(2026, 11, 20)
    swapped = choose(today, LONDON, date(2026, 11, 10), date(2026, 11, 1))
    assert (swapped.first, swapped.last) == (date(2026, 11, 1), date(2026, 11, 10))
    long = choose(today, LONDON, date(2020, 1, 1), today)
    assert long.days == 366 and long.last == today
    assert choose(today, LONDON, None, None, 30).days == 30


def test_grain_and_change() -> None:
    assert grain_for(Period(date(2026, 1, 1), date(2026, 3, 31), LONDON)) is Grain.DAY
    assert grain_for(Period(date(2026, 1, 1), date(2026, 6, 30), LONDON)) is Grain.WEEK
    assert change(118, 100) == 0.18
    assert change(5, 0) is None
