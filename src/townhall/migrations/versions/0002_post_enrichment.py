"""What Townhall understood of each post: sentiment, intent, actionable, toxicity, language,
country, reach, topics.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("sentiment_label", sa.String(length=8), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("intent", sa.String(length=32), nullable=True),
        sa.Column("intent_confidence", sa.Float(), nullable=True),
        sa.Column("actionable", sa.Boolean(), nullable=True),
        sa.Column("toxicity", sa.Float(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("reach", sa.String(length=8), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False, server_default="[]"),
    ]


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        for column in _columns():
            batch.add_column(column)
        batch.create_index("ix_posts_intent", ["intent"])


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_index("ix_posts_intent")
        for column in reversed(_columns()):
            batch.drop_column(column.name)
