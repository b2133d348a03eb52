"""One person's items in triage order from an index (issue 11).

``ix_items_assignee_status`` (assignee, status) found a person's items, and the inbox sorted
them: fine for a queue of dozens, 14.5 ms of SQL at 100,000 posts for a person with 7,790
items (most of them done) in the "any status" view. ``ix_items_assignee_triage`` adds the
triage keys, so a page reads about 50 entries per status in order, as the department and
channel views do (0023). It starts with the old index's columns and replaces it.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

KEYS = ["queue_rank", "due_at", "created_at", "id"]


def upgrade() -> None:
    op.create_index("ix_items_assignee_triage", "items", ["assignee_id", "status", *KEYS])
    op.drop_index("ix_items_assignee_status", table_name="items")


def downgrade() -> None:
    op.create_index("ix_items_assignee_status", "items", ["assignee_id", "status"])
    op.drop_index("ix_items_assignee_triage", table_name="items")
