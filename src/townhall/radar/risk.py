"""Risk of a story (an original post with its replies and reshares): a 0..1 score with reasons.

``score = gate × Σ weight · component``: the components (each 0..1) say how far the story can
reach; the gate (negativity, saturating at half the posts negative) says whether it hurts. A
positive story that spreads is an opportunity, not a crisis, so its risk stays low.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WEIGHTS: dict[str, float] = {
    "virality": 0.25,  # forecast P(the story passes the viral threshold)
    "engagement": 0.25,  # replies and reshares so far (log scale, 20 → 1)
    "reach": 0.10,  # the widest author's followers (log scale, 1M → 1)
    "media": 0.10,  # press inquiry, an rss/news channel or a verified author is involved
    "influencer": 0.10,  # an author with ≥ 50k followers
    "spread": 0.10,  # other channels and groups than the original one
    "evidence": 0.10,  # posts with photos or other media (3 → 1)
}
"""Weight of each component; they sum to 1."""
INFLUENCER_FOLLOWERS = 50_000
"""Followers from which an author counts as an influencer."""


@dataclass(frozen=True)
class StoryFacts:
    """What is known of a story: counts of posts, followers, and who and where it involves."""

    posts: int
    negative: int
    max_followers: int
    press: bool
    influencer: bool
    channels: int
    groups: int
    with_media: int
    p_viral: float


@dataclass(frozen=True)
class Risk:
    """A story's risk 0..1, its negativity gate and each component's contribution to it."""

    score: float
    negativity: float
    contributions: dict[str, float]

    def why(self, top: int = 3) -> str:
        """The largest contributions, in words."""
        ranked = sorted(self.contributions.items(), key=lambda kv: -kv[1])[:top]
        parts = ", ".join(f"{name} {value:.2f}" for name, value in ranked if value > 0)
        return f"risk {self.score:.2f} (negativity {self.negativity:.0%}; {parts or 'nothing'})"


def components(facts: StoryFacts) -> dict[str, float]:
    """Each component of the risk, 0..1."""
    return {
        "virality": min(max(facts.p_viral, 0.0), 1.0),
        "engagement": min(math.log1p(max(facts.posts - 1, 0)) / math.log(20), 1.0),
        "reach": min(math.log10(1 + max(facts.max_followers, 0)) / 6, 1.0),
        "media": 1.0 if facts.press else 0.0,
        "influencer": 1.0 if facts.influencer else 0.0,
        "spread": min((max(facts.channels - 1, 0) + max(facts.groups - 1, 0)) / 3, 1.0),
        "evidence": min(facts.with_media / 3, 1.0),
    }


def story_risk(facts: StoryFacts) -> Risk:
    """The risk of a story: negativity gate × weighted components."""
    negativity = facts.negative / (facts.posts + 1) if facts.posts > 0 else 0.0
    gate = min(negativity / 0.5, 1.0)
    contributions = {
        name: round(gate * WEIGHTS[name] * value, 4) for name, value in components(facts).items()
    }
    return Risk(min(sum(contributions.values()), 1.0), negativity, contributions)
