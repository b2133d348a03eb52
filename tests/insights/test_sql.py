"""``bucket_of`` (a CASE nested as a binary search) finds the bucket ``bisect`` finds."""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, literal, select

from townhall.insights.sql import bucket_of
from townhall.models.base import UTCDateTime

ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
ENGINE = create_engine("sqlite://")


@given(
    gaps=st.lists(st.integers(1, 48), min_size=1, max_size=60),
    moments=st.lists(st.integers(0, 60 * 48), min_size=1, max_size=20),
)
def test_bucket_of_finds_the_bucket_a_moment_falls_in(gaps: list[int], moments: list[int]):
    starts = [ORIGIN]
    for gap in gaps:
        starts.append(starts[-1] + timedelta(hours=gap))
    with ENGINE.connect() as conn:
        for hours in moments:
            moment = ORIGIN + timedelta(hours=hours)
            found = conn.scalar(select(bucket_of(literal(moment, UTCDateTime()), starts)))
            assert found == max(bisect_right(starts, moment) - 1, 0)
