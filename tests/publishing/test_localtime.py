"""Dates typed by people: a real day in range, or a sentence saying what is wrong."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from townhall.publishing import localtime


def test_a_day_in_range_is_read() -> None:
    assert localtime.parse_day(" 2026-12-02 ") == date(2026, 12, 2)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("9999-12-31", "out of range"),
        ("0001-01-01", "out of range"),
        ("2026-13-01", "not a date"),
        ("2026-W48-1", "not a date"),
        ("20261202", "not a date"),
        ("٢٠٢٦-١٢-٠٢", "not a date"),
        ("", "not a date"),
    ],
)
def test_other_text_is_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        localtime.parse_day(text)


def test_the_edges_leave_room_for_a_month_grid_and_a_zone() -> None:
    # The views around a day reach up to a week past the month; the far zones are 14 hours off.
    for day in (localtime.EARLIEST, localtime.LATEST):
        first, last = localtime.month_grid(day)
        where = localtime.zone("Pacific/Kiritimati")
        localtime.day_bounds(first - timedelta(days=1), where)
        localtime.day_bounds(last + timedelta(days=1), localtime.zone("Etc/GMT+12"))
