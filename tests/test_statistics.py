"""SQLite's planner statistics are refreshed (by the queue loop, hourly): with them the teams
page's counts read a covering index instead of every item row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import text

from townhall.db import make_engine, refresh_statistics, session_factory, transaction
from townhall.org.policy import Policy
from townhall.pipeline.runner import Pipeline


def test_statistics_are_refreshed_on_sqlite_and_left_to_postgresql(
    make_database_url: Callable[[], str],
    backend: str,
    acme_policy: Policy,
    make_post: Callable[..., Any],
    now: datetime,
) -> None:
    engine = make_engine(make_database_url())
    Pipeline(session_factory(engine), acme_policy).process_batch(
        [make_post(n) for n in range(3)], now
    )
    with transaction(session_factory(engine)) as session:
        ran = refresh_statistics(session)
    assert ran == (backend == "sqlite")
    if ran:
        with engine.connect() as conn:
            tables = {row[0] for row in conn.execute(text("SELECT tbl FROM sqlite_stat1"))}
        assert {"items", "posts"} <= tables
    engine.dispose()
