"""The demo opens on a working day whenever it is started."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from townhall.cli.serve import demo_now

LONDON = "Europe/London"


@pytest.mark.parametrize(
    ("real", "expected"),
    [
        # A working hour: the demo plays now.
        ("2026-12-02T10:30:00+00:00", "2026-12-02T10:30:00+00:00"),
        # Wednesday evening: that day at 11:00.
        ("2026-12-02T20:43:00+00:00", "2026-12-02T11:00:00+00:00"),
        # Wednesday before dawn: Tuesday at 11:00.
        ("2026-12-02T03:00:00+00:00", "2026-12-01T11:00:00+00:00"),
        # Saturday and Sunday: Friday at 11:00.
        ("2026-12-05T12:00:00+00:00", "2026-12-04T11:00:00+00:00"),
        ("2026-12-06T23:59:00+00:00", "2026-12-04T11:00:00+00:00"),
        # Monday 07:00: the Friday before.
        ("2026-12-07T07:00:00+00:00", "2026-12-04T11:00:00+00:00"),
        # Summer time: 11:00 in London is 10:00 UTC.
        ("2027-06-09T19:00:00+00:00", "2027-06-09T10:00:00+00:00"),
    ],
)
def test_the_demo_day_is_a_working_day(real: str, expected: str) -> None:
    assert demo_now(LONDON, datetime.fromisoformat(real)) == datetime.fromisoformat(expected)


def test_working_hours_are_read_in_the_company_zone() -> None:
    # 19:30 UTC is 08:30 the next morning in Auckland: before work, so the day before at 11:00.
    real = datetime(2026, 12, 2, 19, 30, tzinfo=UTC)  # Thursday 08:30 in Auckland
    assert demo_now("Pacific/Auckland", real) == datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
