"""How Townhall judges the voices it hears (pure: no database, no clock).

An author's figures over a period are their *reach* (the largest follower count seen on their
posts), their *engagement* (their posts about us plus the replies and reshares those posts drew
from other people) and their *sentiment toward the brand* (the mean sentiment score, −1..1, of
their posts about us). A *voice* is an author worth a look: at least ``MIN_REACH`` followers, or
verified. A *new voice* is a voice whose reach or engagement rose against the previous period
of the same length, by the thresholds below (the page explains them in these words).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

OUR_TOPIC_KINDS = ("brand", "product")
"""Topics that are about us (``competitor:`` topics are about someone else)."""

MIN_REACH = 1_000
"""Followers from which an author counts as a voice (verified authors always do)."""

REACH_GROWTH = 1.5
"""A new voice's reach is at least this many times the previous period's (or was not seen)."""

ENGAGEMENT_GROWTH = 2.0
"""…or their engagement is at least this many times the previous period's…"""

MIN_ENGAGEMENT = 5
"""…and at least this many posts and responses (so that 1 → 2 is not news)."""

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Figures:
    """One author's figures over a period (reach in followers, engagement in posts)."""

    reach: int = 0
    engagement: int = 0


def is_voice(reach: int, verified: bool) -> bool:
    """Whether an author with ``reach`` followers counts as a voice."""
    return verified or reach >= MIN_REACH


def reach_rose(current: Figures, previous: Figures) -> bool:
    """Whether reach grew by ``REACH_GROWTH`` (an author not heard before has grown from 0)."""
    return current.reach > 0 and current.reach >= REACH_GROWTH * previous.reach


def engagement_rose(current: Figures, previous: Figures) -> bool:
    """Whether engagement reached ``MIN_ENGAGEMENT`` and grew by ``ENGAGEMENT_GROWTH``."""
    return (
        current.engagement >= MIN_ENGAGEMENT
        and current.engagement >= ENGAGEMENT_GROWTH * previous.engagement
    )


def is_new_voice(current: Figures, previous: Figures, verified: bool = False) -> bool:
    """Whether a voice's reach or engagement on our topics rose against the previous period."""
    if not is_voice(current.reach, verified):
        return False
    return reach_rose(current, previous) or engagement_rose(current, previous)


def why_new(current: Figures, previous: Figures) -> str:
    """Why an author is a new voice, in one sentence."""
    if previous == Figures():
        return "Not heard in the previous period"
    reasons = []
    if reach_rose(current, previous):
        reasons.append(f"followers {previous.reach:,} → {current.reach:,}")
    if engagement_rose(current, previous):
        reasons.append(f"engagement {previous.engagement:,} → {current.engagement:,}")
    sentence = "; ".join(reasons)
    return sentence[:1].upper() + sentence[1:]


def explanation() -> str:
    """The new-voice rule as the page states it."""
    return (
        f"A new voice has at least {MIN_REACH:,} followers (or is verified), and either their "
        f"follower count is at least {REACH_GROWTH:g}× the previous period's (or they were not "
        f"heard then), or their engagement reached {MIN_ENGAGEMENT} and is at least "
        f"{ENGAGEMENT_GROWTH:g}× the previous period's."
    )


def is_our_topic(topic: str) -> bool:
    """Whether ``topic`` (``product:airfry_5``) is about us."""
    return topic.partition(":")[0] in OUR_TOPIC_KINDS


def topic_counts(topic_lists: Iterable[Iterable[str]]) -> list[tuple[str, int]]:
    """How many posts carried each topic, the most frequent first (ties by topic)."""
    counts: Counter[str] = Counter()
    for topics in topic_lists:
        counts.update(set(topics))
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


@dataclass(frozen=True)
class WeekSentiment:
    """The mean sentiment (−1..1) of an author's posts about us in one week."""

    starts: datetime
    posts: int
    mean: float | None


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 of ``moment``'s week (in ``moment``'s zone: UTC for stored times)."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=midnight.weekday())


def weekly_sentiment(
    scores: Iterable[tuple[datetime, float | None]], start: datetime, weeks: int
) -> list[WeekSentiment]:
    """Posts' sentiment scores bucketed in ``weeks`` weeks from ``start`` (later weeks first)."""
    sums = [0.0] * weeks
    scored = [0] * weeks
    posts = [0] * weeks
    for at, score in scores:
        index = int((at - start) // WEEK)
        if not 0 <= index < weeks:
            continue
        posts[index] += 1
        if score is not None:
            sums[index] += score
            scored[index] += 1
    return [
        WeekSentiment(start + i * WEEK, posts[i], sums[i] / scored[i] if scored[i] else None)
        for i in reversed(range(weeks))
    ]
