"""Volume per topic over time: one GROUP BY query, and the pure split into the top topics.

``PostRecord.topics`` is a JSON list. Rather than a JSON function (spelled differently by
SQLite and PostgreSQL), the query groups by bucket and by the list's text, so the database
returns one row per bucket and distinct list (a few hundred rows, however many posts), and
Python splits each list into its topics. When the rollups can answer the filter, the same
rows come from the ``topics`` rollups instead (one row per hour, channel and distinct list:
``metrics.topic_lists_rolled``). Post filters mean what they mean in
``townhall.insights.metrics`` (public posts, company-wide; a department filter keeps posts
routed to it).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVarTuple

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from townhall.insights import metrics
from townhall.insights.metrics import Filter, posts_in
from townhall.insights.periods import Bucket
from townhall.insights.sql import bucket_of
from townhall.models import PostRecord, PostRollup

TOP_TOPICS = 5
"""How many topics a chart draws on their own; the rest are summed as other topics."""

Row = TypeVarTuple("Row")


@dataclass(frozen=True)
class TopicLists:
    """Posts per bucket (its index) carrying one list of topics."""

    bucket: int
    topics: tuple[str, ...]
    posts: int


def topic_lists(session: Session, flt: Filter, buckets: Sequence[Bucket]) -> list[TopicLists]:
    """Posts per bucket and distinct topics list (posts without topics left out); one query."""
    if not buckets:
        return []
    starts = [b.start for b in buckets]
    merged: Counter[tuple[int, tuple[str, ...]]] = Counter()
    rolled = metrics.topic_lists_rolled(session, flt, bucket_of(PostRollup.hour, starts))
    if rolled is not None:
        for i, listed, n in rolled:
            merged[i, listed] += n
        return [TopicLists(i, topics, n) for (i, topics), n in sorted(merged.items())]
    index = bucket_of(PostRecord.created_at, starts).label("bucket")
    text = cast(PostRecord.topics, String).label("topics")
    query = posts_in(select(index, text, func.count(PostRecord.id)), flt).group_by(index, text)
    for i, raw, n in session.execute(query):
        topics = json.loads(raw) if raw else None
        if isinstance(topics, list) and topics:
            merged[int(i), tuple(sorted({str(t) for t in topics}))] += int(n)
    return [TopicLists(i, topics, n) for (i, topics), n in sorted(merged.items())]


@dataclass(frozen=True)
class TopicVolume:
    """Posts per bucket for each of the top topics (most posts first), and for the others."""

    topics: list[str]
    per_bucket: dict[str, list[int]]
    others: list[int]

    @property
    def has_others(self) -> bool:
        """Whether any post named a topic outside the top ones."""
        return any(self.others)


def per_topic(rows: Iterable[TopicLists], buckets: int, top: int = TOP_TOPICS) -> TopicVolume:
    """The ``top`` topics with most posts over all buckets (ties by topic id), each one's posts
    per bucket, and per bucket the posts naming any other topic (once a post, however many
    others it names). A post naming two top topics counts for both. Pure."""
    rows = list(rows)
    totals: Counter[str] = Counter()
    for row in rows:
        for topic in row.topics:
            totals[topic] += row.posts
    ranked = sorted(totals, key=lambda t: (-totals[t], t))[:top]
    chosen = set(ranked)
    per_bucket = {t: [0] * buckets for t in ranked}
    others = [0] * buckets
    for row in rows:
        for topic in row.topics:
            if topic in chosen:
                per_bucket[topic][row.bucket] += row.posts
        if any(topic not in chosen for topic in row.topics):
            others[row.bucket] += row.posts
    return TopicVolume(ranked, per_bucket, others)


def topic_volume(
    session: Session, flt: Filter, buckets: Sequence[Bucket], top: int = TOP_TOPICS
) -> TopicVolume:
    """Posts per bucket for the ``top`` topics of the filter and for the others."""
    return per_topic(topic_lists(session, flt, buckets), len(buckets), top)
