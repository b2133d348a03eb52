"""Approval chains (the chain and step a draft is at, every decision), the code of conduct's
findings on each draft, and takeover shifts.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townhall.models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "takeovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("starts_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("announcement_id", sa.Integer(), nullable=True),
        sa.Column("sign_off_id", sa.Integer(), nullable=True),
        sa.Column("created_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_takeovers_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_takeovers_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takeovers")),
        sa.UniqueConstraint("user_id", "channel", "starts_at", name=op.f("uq_takeovers_user_id")),
    )
    with op.batch_alter_table("takeovers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_takeovers_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "outbox_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=12), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_outbox_decisions_outbox_id_outbox")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_outbox_decisions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_decisions")),
    )
    with op.batch_alter_table("outbox_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_decisions_outbox_id"), ["outbox_id"], unique=False
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paid", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("statement", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("chain", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("step", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("risk", sa.String(length=8), nullable=False, server_default="low")
        )
        batch_op.add_column(sa.Column("findings", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("takeover_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_takeover_id_takeovers"), "takeovers", ["takeover_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_takeover_id_takeovers"), type_="foreignkey")
        batch_op.drop_column("takeover_id")
        batch_op.drop_column("revision")
        batch_op.drop_column("findings")
        batch_op.drop_column("risk")
        batch_op.drop_column("step")
        batch_op.drop_column("chain")
        batch_op.drop_column("statement")
        batch_op.drop_column("paid")

    with op.batch_alter_table("outbox_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_decisions_outbox_id"))

    op.drop_table("outbox_decisions")
    with op.batch_alter_table("takeovers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_takeovers_starts_at"))

    op.drop_table("takeovers")
