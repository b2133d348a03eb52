"""The author's history beside an item, so an agent answers the person and not only the post:
what the same author said before (and after) on the same channel, what we said to them, and
how often they came to us.

Queries only; the page leaves out the items a person may not see (``Earlier.item_id`` is kept
so it can tell). Reads the ``posts(author_handle, created_at)`` index.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.orm import Session

from townhall.cases.repository import OPEN
from townhall.models import Influencer, Item, OutboxPost, OutboxStatus, PostRecord

LIMIT = 20
"""Entries of the history shown beside an item (posts and our replies together)."""

SAID = (OutboxStatus.PUBLISHED, OutboxStatus.LOGGED)
"""What counts as something we said to the author (drafts and refusals are not)."""


@dataclass(frozen=True)
class Earlier:
    """One entry of the history: a post of the author, or something we said to them."""

    at: datetime
    post: PostRecord | None = None
    item_id: int | None = None
    department: str | None = None
    supporting: list[str] = field(default_factory=list)
    item_status: str | None = None
    reply: OutboxPost | None = None

    @property
    def ours(self) -> bool:
        """Whether this is something we said (a reply or a private message)."""
        return self.reply is not None


@dataclass(frozen=True)
class AuthorHistory:
    """The author of one post, as Townhall heard them on that post's channel."""

    handle: str
    channel: str
    posts: int
    """Every post of theirs Townhall stored on the channel, this one included."""
    items: int
    open_items: int
    first_heard: datetime | None
    sentiments: dict[str, int]
    """Their posts by sentiment label (``positive``, ``neutral``, ``negative``)."""
    replies: int
    """What we said to them on the channel (published replies and logged private contact)."""
    entries: list[Earlier]
    """Newest first, at most ``LIMIT``, without the item's own post and its own replies."""
    influencer_id: int | None

    @property
    def returning(self) -> bool:
        """Whether Townhall heard them on anything but this post."""
        return self.posts > 1 or self.replies > 0


def author_history(
    session: Session, post: PostRecord, item_id: int | None, limit: int = LIMIT
) -> AuthorHistory:
    """The history of ``post``'s author on its channel, without ``post`` itself and without
    what we said on the item ``item_id`` (the page shows those already)."""
    theirs = (PostRecord.author_handle == post.author_handle) & (PostRecord.channel == post.channel)
    label = func.coalesce(PostRecord.sentiment_label, literal_column("'neutral'"))
    labels = session.execute(
        select(label, func.count(PostRecord.id), func.min(PostRecord.created_at))
        .where(theirs)
        .group_by(label)
    ).all()
    total = sum(n for _, n, _ in labels)
    first = min((at for _, _, at in labels if at is not None), default=None)
    items, still_open = session.execute(
        select(func.count(Item.id), func.coalesce(func.sum(case((OPEN, 1), else_=0)), 0))
        .join(PostRecord, PostRecord.id == Item.post_pk)
        .where(theirs)
    ).one()
    to_them = (
        (OutboxPost.reply_to_author == post.author_handle)
        & (OutboxPost.channel == post.channel)
        & OutboxPost.status.in_([s.value for s in SAID])
    )
    replies = session.scalar(select(func.count(OutboxPost.id)).where(to_them)) or 0
    heard = session.execute(
        select(PostRecord, Item.id, Item.department, Item.supporting, Item.status)
        .outerjoin(Item, Item.post_pk == PostRecord.id)
        .where(theirs, PostRecord.id != post.id)
        .order_by(PostRecord.created_at.desc(), PostRecord.id.desc())
        .limit(limit)
    ).all()
    ours = select(OutboxPost).where(to_them).order_by(OutboxPost.created_at.desc()).limit(limit)
    if item_id is not None:
        ours = ours.where((OutboxPost.item_id != item_id) | OutboxPost.item_id.is_(None))
    said = list(session.scalars(ours))
    entries = [
        Earlier(
            p.created_at, post=p, item_id=i, department=d, supporting=list(s or []), item_status=st
        )
        for p, i, d, s, st in heard
    ]
    entries += [Earlier(r.published_at or r.created_at, reply=r) for r in said]
    entries.sort(key=lambda e: e.at, reverse=True)
    influencer = session.scalar(
        select(Influencer.id).where(Influencer.handle == post.author_handle)
    )
    return AuthorHistory(
        handle=post.author_handle,
        channel=post.channel,
        posts=int(total or 0),
        items=int(items or 0),
        open_items=int(still_open or 0),
        first_heard=first,
        sentiments=dict(Counter({str(k): int(n) for k, n, _ in labels})),
        replies=int(replies),
        entries=entries[:limit],
        influencer_id=influencer,
    )
