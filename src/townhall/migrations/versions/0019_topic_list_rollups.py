"""Rollups: ``topics`` and ``voices`` dimensions (each post's whole topics list, and its
brand, product and competitor topics), so volume per topic ("other topics") and share of
voice read the rollups; the value column grows to hold a list.

The upgrade recounts the rollups from the posts (``rollups.rebuild``), so a database that
already holds posts gets its new rows; over 1M posts that takes about two minutes.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("post_rollups") as batch:
        batch.alter_column(
            "value",
            existing_type=sa.String(length=128),
            type_=sa.String(length=1024),
            existing_nullable=False,
        )
    from townhall.insights import rollups  # the same counting as the pipeline's

    session = Session(bind=op.get_bind())
    rollups.rebuild(session)
    session.flush()
    session.close()  # joined alembic's transaction: closing it commits nothing, undoes nothing


def downgrade() -> None:
    op.execute("DELETE FROM post_rollups WHERE dimension = 'topics'")
    with op.batch_alter_table("post_rollups") as batch:
        batch.alter_column(
            "value",
            existing_type=sa.String(length=1024),
            type_=sa.String(length=128),
            existing_nullable=False,
        )
