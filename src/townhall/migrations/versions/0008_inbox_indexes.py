"""Indexes for the inbox, item and teams pages over many posts (issue 11).

``ix_items_queue`` answers the department queues (the default inbox, its count and the teams
page's per-department counts) from the index alone; ``ix_items_assignee_status`` one person's
queue; ``ix_posts_intent_sentiment`` the intent and sentiment filters.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

QUEUE_COLUMNS = [
    "department",
    "status",
    "assignee_id",
    "first_response_breached_at",
    "resolution_breached_at",
]


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_queue", QUEUE_COLUMNS, unique=False)
        batch_op.create_index("ix_items_assignee_status", ["assignee_id", "status"], unique=False)
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_posts_intent_sentiment", ["intent", "sentiment_label"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_intent_sentiment")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_assignee_status")
        batch_op.drop_index("ix_items_queue")
