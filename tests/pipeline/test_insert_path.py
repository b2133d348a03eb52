"""The insert of new posts (on PostgreSQL one prepared statement per row through psycopg's
``executemany``): it skips stored posts, reports exactly the rows it inserted, and stores
values exactly as SQLAlchemy writes them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from townhall.db import make_engine, session_factory
from townhall.models import Item, PostRecord
from townhall.pipeline.runner import Pipeline, _enrichment_columns, _insert_new, _post_row
from townhall.posts import Post
from townhall.understand.enrich import Enrichment


def _enrichment(post: Post) -> Enrichment:
    n = int(post.external_id) % 7
    return Enrichment(
        sentiment_label="negative" if n % 2 else "positive",
        sentiment_score=-0.25 * n,
        intent="complaint" if n % 2 else "praise",
        intent_confidence=0.5 + n / 100,
        actionable=bool(n % 2),
        toxicity=n / 10,
        language="en" if n else None,
        country="GB" if n % 3 else None,
        reach="nano",
        topics=[f"topic-{n}", 'kettle ☕ "quoted" 100%'][: 1 + n % 2] if n else [],
    )


class Understanding:
    """Enriches posts deterministically; ``meanwhile`` runs during enrichment, i.e. after
    the pipeline looked for stored posts and before it inserts (a concurrent worker)."""

    def __init__(self) -> None:
        self.meanwhile: Callable[[], None] | None = None

    def enrich(self, posts: Sequence[Post]) -> list[Enrichment]:
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        return [_enrichment(p) for p in posts]


@pytest.fixture
def engine(make_database_url: Callable[[], str]) -> Iterator[Engine]:
    eng = make_engine(make_database_url())
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def _posts(make_post: Any, numbers: range) -> list[Post]:
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    posts = []
    for n in numbers:
        created = datetime(2026, 11, 20, 14, n % 60, n % 7, tzinfo=zones[n % 3])
        posts.append(
            make_post(
                n,
                created_at=created.isoformat(),
                text=f"Kettle {n}: 100% broken, 'quotes' \"and\" %(name)s %s ünïcødé ☕",
                author={
                    "handle": f"@user{n}@example.social",
                    "name": None if n % 4 == 0 else f"User {n}",
                    "followers": 3_000_000_000 + n,
                    "location": None if n % 5 == 0 else "Leeds, UK",
                    "verified": n % 2 == 0,
                },
                media=[f"https://example.social/{n}.png"] if n % 2 else [],
                extra={"n": n, "nested": {"k": [1, None, "x"]}} if n % 3 else {},
            )
        )
    return posts


def _check_stored(session: Session, posts: Sequence[Post]) -> None:
    records = {r.post_id: r for r in session.scalars(select(PostRecord))}
    for post in posts:
        record = records[post.id]
        assert record.to_post() == post
        assert record.created_at == post.created_at
        assert record.created_at.utcoffset() == timedelta(0)
        enrichment = _enrichment(post)
        assert {k: getattr(record, k) for k in _enrichment_columns(enrichment)} == (
            _enrichment_columns(enrichment)
        )


def _items_by_post(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(PostRecord.post_id, func.count(Item.id))
        .join(Item, Item.post_pk == PostRecord.id)
        .group_by(PostRecord.post_id)
    )
    return {post_id: count for post_id, count in rows}


def test_a_batch_stores_only_the_posts_not_stored_yet(sessions, acme_policy, make_post, now):
    posts = _posts(make_post, range(1, 41))
    understanding = Understanding()
    pipeline = Pipeline(sessions, acme_policy, understanding)
    earlier = pipeline.process_batch(posts[::3], now)
    assert earlier.stored == len(posts[::3])

    result = Pipeline(sessions, acme_policy, understanding).process_batch(posts, now)

    assert (result.read, result.stored, result.duplicates) == (40, 40 - 14, 14)
    assert result.items == 40 - 14
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(PostRecord)) == 40
        _check_stored(session, posts)
        assert _items_by_post(session) == {p.id: 1 for p in posts}


def test_posts_a_concurrent_worker_stored_meanwhile_are_not_ours(
    engine, sessions, acme_policy, make_post, now
):
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite writers hold the write lock for the whole batch: no race")
    posts = _posts(make_post, range(1, 31))
    theirs = [p for p in posts if p.created_at.minute % 4 == 1]
    understanding = Understanding()
    worker = Pipeline(sessions, acme_policy, Understanding())
    understanding.meanwhile = lambda: worker.process_batch(theirs, now)  # commits at once

    result = Pipeline(sessions, acme_policy, understanding).process_batch(posts, now)

    assert theirs and (result.stored, result.items) == (len(posts) - len(theirs),) * 2
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(PostRecord)) == len(posts)
        _check_stored(session, posts)
        assert _items_by_post(session) == {p.id: 1 for p in posts}


def test_the_insert_reports_exactly_the_rows_it_inserted(sessions, make_post, now):
    posts = _posts(make_post, range(1, 21))
    rows = []
    for post in posts:
        row = _post_row(post, now)
        row.update(_enrichment_columns(_enrichment(post)))
        rows.append(row)
    with sessions() as session, session.begin():
        first = _insert_new(session, rows[:5])
    assert [(c, e) for _, c, e in first] == [(r["channel"], r["external_id"]) for r in rows[:5]]
    # Same post id under another external id: a conflict on the post id is skipped too.
    clash = dict(rows[5], post_id=rows[0]["post_id"], external_id="elsewhere")

    with sessions() as session, session.begin():
        second = _insert_new(session, [*rows, clash])

    assert [(c, e) for _, c, e in second] == [(r["channel"], r["external_id"]) for r in rows[5:]]
    assert len({i for i, _, _ in first + second}) == 20
    with sessions() as session:
        stored = {r.external_id: r.id for r in session.scalars(select(PostRecord))}
        assert stored == {e: i for i, _, e in first + second}
        _check_stored(session, posts)
        assert session.scalar(select(PostRecord.ingested_at).limit(1)) == now


def test_an_empty_or_fully_stored_insert_reports_nothing(sessions, make_post, now):
    rows = [_post_row(p, now) for p in _posts(make_post, range(1, 4))]
    with sessions() as session, session.begin():
        assert len(_insert_new(session, rows)) == 3
    with sessions() as session, session.begin():
        assert _insert_new(session, rows) == []
        assert _insert_new(session, []) == []
