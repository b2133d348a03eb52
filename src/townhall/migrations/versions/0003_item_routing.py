"""The whole routing decision on each item: priority, supporting departments, tags, SLA
minutes and the facts that matched the rule.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("priority", sa.String(length=8), nullable=False, server_default="normal"),
        sa.Column("supporting", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("sla_first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("sla_resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("matched", sa.JSON(), nullable=False, server_default="{}"),
    ]


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        for column in _columns():
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
