"""A hash chain over the audit log (tamper evidence).

Every event gets ``prev_hash`` and ``hash`` (``townhall.audit.event_hash``); the events already
stored are chained in id order. The append-only triggers are lifted while the new columns are
filled, and put back.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from townhall.audit import (
    GENESIS,
    create_append_only_triggers,
    drop_append_only_triggers,
    event_hash,
)
from townhall.models.base import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 5_000

# The table as this revision sees it (not the model, which may move on).
audit_log = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("at", UTCDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("subject_type", sa.String()),
    sa.column("subject_id", sa.String()),
    sa.column("why", sa.Text()),
    sa.column("details", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def upgrade() -> None:
    conn = op.get_bind()
    drop_append_only_triggers(conn)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing_events(conn)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_prev_hash"), ["prev_hash"])
    create_append_only_triggers(conn)


def _chain_existing_events(conn: sa.Connection) -> None:
    """Chain the stored events in id order, a batch of updates at a time."""
    head, last_id = GENESIS, 0
    columns = [c for c in audit_log.c if c.key not in ("prev_hash", "hash")]
    while True:
        rows = (
            conn.execute(
                sa.select(*columns)
                .where(audit_log.c.id > last_id)
                .order_by(audit_log.c.id)
                .limit(BATCH)
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        links = []
        for row in rows:
            prev, head = (
                head,
                event_hash(
                    head,
                    at=row["at"],
                    actor=row["actor"],
                    action=row["action"],
                    subject_type=row["subject_type"],
                    subject_id=row["subject_id"],
                    why=row["why"],
                    details=row["details"],
                ),
            )
            links.append({"row_id": row["id"], "prev": prev, "hash": head})
        conn.execute(
            audit_log.update()
            .where(audit_log.c.id == sa.bindparam("row_id"))
            .values(prev_hash=sa.bindparam("prev"), hash=sa.bindparam("hash")),
            links,
        )
        last_id = rows[-1]["id"]


def downgrade() -> None:
    conn = op.get_bind()
    drop_append_only_triggers(conn)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_log_prev_hash"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    create_append_only_triggers(conn)
