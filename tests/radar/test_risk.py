"""Story risk: negativity gates amplification; the components explain the score."""

from __future__ import annotations

import pytest

from townhall.radar.risk import WEIGHTS, StoryFacts, story_risk

BASE = StoryFacts(
    posts=1, negative=1, max_followers=0, press=False, influencer=False,
    channels=1, groups=0, with_media=0, p_viral=0.0,
)  # fmt: skip


def test_weights_sum_to_one():
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_a_lone_negative_post_is_low_risk():
    risk = story_risk(BASE)
    assert risk.score == 0.0 and risk.negativity == 0.5


def test_everything_at_once_is_full_risk():
    facts = StoryFacts(
        posts=100, negative=90, max_followers=2_000_000, press=True, influencer=True,
        channels=4, groups=2, with_media=5, p_viral=1.0,
    )  # fmt: skip
    risk = story_risk(facts)
    assert risk.score == pytest.approx(1.0)
    assert set(risk.contributions) == set(WEIGHTS)
    assert "virality 0.25" in risk.why()


def test_a_positive_story_that_spreads_is_not_a_crisis():
    facts = StoryFacts(
        posts=100, negative=0, max_followers=2_000_000, press=True, influencer=True,
        channels=4, groups=2, with_media=5, p_viral=1.0,
    )  # fmt: skip
    assert story_risk(facts).score == 0.0


def test_each_amplifier_raises_risk():
    from dataclasses import replace

    base = replace(BASE, posts=5, negative=4)
    for change in (
        {"p_viral": 0.8}, {"posts": 20, "negative": 16}, {"max_followers": 100_000},
        {"press": True}, {"influencer": True}, {"channels": 3}, {"with_media": 2},
    ):  # fmt: skip
        assert story_risk(replace(base, **change)).score > story_risk(base).score, change
