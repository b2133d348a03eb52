"""Planning: campaigns and their spend, communication plans and their steps, the e-mail and
search teams' planned entries, calendar feeds; outbox posts get a category, a campaign and the
recurring slot that wrote them.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townhall.models.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=12), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_calendar_feeds_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("target_metric", sa.String(length=100), nullable=False),
        sa.Column("target", sa.Double(), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("starts_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("budget_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_campaigns_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("slug", name=op.f("uq_campaigns_slug")),
    )
    op.create_table(
        "campaign_spend",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("spent_on", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_spend_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_campaign_spend_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_spend")),
    )
    op.create_index(
        op.f("ix_campaign_spend_campaign_id"), "campaign_spend", ["campaign_id"], unique=False
    )
    op.create_table(
        "communication_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_communication_plans_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_communication_plans_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crisis_rooms.id"],
            name=op.f("fk_communication_plans_crisis_id_crisis_rooms"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communication_plans")),
    )
    op.create_table(
        "planned_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("starts_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_planned_entries_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_planned_entries_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_entries")),
    )
    op.create_index("ix_planned_entries_starts_at", "planned_entries", ["starts_at"], unique=False)
    op.create_table(
        "plan_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("owner_department", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("statement", sa.Boolean(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("done_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_plan_steps_outbox_id_outbox")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_plan_steps_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["communication_plans.id"],
            name=op.f("fk_plan_steps_plan_id_communication_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_steps")),
    )
    op.create_index("ix_plan_steps_due_at", "plan_steps", ["due_at"], unique=False)
    op.create_index(op.f("ix_plan_steps_plan_id"), "plan_steps", ["plan_id"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recurring", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_campaign_id_campaigns"), "campaigns", ["campaign_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_campaign_id_campaigns"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_campaign_id"))
        batch_op.drop_column("recurring")
        batch_op.drop_column("campaign_id")
        batch_op.drop_column("category")
    op.drop_index(op.f("ix_plan_steps_plan_id"), table_name="plan_steps")
    op.drop_index("ix_plan_steps_due_at", table_name="plan_steps")
    op.drop_table("plan_steps")
    op.drop_index("ix_planned_entries_starts_at", table_name="planned_entries")
    op.drop_table("planned_entries")
    op.drop_table("communication_plans")
    op.drop_index(op.f("ix_campaign_spend_campaign_id"), table_name="campaign_spend")
    op.drop_table("campaign_spend")
    op.drop_table("campaigns")
    op.drop_table("calendar_feeds")
