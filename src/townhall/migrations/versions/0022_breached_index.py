"""A partial index of the items whose SLA ran out (issue 11).

The inbox's "SLA breached" view across departments read every open item to find the few whose
first-response or resolution clock had run out: 26 ms of SQL for the page's ids and 18 ms for
its count at 100,000 posts on SQLite. ``ix_items_breached`` holds only those items, by status
and department; its condition is written exactly as the view's (``BREACHED_WHERE``), which
SQLite needs to use it.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

BREACHED_WHERE = "first_response_breached_at IS NOT NULL OR resolution_breached_at IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_items_breached",
        "items",
        ["status", "department"],
        unique=False,
        sqlite_where=sa.text(BREACHED_WHERE),
        postgresql_where=sa.text(BREACHED_WHERE),
    )


def downgrade() -> None:
    op.drop_index("ix_items_breached", table_name="items")
