"""Read-only requests never wait for the SQLite write lock; a write that cannot get it is a
503 with ``Retry-After`` and a message for a person, never a 500."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from townhall.db import make_engine, read_session_factory, session_factory

PAGES = [
    "/inbox",
    "/inbox?department=all&status=any&owner=me",
    "/inbox/rows?before=2",
    "/items/1",
    "/teams",
    "/crises",
    "/channels",
    "/outbox",
    "/healthz",
]


@pytest.fixture
def site(site: Any, backend: str) -> Iterator[Any]:
    """The web fixture's site, whose sessions give up on the write lock after 0.3 s."""
    if backend != "sqlite":
        pytest.skip("SQLite's write lock")
    engine = make_engine(site.engine.url.render_as_string(hide_password=False), busy_timeout=0.3)
    web = site.app.state.web
    web.sessions = session_factory(engine)
    web.read_sessions = read_session_factory(web.sessions)
    yield site
    engine.dispose()


@pytest.fixture
def writer(site: Any) -> Iterator[sqlite3.Connection]:
    """Another connection holding the write lock (``BEGIN IMMEDIATE``) with a write pending."""
    site.feed(site.post("My kettle leaks"), site.post("Mine too", reply_to="mastodon:1"))
    conn = sqlite3.connect(site.engine.url.database, timeout=0.1, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE items SET why = why")
    yield conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


def test_pages_answer_while_another_connection_holds_the_write_lock(
    logged_in: httpx.Client, writer: sqlite3.Connection
) -> None:
    for path in PAGES:
        answer = logged_in.get(path)
        assert answer.status_code == 200, path
    assert "My kettle leaks" in logged_in.get("/items/1").text


def test_a_write_that_cannot_get_the_lock_is_a_503_to_retry(
    site: Any, logged_in: httpx.Client, writer: sqlite3.Connection
) -> None:
    token = site.csrf_of(logged_in.get("/items/1").text)
    note = {"text": "Called the customer", "csrf_token": token}

    answer = logged_in.post("/items/1/notes", data=note)
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) > 0
    assert "try again" in answer.text and "Traceback" not in answer.text
    assert "Called the customer" not in logged_in.get("/items/1").text

    writer.execute("ROLLBACK")
    assert logged_in.post("/items/1/notes", data=note).status_code == 303
    assert "Called the customer" in logged_in.get("/items/1").text
