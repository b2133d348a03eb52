"""Stored posts: one row per (channel, external id), whatever the number of deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from townhall.models.base import Base

if TYPE_CHECKING:
    from townhall.posts import Post


class PostRecord(Base):
    """A normalised post as stored."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_posts_channel_external_id"),
        Index("ix_posts_created_at", "created_at"),
        Index("ix_posts_reshare_of", "reshare_of"),
        Index("ix_posts_reply_to", "reply_to"),
        Index("ix_posts_intent_sentiment", "intent", "sentiment_label"),
        Index("ix_posts_author_handle_created_at", "author_handle", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[str] = mapped_column(String(512), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime]
    ingested_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text, default="")
    lang: Mapped[str | None] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(String(2048))
    author_handle: Mapped[str] = mapped_column(String(320))
    author_name: Mapped[str | None] = mapped_column(String(500))
    author_followers: Mapped[int] = mapped_column(BigInteger, default=0)
    author_location: Mapped[str | None] = mapped_column(String(500))
    author_verified: Mapped[bool] = mapped_column(default=False)
    reply_to: Mapped[str | None] = mapped_column(String(512))
    reshare_of: Mapped[str | None] = mapped_column(String(512))
    group_name: Mapped[str | None] = mapped_column(String(500))
    media: Mapped[list[Any]] = mapped_column(JSON, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # What Townhall understood of the post (null when it was stored without enrichment).
    sentiment_label: Mapped[str | None] = mapped_column(String(8))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    intent: Mapped[str | None] = mapped_column(String(32), index=True)
    intent_confidence: Mapped[float | None] = mapped_column(Float)
    actionable: Mapped[bool | None]
    toxicity: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(8))
    country: Mapped[str | None] = mapped_column(String(2))
    reach: Mapped[str | None] = mapped_column(String(8))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)

    def to_post(self) -> Post:
        """The stored post in the Post format (``townhall.posts.Post``)."""
        from townhall.posts import Author, Post

        return Post(
            id=self.post_id,
            channel=self.channel,
            created_at=self.created_at,
            text=self.text,
            lang=self.lang,
            url=self.url,
            author=Author(
                handle=self.author_handle,
                name=self.author_name,
                followers=self.author_followers,
                location=self.author_location,
                verified=self.author_verified,
            ),
            reply_to=self.reply_to,
            reshare_of=self.reshare_of,
            group=self.group_name,
            media=list(self.media or []),
            extra=dict(self.extra or {}),
        )
