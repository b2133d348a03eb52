"""Reach tiers from follower counts."""

from __future__ import annotations

import pytest

from townhall.understand.reach import reach_tier


@pytest.mark.parametrize(
    ("followers", "tier"),
    [
        (0, "nano"),
        (999, "nano"),
        (1_000, "micro"),
        (9_999, "micro"),
        (10_000, "mid"),
        (99_999, "mid"),
        (100_000, "macro"),
        (999_999, "macro"),
        (1_000_000, "mega"),
        (10_000_000_000, "mega"),
        (-5, "nano"),
    ],
)
def test_tiers(followers: int, tier: str) -> None:
    assert reach_tier(followers) == tier


def test_verified_bumps_nano_only() -> None:
    assert reach_tier(10, verified=True) == "micro"
    assert reach_tier(50_000, verified=True) == "mid"
