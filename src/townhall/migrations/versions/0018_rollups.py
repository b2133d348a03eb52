"""Rollups: post counts per UTC hour, channel and dimension, for the insights dashboards.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townhall.models.base

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "post_rollups",
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("hour", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("posts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "dimension", "hour", "channel", "value", name=op.f("pk_post_rollups")
        ),
    )


def downgrade() -> None:
    op.drop_table("post_rollups")
