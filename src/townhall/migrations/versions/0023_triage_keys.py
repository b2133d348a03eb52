"""The triage order's keys as generated columns, and a page of it read from an index (issue 11).

The inbox's default order (open crisis first, then priority, SLA due time and age) was an
expression over five columns: every page sorted all the matching items. The unified view of
every department's items (any status) read and sorted all 95,000 items of the 100,000-post
bench for each page: 80 ms of SQL on SQLite. ``due_at`` and ``queue_rank`` (see
``townhall.models.item``) are now columns the database computes (virtual on SQLite, stored on
PostgreSQL), and two indexes hold a status's items in that order, per department and across
departments. The crisis flag stays out of the index: the few items of open crisis rooms are
read apart and put first. ``channel`` copies the post's channel onto its item, so a channel's
view reads its own index (``ix_items_channel_triage``) instead of joining posts: the open
Bluesky items of every department took 45 ms a page.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

DUE_SQL = (
    "CASE WHEN first_responded_at IS NULL AND first_response_due_at IS NOT NULL"
    " THEN first_response_due_at ELSE resolution_due_at END"
)
QUEUE_RANK_SQL = (
    "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 2 WHEN 'low' THEN 6 ELSE 4 END"
    f" + CASE WHEN ({DUE_SQL}) IS NULL THEN 1 ELSE 0 END"
)
OLD_TRIAGE = [
    "department",
    "status",
    "priority",
    "crisis_id",
    "first_responded_at",
    "first_response_due_at",
    "resolution_due_at",
    "created_at",
]
KEYS = ["queue_rank", "due_at", "created_at", "id"]


def upgrade() -> None:
    # Plain ALTER TABLE (not batch mode): SQLite adds a virtual generated column in place;
    # PostgreSQL before 18 has stored ones only.
    stored = True if op.get_bind().dialect.name == "postgresql" else None
    op.add_column(
        "items",
        sa.Column("due_at", sa.DateTime(timezone=True), sa.Computed(DUE_SQL, persisted=stored)),
    )
    op.add_column(
        "items",
        sa.Column("queue_rank", sa.Integer(), sa.Computed(QUEUE_RANK_SQL, persisted=stored)),
    )
    op.add_column("items", sa.Column("channel", sa.String(32), nullable=True))
    op.execute(
        "UPDATE items SET channel ="
        " (SELECT posts.channel FROM posts WHERE posts.id = items.post_pk)"
    )
    op.drop_index("ix_items_triage", table_name="items")
    op.create_index("ix_items_triage", "items", ["department", "status", *KEYS])
    op.create_index("ix_items_status_triage", "items", ["status", *KEYS])
    op.create_index("ix_items_channel_triage", "items", ["channel", "status", *KEYS])


def downgrade() -> None:
    op.drop_index("ix_items_channel_triage", table_name="items")
    op.drop_index("ix_items_status_triage", table_name="items")
    op.drop_index("ix_items_triage", table_name="items")
    op.create_index("ix_items_triage", "items", OLD_TRIAGE)
    op.drop_column("items", "channel")
    op.drop_column("items", "queue_rank")
    op.drop_column("items", "due_at")
