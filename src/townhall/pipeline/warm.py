"""Give a new radar the memory of the one before it: replay the stored posts of the last days.

The radar keeps its baselines, stories, incidents and what it has alerted in memory. A process
that starts (``townhall serve``, ``townhall listen``) or a worker that takes over the radar
stage from a dead leader would otherwise start blind: no baseline to tell a burst by, every
story new, and each running crisis alerted again. Replaying the stored posts of the last
``hours`` (by post time, up to the newest stored post) in time order rebuilds that state; the
alerts the replay raises were raised and stored before and are dropped.

``stored_before`` leaves out posts stored at or after that time: those the radar has not
checked yet (the radar stage passes the arrival time of the oldest message still in the
stream), which it must alert on when it reaches them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from townhall.models import PostRecord
from townhall.posts import Post
from townhall.radar.replay import Radar
from townhall.understand.enrich import Enrichment

log = logging.getLogger(__name__)

WARM_HOURS = 7 * 24.0
"""Post time replayed: a week, the burst detector's seasonal cycle."""

WARM_LIMIT = 200_000
"""At most this many of the newest posts in that window (a few seconds of replay)."""

CHUNK = 2_000


def enrichment_of(record: PostRecord) -> Enrichment | None:
    """The understanding stored with a post (None for a post that was not understood)."""
    if record.sentiment_label is None or record.intent is None:
        return None
    return Enrichment(
        sentiment_label=cast(Any, record.sentiment_label),
        sentiment_score=record.sentiment_score or 0.0,
        intent=cast(Any, record.intent),
        intent_confidence=record.intent_confidence or 0.0,
        actionable=bool(record.actionable),
        toxicity=record.toxicity or 0.0,
        language=record.language,
        country=record.country,
        reach=record.reach or "",
        topics=list(record.topics or []),
    )


def warm(
    radar: Radar,
    sessions: sessionmaker[Session],
    *,
    hours: float = WARM_HOURS,
    limit: int = WARM_LIMIT,
    stored_before: datetime | None = None,
) -> int:
    """Feed ``radar`` the stored posts of the last ``hours`` of post time; how many."""
    with sessions() as session:
        newest_query = select(func.max(PostRecord.created_at))
        if stored_before is not None:
            newest_query = newest_query.where(PostRecord.ingested_at < stored_before)
        newest = session.scalar(newest_query)
        if newest is None:
            return 0
        window = (
            select(PostRecord.id)
            .where(PostRecord.created_at >= newest - timedelta(hours=hours))
            .order_by(PostRecord.created_at.desc(), PostRecord.id.desc())
            .limit(limit)
        )
        if stored_before is not None:
            window = window.where(PostRecord.ingested_at < stored_before)
        ids = list(session.scalars(window))[::-1]  # oldest first, as the radar saw them
        fed = 0
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            rows = {
                record.id: record
                for record in session.scalars(select(PostRecord).where(PostRecord.id.in_(chunk)))
            }
            batch: list[tuple[Post, Enrichment]] = []
            for row_id in chunk:
                enrichment = enrichment_of(rows[row_id])
                if enrichment is not None:
                    batch.append((rows[row_id].to_post(), enrichment))
            radar.observe(batch)  # raised and stored before: dropped
            fed += len(batch)
            session.expunge_all()
    log.info("radar warmed with %d stored posts of the last %.0f h", fed, hours)
    return fed
