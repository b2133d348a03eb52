"""The inbox's text search on its index (migration 0021): the same answers as looking at every
post, kept in step when posts change or go, and served by the index, not a scan of posts; and
the "SLA breached" view on its partial index (migration 0022)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from townhall.cases.repository import _filtered
from townhall.cases.schemas import InboxFilter
from townhall.cases.search import text_matches
from townhall.db import make_engine, refresh_statistics
from townhall.models import Item, PostRecord

NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
_serial = itertools.count(1)

# ASCII only: SQLite's lower() folds no other letters, Python's and PostgreSQL's do.
ALPHABET = st.sampled_from(list("abcAB C%_\"'/\\*-:."))
WORDS = st.text(ALPHABET, max_size=24)


def _post(session: Session, body: str | None, handle: str) -> PostRecord:
    n = next(_serial)
    record = PostRecord(
        post_id=f"mastodon:s{n}",
        channel="mastodon",
        external_id=f"s{n}",
        created_at=NOW,
        ingested_at=NOW,
        text=body,
        author_handle=handle,
        media=[],
        extra={},
    )
    session.add(record)
    session.flush()
    return record


def _found(session: Session, needle: str, among: list[int]) -> set[int]:
    query = select(PostRecord.id).where(text_matches(needle), PostRecord.id.in_(among))
    return set(session.scalars(query))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(posts=st.lists(st.tuples(WORDS, WORDS), min_size=1, max_size=6), needle=WORDS)
def test_the_index_answers_what_reading_every_post_answers(
    session: Session, posts: list[tuple[str, str]], needle: str
) -> None:
    stored = [_post(session, body, f"@{handle}") for body, handle in posts]
    want = {
        record.id
        for record in stored
        if needle.lower() in (record.text or "").lower()
        or needle.lower() in record.author_handle.lower()
    }
    assert _found(session, needle, [r.id for r in stored]) == want


def test_a_changed_or_deleted_post_is_found_by_its_new_text_only(session: Session) -> None:
    record = _post(session, "The blender's lid cracked", "@lid@x.social")
    ids = [record.id]
    assert _found(session, "lid cracked", ids) == {record.id}
    session.execute(
        update(PostRecord).where(PostRecord.id == record.id).values(text="Jug shattered")
    )
    assert _found(session, "lid cracked", ids) == set()
    assert _found(session, "jug shat", ids) == {record.id}
    session.execute(delete(PostRecord).where(PostRecord.id == record.id))
    assert _found(session, "jug shat", ids) == set()


def test_unicode_case_is_folded_for_three_letters_or_more(session: Session) -> None:
    record = _post(session, "Die ÖLKANNE tropft", "@öl@x.social")
    assert _found(session, "ölkanne", [record.id]) == {record.id}


def test_a_search_is_served_by_the_index(
    make_database_url: Callable[[], str], backend: str
) -> None:
    fresh = make_engine(make_database_url())
    try:
        with Session(fresh) as session, session.begin():
            for n in range(300):
                _post(session, f"order {n:05d} is late", f"@buyer{n}@x.social")
        query = select(PostRecord.text).where(text_matches("ORDER 00123"))
        sql = str(query.compile(fresh, compile_kwargs={"literal_binds": True}))
        with fresh.connect() as conn:
            assert list(conn.scalars(query)) == ["order 00123 is late"]
            if backend == "postgresql":
                conn.execute(text("ANALYZE posts"))
                conn.execute(text("SET enable_seqscan = off"))  # 300 rows: a scan is cheaper
            explain = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(explain + sql))
        if backend == "sqlite":
            assert "VIRTUAL TABLE INDEX" in plan and "posts_search" in plan, plan
            assert not re.search(r"SCAN posts\b(?!_)", plan), plan  # found through the index
        else:
            assert "ix_posts_text_trgm" in plan, plan
    finally:
        fresh.dispose()


def test_the_search_keeps_to_the_other_conditions_of_the_query(session: Session) -> None:
    # The search is an OR of text and handle: it must not swallow the conditions beside it.
    mine = _post(session, "paging test one", "@one@x.social")
    other = _post(session, "paging test two", "@two@x.social")
    query = select(PostRecord.id).where(
        PostRecord.id == mine.id, text_matches("paging test"), PostRecord.id != other.id
    )
    assert list(session.scalars(query)) == [mine.id]
    handle_only = select(PostRecord.id).where(PostRecord.id == mine.id, text_matches("@two"))
    assert list(session.scalars(handle_only)) == []


def test_the_breached_view_reads_the_partial_index(
    session: Session, make_item: Callable[..., Item], backend: str
) -> None:
    for n in range(300):
        item = make_item(f"queue item {n}", department=("pr", "it", "sales")[n % 3])
        if n % 60 == 0:
            item.first_response_breached_at = NOW
    session.flush()
    if not refresh_statistics(session):  # what the queue loop does hourly on SQLite
        session.execute(text("ANALYZE items"))
        session.execute(text("SET LOCAL enable_seqscan = off"))  # 300 rows: a scan is cheaper
    query = _filtered(select(Item.id), InboxFilter(breached=True, statuses=("new", "in_progress")))
    sql = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
    plan = " ".join(str(row[-1]) for row in session.connection().exec_driver_sql(explain + sql))
    assert "ix_items_breached" in plan, plan
    assert len(list(session.scalars(query))) == 5
