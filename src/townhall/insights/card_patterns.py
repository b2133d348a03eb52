"""The patterns Townhall looks for before proposing a card: pure functions over the counts of
two periods (the last 7 days and the 7 before), with their thresholds.

Shares are compared as exact fractions, so a threshold holds exactly: 10 points is 10 points,
not 9.999… The counts come from ``card_queries``; ``proposals`` words the cards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from townhall.insights.card_queries import OurPost, TopicCounts

WINDOW = timedelta(days=7)
"""Each period compared: the last 7 days, and the 7 before."""

COUNTRY_GAIN = Fraction(10, 100)
"""Ten points of share: a week's posts move a country's share by a few points on their own."""
COUNTRY_MIN_POSTS = 20
"""Below 20 posts a couple of chatty authors make a country look like a new audience."""

NEGATIVE_JUMP = Fraction(15, 100)
"""Fifteen points of negative share: past the week-to-week swing of a steady topic."""
NEGATIVE_MIN_POSTS = 15
"""Below 15 posts on a topic, three angry ones would be a "jump"."""

CAMPAIGN_FACTOR = Fraction(3, 2)
"""1.5× the replies per post of our other posts: clearly better, not a good day."""
CAMPAIGN_MIN_POSTS = 3
"""At least 3 posts on each side: one lucky post is not a campaign that works."""


# -- the periods ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Periods:
    """The last 7 days [start, end) and the 7 before [before, start), and the week label."""

    before: datetime
    start: datetime
    end: datetime
    label: str
    """The ISO week of ``end`` ("2026-W47"): the period part of a fingerprint."""


def periods(now: datetime) -> Periods:
    """The two periods compared at ``now`` (UTC, aware)."""
    year, week, _ = now.isocalendar()
    return Periods(now - 2 * WINDOW, now - WINDOW, now, f"{year}-W{week:02d}")


def _share(part: int, whole: int) -> Fraction:
    return Fraction(part, whole) if whole else Fraction(0)


def percent(share: Fraction) -> int:
    """A share as a whole percentage (38)."""
    return round(share * 100)


# -- audience_country -------------------------------------------------------------------------
@dataclass(frozen=True)
class CountryShift:
    """A country whose share of a channel's located posts grew."""

    channel: str
    country: str
    posts: int
    total: int
    posts_before: int
    total_before: int

    @property
    def share(self) -> Fraction:
        """Its share of the channel's located posts in the last 7 days."""
        return _share(self.posts, self.total)

    @property
    def share_before(self) -> Fraction:
        """Its share in the 7 days before."""
        return _share(self.posts_before, self.total_before)


def country_shifts(
    now: Mapping[tuple[str, str], int], before: Mapping[tuple[str, str], int]
) -> list[CountryShift]:
    """The (channel, country) pairs whose share grew by ``COUNTRY_GAIN`` with at least
    ``COUNTRY_MIN_POSTS`` posts (a channel with no located posts before is skipped: no base)."""
    totals: dict[str, int] = {}
    totals_before: dict[str, int] = {}
    for (channel, _), count in now.items():
        totals[channel] = totals.get(channel, 0) + count
    for (channel, _), count in before.items():
        totals_before[channel] = totals_before.get(channel, 0) + count
    found = []
    for (channel, country), count in sorted(now.items()):
        if count < COUNTRY_MIN_POSTS or not totals_before.get(channel):
            continue
        shift = CountryShift(
            channel,
            country,
            count,
            totals[channel],
            before.get((channel, country), 0),
            totals_before[channel],
        )
        if shift.share - shift.share_before >= COUNTRY_GAIN:
            found.append(shift)
    return found


# -- negative_topic ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NegativeJump:
    """A topic whose negative share jumped."""

    topic: str
    now: TopicCounts
    before: TopicCounts

    @property
    def share(self) -> Fraction:
        """Negative share in the last 7 days."""
        return _share(self.now.negative, self.now.total)

    @property
    def share_before(self) -> Fraction:
        """Negative share in the 7 days before."""
        return _share(self.before.negative, self.before.total)


def negative_jumps(
    now: Mapping[str, TopicCounts], before: Mapping[str, TopicCounts]
) -> list[NegativeJump]:
    """Topics whose negative share grew by ``NEGATIVE_JUMP`` over at least
    ``NEGATIVE_MIN_POSTS`` posts (a topic nobody talked about before is skipped: no base)."""
    found = []
    for topic, counts in sorted(now.items()):
        earlier = before.get(topic)
        if counts.total < NEGATIVE_MIN_POSTS or earlier is None or not earlier.total:
            continue
        jump = NegativeJump(topic, counts, earlier)
        if jump.share - jump.share_before >= NEGATIVE_JUMP:
            found.append(jump)
    return found


# -- campaign_outperformed --------------------------------------------------------------------
@dataclass(frozen=True)
class Outperformer:
    """A campaign whose posts drew more replies per post than our other posts."""

    campaign_id: int
    posts: int
    replies: int
    other_posts: int
    other_replies: int

    @property
    def rate(self) -> Fraction:
        """Replies per post of the campaign's posts."""
        return _share(self.replies, self.posts)

    @property
    def other_rate(self) -> Fraction:
        """Replies per post of our other posts."""
        return _share(self.other_replies, self.other_posts)


def outperformers(posts: Sequence[OurPost]) -> list[Outperformer]:
    """Campaigns with ``CAMPAIGN_MIN_POSTS`` posts or more drawing ``CAMPAIGN_FACTOR`` times
    the replies per post of the other posts (at least ``CAMPAIGN_MIN_POSTS`` of them)."""
    all_posts, all_replies = len(posts), sum(p.replies for p in posts)
    per: dict[int, list[int]] = {}
    for post in posts:
        if post.campaign_id is not None:
            counts = per.setdefault(post.campaign_id, [0, 0])
            counts[0] += 1
            counts[1] += post.replies
    found = []
    for campaign_id, (count, replies) in sorted(per.items()):
        found_one = Outperformer(
            campaign_id, count, replies, all_posts - count, all_replies - replies
        )
        if count < CAMPAIGN_MIN_POSTS or found_one.other_posts < CAMPAIGN_MIN_POSTS:
            continue
        if replies and found_one.rate >= CAMPAIGN_FACTOR * found_one.other_rate:
            found.append(found_one)
    return found
