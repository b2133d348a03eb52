"""The figures proposals are found in, counted by the database (GROUP BY) for one period.

Every query works on SQLite and PostgreSQL. Topics are a JSON list on each post, which the two
databases unnest differently: posts are grouped by the list's text instead (a period holds a
few hundred distinct combinations of topics, not one per post) and the lists are split here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, case, cast, func, select
from sqlalchemy.orm import Session

from townhall.models import (
    Campaign,
    InsightCard,
    OutboxKind,
    OutboxPost,
    OutboxStatus,
    PostRecord,
)

IN_CHUNK = 500
"""How many ids go in one ``IN (...)`` list."""


@dataclass(frozen=True)
class TopicCounts:
    """Posts on a topic in a period, and how many of them were negative."""

    negative: int
    total: int


@dataclass(frozen=True)
class OurPost:
    """One of our published posts (not a reply to someone) and the replies it drew."""

    outbox_id: int
    campaign_id: int | None
    replies: int


def country_counts(session: Session, start: datetime, end: datetime) -> dict[tuple[str, str], int]:
    """(channel, country) → posts created in [start, end) whose author's country is known."""
    rows = session.execute(
        select(PostRecord.channel, PostRecord.country, func.count(PostRecord.id))
        .where(
            PostRecord.created_at >= start,
            PostRecord.created_at < end,
            PostRecord.country.is_not(None),
        )
        .group_by(PostRecord.channel, PostRecord.country)
    )
    return {(channel, country): count for channel, country, count in rows if country}


def _topics_of(text: str | None) -> list[str]:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [t for t in value if isinstance(t, str)] if isinstance(value, list) else []


def topic_counts(session: Session, start: datetime, end: datetime) -> dict[str, TopicCounts]:
    """Topic → its posts created in [start, end) and the negative ones among them."""
    topics_text = cast(PostRecord.topics, Text)
    negative = func.sum(case((PostRecord.sentiment_label == "negative", 1), else_=0))
    rows = session.execute(
        select(topics_text, func.count(PostRecord.id), negative)
        .where(PostRecord.created_at >= start, PostRecord.created_at < end)
        .group_by(topics_text)
    )
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for text, count, negatives in rows:
        for topic in set(_topics_of(text)):
            totals[topic][0] += int(negatives or 0)
            totals[topic][1] += int(count)
    return {topic: TopicCounts(n, t) for topic, (n, t) in totals.items()}


def our_posts(session: Session, start: datetime, end: datetime) -> list[OurPost]:
    """Our posts published in [start, end) (replies and private messages left out) with the
    replies each drew among the posts Townhall heard."""
    published = session.execute(
        select(OutboxPost.id, OutboxPost.campaign_id, OutboxPost.channel, OutboxPost.remote_id)
        .where(
            OutboxPost.status == OutboxStatus.PUBLISHED,
            OutboxPost.kind.in_([OutboxKind.POST, OutboxKind.TAKEOVER]),
            OutboxPost.published_at >= start,
            OutboxPost.published_at < end,
        )
        .order_by(OutboxPost.id)
    )
    posts = [
        (i, c, f"{channel}:{remote}" if remote else None) for i, c, channel, remote in published
    ]
    post_ids = [p for _, _, p in posts if p]
    replies: dict[str, int] = {}
    for chunk in range(0, len(post_ids), IN_CHUNK):
        ids = post_ids[chunk : chunk + IN_CHUNK]
        counted = session.execute(
            select(PostRecord.reply_to, func.count(PostRecord.id))
            .where(PostRecord.reply_to.in_(ids))
            .group_by(PostRecord.reply_to)
        )
        replies.update({reply_to: count for reply_to, count in counted if reply_to})
    return [OurPost(i, c, replies.get(p, 0) if p else 0) for i, c, p in posts]


def campaigns_by_id(session: Session, ids: Sequence[int]) -> dict[int, Campaign]:
    """The campaigns with these ids."""
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(Campaign).where(Campaign.id.in_(ids)))}


def known_fingerprints(session: Session, fingerprints: Sequence[str]) -> set[str]:
    """Those of ``fingerprints`` some card carries already."""
    if not fingerprints:
        return set()
    rows = session.scalars(
        select(InsightCard.fingerprint).where(InsightCard.fingerprint.in_(list(fingerprints)))
    )
    return {f for f in rows if f}
