"""Network channels (cursor, health, encrypted secrets) and the outbox with its attempts; the
replies of items move into the outbox.

A reply written before this revision was never published (Townhall could not publish then): a
held one stays a draft, a private contact stays logged, a rejected one rejected, and a ready or
approved one becomes *missed* rather than going out late and unannounced.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townhall.models.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_states",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("alerted_health", sa.String(length=16), nullable=True),
        sa.Column("last_fetch_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_success_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_post_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("gap_seconds", sa.Double(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("error_kind", sa.String(length=16), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("retry_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("session", sa.Text(), nullable=True),
        sa.Column("updated_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_states")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("reply_to", sa.String(length=512), nullable=True),
        sa.Column("reply_to_author", sa.String(length=320), nullable=True),
        sa.Column("direct_to", sa.String(length=320), nullable=True),
        sa.Column("crisis_id", sa.Integer(), nullable=True),
        sa.Column("not_before", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("scheduled_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column(
            "next_attempt_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("claimed_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claim", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=512), nullable=True),
        sa.Column("remote_url", sa.String(length=2048), nullable=True),
        sa.Column("published_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error_kind", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_outbox_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crisis_rooms.id"], name=op.f("fk_outbox_crisis_id_crisis_rooms")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_outbox_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_outbox_item_id_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_crisis_id", ["crisis_id"], unique=False)
        batch_op.create_index("ix_outbox_item_id", ["item_id"], unique=False)
        batch_op.create_index(
            "ix_outbox_status_scheduled_at", ["status", "scheduled_at"], unique=False
        )

    op.create_table(
        "outbox_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("started_at", townhall.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", townhall.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error_kind", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("remote_id", sa.String(length=512), nullable=True),
        sa.Column("remote_url", sa.String(length=2048), nullable=True),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_outbox_attempts_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_attempts")),
    )
    with op.batch_alter_table("outbox_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_attempts_outbox_id"), ["outbox_id"], unique=False
        )

    op.execute(
        """
        INSERT INTO outbox (id, channel, kind, text, department, status, key, item_id, reply_to,
            reply_to_author, crisis_id, not_before, author_id, decided_by_id, decided_at,
            decision_note, attempts, error, created_at, updated_at)
        SELECT r.id, p.channel, CASE r.kind WHEN 'private' THEN 'private' ELSE 'reply' END,
            r.text, i.department,
            CASE r.status WHEN 'held' THEN 'draft' WHEN 'logged' THEN 'logged'
                WHEN 'rejected' THEN 'rejected' ELSE 'missed' END,
            'migrated-' || CAST(r.id AS VARCHAR(20)), r.item_id, p.post_id, p.author_handle,
            r.crisis_id, r.not_before, r.author_id, r.decided_by_id, r.decided_at,
            r.decision_note, 0,
            CASE WHEN r.status IN ('ready', 'approved')
                THEN 'Written before Townhall could publish: not sent.' ELSE '' END,
            r.created_at, COALESCE(r.decided_at, r.created_at)
        FROM replies r JOIN items i ON i.id = r.item_id JOIN posts p ON p.id = i.post_pk
        """
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval('outbox_id_seq', COALESCE((SELECT MAX(id) FROM outbox), 0) + 1, false)"
        )
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replies_item_id"))

    op.drop_table("replies")


def downgrade() -> None:
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

    with op.batch_alter_table("outbox_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_attempts_outbox_id"))

    op.drop_table("outbox_attempts")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_scheduled_at")
        batch_op.drop_index("ix_outbox_item_id")
        batch_op.drop_index("ix_outbox_crisis_id")

    op.drop_table("outbox")
    op.drop_table("channel_states")
