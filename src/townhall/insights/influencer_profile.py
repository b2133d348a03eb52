"""One author's profile: what Townhall heard from them and did with them (queries).

The figures mean what ``townhall.insights.influence`` says; the web page filters what the viewer
may not see (items of other departments) before showing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from townhall.insights import influence
from townhall.insights.influencers import Voice, about_us, figures
from townhall.models import CrisisRoom, Influencer, InfluencerNote, Item, OutboxPost, PostRecord


def figures_of(session: Session, handle: str, start: datetime, end: datetime) -> Voice | None:
    """One author's figures over [start, end) (None when they said nothing about us then)."""
    now = figures(start, end, None)
    row = session.execute(select(now).where(now.c.handle == handle)).mappings().first()
    if row is None:
        return None
    return Voice(
        handle=handle,
        name=row["name"] or "",
        reach=int(row["reach"]),
        verified=bool(row["verified"]),
        posts=int(row["posts"]),
        drawn=int(row["drawn"]),
        engagement=int(row["engagement"]),
        sentiment=None if row["sentiment"] is None else float(row["sentiment"]),
        influencer_id=None,
        stage=None,
    )


# -- one author's profile ---------------------------------------------------------------------
PROFILE_WEEKS = 12
LIMIT = 50


@dataclass(frozen=True)
class Heard:
    """One of the author's posts and its inbox item (when there is one)."""

    post: PostRecord
    item_id: int | None
    department: str | None
    supporting: list[str]


@dataclass(frozen=True)
class Profile:
    """What Townhall heard from one author and did with them (reach in followers)."""

    handle: str
    name: str
    reach: int
    verified: bool
    posts_total: int
    topics: list[tuple[str, int]]
    weeks: list[influence.WeekSentiment]
    posts: list[Heard]
    replies: list[OutboxPost]
    crises: list[CrisisRoom]


def profile(session: Session, handle: str, now: datetime) -> Profile | None:
    """Everything about the author ``handle`` (None when Townhall never heard them): their
    newest ``LIMIT`` posts, our replies to them, the crises they appeared in, their topics and
    their weekly sentiment about us over the last ``PROFILE_WEEKS`` weeks (Monday to Sunday,
    this one included)."""
    mine = PostRecord.author_handle == handle
    seen = session.execute(
        select(
            func.max(PostRecord.author_followers),
            func.max(PostRecord.author_name),
            func.max(case((PostRecord.author_verified, 1), else_=0)),
            func.count(PostRecord.id),
        ).where(mine)
    ).one()
    if not seen[3]:
        return None
    start = influence.week_start(now) - (PROFILE_WEEKS - 1) * influence.WEEK
    scores = session.execute(
        select(PostRecord.created_at, PostRecord.sentiment_score).where(
            mine, about_us(), PostRecord.created_at >= start, PostRecord.created_at < now
        )
    ).all()
    topic_lists = session.scalars(
        select(PostRecord.topics).where(mine).order_by(PostRecord.created_at.desc()).limit(1_000)
    )
    heard = session.execute(
        select(PostRecord, Item.id, Item.department, Item.supporting)
        .outerjoin(Item, Item.post_pk == PostRecord.id)
        .where(mine)
        .order_by(PostRecord.created_at.desc(), PostRecord.id.desc())
        .limit(LIMIT)
    ).all()
    replies = session.scalars(
        select(OutboxPost)
        .where(OutboxPost.reply_to_author == handle)
        .order_by(OutboxPost.created_at.desc(), OutboxPost.id.desc())
        .limit(LIMIT)
    )
    their_posts = select(PostRecord.post_id).where(mine)
    their_rooms = (
        select(Item.crisis_id)
        .join(PostRecord, PostRecord.id == Item.post_pk)
        .where(mine, Item.crisis_id.is_not(None))
    )
    crises = session.scalars(
        select(CrisisRoom)
        .where(or_(CrisisRoom.id.in_(their_rooms), CrisisRoom.story.in_(their_posts)))
        .order_by(CrisisRoom.opened_at.desc())
        .limit(LIMIT)
    )
    return Profile(
        handle=handle,
        name=seen[1] or "",
        reach=int(seen[0] or 0),
        verified=bool(seen[2]),
        posts_total=int(seen[3]),
        topics=influence.topic_counts(t or [] for t in topic_lists),
        weeks=influence.weekly_sentiment(
            ((at, score) for at, score in scores), start, PROFILE_WEEKS
        ),
        posts=[Heard(p, i, d, list(s or [])) for p, i, d, s in heard],
        replies=list(replies),
        crises=list(crises.unique()),
    )


def notes_of(session: Session, who: Influencer) -> list[InfluencerNote]:
    """The notes about ``who``, newest first."""
    return list(
        session.scalars(
            select(InfluencerNote)
            .where(InfluencerNote.influencer_id == who.id)
            .order_by(InfluencerNote.at.desc(), InfluencerNote.id.desc())
        )
    )
