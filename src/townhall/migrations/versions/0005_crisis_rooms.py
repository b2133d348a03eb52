"""The crisis radar's records: alerts (with their deliveries), crisis rooms and their
assessment checklist, replies (held for approval during a crisis, private contact logged), and
the crisis an item belongs to.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townhall.models.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crisis_rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("story", sa.String(length=512), nullable=False),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lead_department", sa.String(length=64), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("risk_why", sa.Text(), nullable=False),
        sa.Column("forecast", sa.JSON(), nullable=False),
        sa.Column("cooldown_minutes", sa.Integer(), nullable=False),
        sa.Column("holding_statement", sa.Text(), nullable=False),
        sa.Column("postmortem", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("opened_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=320), nullable=False),
        sa.Column("resolved_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_rooms")),
    )
    with op.batch_alter_table("crisis_rooms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crisis_rooms_story"), ["story"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("raised_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=True),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("story", sa.String(length=512), nullable=False),
        sa.Column("post_ids", sa.JSON(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=True),
        sa.Column("delivered_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deliveries", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crisis_rooms.id"], name=op.f("fk_alerts_crisis_id_crisis_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_crisis_id"), ["crisis_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_delivered_at"), ["delivered_at"], unique=False)
        batch_op.create_index("ix_alerts_raised_at", ["raised_at"], unique=False)

    op.create_table(
        "crisis_checklist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("owner_department", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_by", sa.String(length=320), nullable=True),
        sa.Column("answered_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"], ["crisis_rooms.id"], name=op.f("fk_crisis_checklist_room_id_crisis_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_checklist")),
    )
    with op.batch_alter_table("crisis_checklist", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crisis_checklist_room_id"), ["room_id"], unique=False)

    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=True),
        sa.Column("not_before", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_replies_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crisis_rooms.id"], name=op.f("fk_replies_crisis_id_crisis_rooms")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_replies_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_replies_item_id_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replies")),
    )
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replies_item_id"), ["item_id"], unique=False)

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crisis_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_items_crisis_id"), ["crisis_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_items_crisis_id_crisis_rooms"), "crisis_rooms", ["crisis_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_items_crisis_id_crisis_rooms"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_items_crisis_id"))
        batch_op.drop_column("crisis_id")

    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replies_item_id"))

    op.drop_table("replies")
    with op.batch_alter_table("crisis_checklist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_checklist_room_id"))

    op.drop_table("crisis_checklist")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_raised_at")
        batch_op.drop_index(batch_op.f("ix_alerts_delivered_at"))
        batch_op.drop_index(batch_op.f("ix_alerts_crisis_id"))

    op.drop_table("alerts")
    with op.batch_alter_table("crisis_rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_rooms_story"))

    op.drop_table("crisis_rooms")
