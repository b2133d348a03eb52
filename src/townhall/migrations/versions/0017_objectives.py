"""Objectives: campaigns and posts carry a social objective; readings of key results measured
outside Townhall.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townhall.models.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("objective_id", sa.String(length=64), nullable=True))
        batch.create_index("ix_campaigns_objective_id", ["objective_id"], unique=False)
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("objective_id", sa.String(length=64), nullable=True))
    op.create_table(
        "kpi_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kpi", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("measured_on", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_kpi_readings_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_readings")),
    )
    op.create_index(
        "ix_kpi_readings_kpi_measured_on", "kpi_readings", ["kpi", "measured_on"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_kpi_readings_kpi_measured_on", table_name="kpi_readings")
    op.drop_table("kpi_readings")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("objective_id")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_index("ix_campaigns_objective_id")
        batch.drop_column("objective_id")
