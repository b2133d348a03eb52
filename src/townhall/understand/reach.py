"""Reach tier of an author from their follower count (pure)."""

from __future__ import annotations

from typing import Literal

ReachTier = Literal["nano", "micro", "mid", "macro", "mega"]

#: Upper bounds (exclusive) in followers: < 1k nano, < 10k micro, < 100k mid, < 1M macro, else mega.
TIER_BOUNDS: tuple[tuple[int, ReachTier], ...] = (
    (1_000, "nano"),
    (10_000, "micro"),
    (100_000, "mid"),
    (1_000_000, "macro"),
)


def reach_tier(followers: int, verified: bool = False) -> ReachTier:
    """Tier from a follower count (negative counts count as 0); verified bumps nano to micro."""
    for bound, tier in TIER_BOUNDS:
        if followers < bound:
            return "micro" if verified and tier == "nano" else tier
    return "mega"
