"""Assignment inside a department and the SLA clocks: the item's activity, how it was assigned,
its escalation level, due and stop times of both clocks; out-of-office on users; a table of
breaches per department.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from townhall.models.base import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TIMES = (
    "first_response_due_at",
    "resolution_due_at",
    "first_responded_at",
    "resolved_at",
    "first_response_breached_at",
    "resolution_breached_at",
)


def _item_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("activity", sa.String(length=64), nullable=True),
        sa.Column("assigned_by", sa.String(length=16), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0"),
        *(sa.Column(name, UTCDateTime(timezone=True), nullable=True) for name in _TIMES),
    ]


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        for column in _item_columns():
            batch.add_column(column)
        batch.create_index(
            "ix_items_status_first_response_due_at", ["status", "first_response_due_at"]
        )
        batch.create_index("ix_items_status_resolution_due_at", ["status", "resolution_due_at"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("out_of_office_until", UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "sla_breaches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("breached_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("escalated_to_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name="fk_sla_breaches_item_id_items"),
        sa.ForeignKeyConstraint(
            ["escalated_to_id"], ["users.id"], name="fk_sla_breaches_escalated_to_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sla_breaches"),
    )
    op.create_index("ix_sla_breaches_item_id", "sla_breaches", ["item_id"])
    op.create_index(
        "ix_sla_breaches_department_breached_at", "sla_breaches", ["department", "breached_at"]
    )


def downgrade() -> None:
    op.drop_table("sla_breaches")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("out_of_office_until")
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_status_resolution_due_at")
        batch.drop_index("ix_items_status_first_response_due_at")
        for column in reversed(_item_columns()):
            batch.drop_column(column.name)
