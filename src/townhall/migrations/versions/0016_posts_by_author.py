"""Posts by author and time: an influencer's profile and the author's history read them.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_posts_author_handle_created_at", "posts", ["author_handle", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_posts_author_handle_created_at", table_name="posts")
