"""The inbox's text search: a piece of text anywhere in a post's text or its author's handle,
case aside, found through the trigram index of migration 0021 where it can be."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.sqltypes import NullType

from townhall.db import SEARCH_TABLE
from townhall.models import PostRecord

TRIGRAM = 3
"""A trigram index finds text of three characters or more; shorter text is looked for row by
row."""


class _TextMatch(FunctionElement[Any]):
    """Posts whose text or handle holds a piece of text. Its clauses: the posts' id column, the
    FTS5 phrase for SQLite, and the ``LIKE`` condition every other database runs (PostgreSQL's
    trigram indexes serve it as it is)."""

    # Not typed Boolean: SQLite (no native booleans) would compare a Boolean to 1, and
    # ``(posts.id IN (…)) = 1`` hides the index from the planner.
    type = NullType()
    inherit_cache = True
    name = "townhall_text_match"


@compiles(_TextMatch)
def _like(element: _TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    _, _, like = element.clauses.clauses
    # Parenthesised: the OR inside must not mix with the ANDs of the query around it.
    return f"({compiler.process(like, **kw)})"


@compiles(_TextMatch, "sqlite")
def _fts5(element: _TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    post_id, phrase, _ = element.clauses.clauses
    # Only compiled SQL and a constant table name: the phrase itself is a bound parameter.
    return (
        f"({compiler.process(post_id, **kw)} IN (SELECT rowid FROM {SEARCH_TABLE} "  # noqa: S608
        f"WHERE {SEARCH_TABLE} MATCH {compiler.process(phrase, **kw)}))"
    )


def text_matches(needle: str) -> ColumnElement[bool]:
    """Posts whose text or author handle contains ``needle``, ignoring case (``%`` and ``_``
    are plain characters)."""
    lowered = needle.lower()
    like = func.lower(PostRecord.text).contains(lowered, autoescape=True) | func.lower(
        PostRecord.author_handle
    ).contains(lowered, autoescape=True)
    if len(needle) < TRIGRAM:
        return like
    # An FTS5 phrase in double quotes is matched as written, a quote doubled.
    phrase = '"' + needle.replace('"', '""') + '"'
    return cast(ColumnElement[bool], _TextMatch(PostRecord.id, literal(phrase), like))
