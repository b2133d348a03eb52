"""Post counts rolled up by UTC hour, channel and one dimension (sentiment, intent, country,
topic), kept by the pipeline in the transaction that stores the posts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from townhall.models.base import Base


class PostRollup(Base):
    """How many posts of one channel, created in one UTC hour, had one value of a dimension
        (``dimension="sentiment", value="negative"``; ``""`` for a post without a country; a JSON
    list of topics for ``dimension="topics"``, hence the long value)."""

    __tablename__ = "post_rollups"
    __table_args__ = (PrimaryKeyConstraint("dimension", "hour", "channel", "value"),)

    dimension: Mapped[str] = mapped_column(String(16))
    hour: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(1024))
    posts: Mapped[int] = mapped_column(BigInteger, default=0)
