"""Insight cards and who saw or acted on them; influencers and notes about them.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townhall.models.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "influencers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("owner_department", sa.String(length=64), nullable=False),
        sa.Column("campaign_ids", sa.JSON(), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_influencers_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_influencers")),
        sa.UniqueConstraint("handle", name=op.f("uq_influencers_handle")),
    )
    op.create_table(
        "insight_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("from_department", sa.String(length=64), nullable=False),
        sa.Column("for_departments", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("link", sa.String(length=2048), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_insight_cards_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["users.id"], name=op.f("fk_insight_cards_published_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_cards")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_insight_cards_fingerprint")),
    )
    op.create_index(
        "ix_insight_cards_status_created_at",
        "insight_cards",
        ["status", "created_at"],
        unique=False,
    )
    op.create_table(
        "card_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acted_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["insight_cards.id"], name=op.f("fk_card_receipts_card_id_insight_cards")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_card_receipts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_receipts")),
        sa.UniqueConstraint("card_id", "user_id", name=op.f("uq_card_receipts_card_id")),
    )
    op.create_index(op.f("ix_card_receipts_card_id"), "card_receipts", ["card_id"], unique=False)
    op.create_table(
        "influencer_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("influencer_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["influencer_id"],
            ["influencers.id"],
            name=op.f("fk_influencer_notes_influencer_id_influencers"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_influencer_notes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_influencer_notes")),
    )
    op.create_index(
        op.f("ix_influencer_notes_influencer_id"),
        "influencer_notes",
        ["influencer_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_influencer_notes_influencer_id"), table_name="influencer_notes")
    op.drop_table("influencer_notes")
    op.drop_index(op.f("ix_card_receipts_card_id"), table_name="card_receipts")
    op.drop_table("card_receipts")
    op.drop_index("ix_insight_cards_status_created_at", table_name="insight_cards")
    op.drop_table("insight_cards")
    op.drop_table("influencers")
