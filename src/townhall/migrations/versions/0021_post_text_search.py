"""A trigram index for the inbox's text search (issue 11).

The search box finds a piece of text anywhere in a post's text or its author's handle, case
aside (``order 2081807``, ``@dana``). Without an index that read every post: about 1 s a search
at 100,000 posts on SQLite, and the other pages waited behind it.

- **SQLite**: ``posts_search``, an FTS5 table with the trigram tokenizer over ``posts.text`` and
  ``posts.author_handle`` (external content: it stores the index, not a second copy of the
  text), kept by three triggers on ``posts``. A phrase query on it finds any substring of three
  or more characters, case-insensitively.
- **PostgreSQL**: ``pg_trgm`` GIN indexes on ``lower(text)`` and ``lower(author_handle)``; the
  search's ``lower(…) LIKE '%…%'`` uses them as it is.

A later migration that rebuilds ``posts`` on SQLite (``batch_alter_table`` copies the table)
drops the three triggers with it and must create them again.

Neither is in the models (SQLAlchemy describes neither an FTS5 table nor an operator-class
expression index): ``townhall.db.outside_models`` names them for the schema comparison and the
backup, which leave them out (a restore rebuilds them through the triggers).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE posts_search USING fts5("
    "text, author_handle, content='posts', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER posts_search_insert AFTER INSERT ON posts BEGIN "
    "INSERT INTO posts_search(rowid, text, author_handle) "
    "VALUES (new.id, new.text, new.author_handle); END",
    "CREATE TRIGGER posts_search_delete AFTER DELETE ON posts BEGIN "
    "INSERT INTO posts_search(posts_search, rowid, text, author_handle) "
    "VALUES ('delete', old.id, old.text, old.author_handle); END",
    "CREATE TRIGGER posts_search_update AFTER UPDATE OF text, author_handle ON posts BEGIN "
    "INSERT INTO posts_search(posts_search, rowid, text, author_handle) "
    "VALUES ('delete', old.id, old.text, old.author_handle); "
    "INSERT INTO posts_search(rowid, text, author_handle) "
    "VALUES (new.id, new.text, new.author_handle); END",
    "INSERT INTO posts_search(posts_search) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS posts_search_update",
    "DROP TRIGGER IF EXISTS posts_search_delete",
    "DROP TRIGGER IF EXISTS posts_search_insert",
    "DROP TABLE IF EXISTS posts_search",
]
POSTGRESQL_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_posts_text_trgm ON posts USING gin (lower(text) gin_trgm_ops)",
    "CREATE INDEX ix_posts_author_handle_trgm ON posts "
    "USING gin (lower(author_handle) gin_trgm_ops)",
]
POSTGRESQL_DOWN = [
    "DROP INDEX IF EXISTS ix_posts_author_handle_trgm",
    "DROP INDEX IF EXISTS ix_posts_text_trgm",
]


def _run(statements: dict[str, list[str]]) -> None:
    for statement in statements.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def upgrade() -> None:
    _run({"sqlite": SQLITE_UP, "postgresql": POSTGRESQL_UP})


def downgrade() -> None:
    _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRESQL_DOWN})
