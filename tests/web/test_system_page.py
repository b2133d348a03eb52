"""The admins' System page: engines, processes (escaped), a broker that does not answer shown
as degraded (200, not 500), and a dead-letter stream entry put back on the posts stream."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
import redis

from townhall.db import session_factory, transaction
from townhall.org.accounts import upsert_user
from townhall.pipeline.heartbeat import PROCESSES_KEY, Reporter
from townhall.pipeline.streams import DEAD_STREAM, STREAM
from web.conftest import PASSWORD, Site

ADMIN = "jonas.weber@acme.example"
REDIS_URL = os.environ.get("TOWNHALL_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="TOWNHALL_TEST_REDIS_URL not set")


def _admin(site: Site, client: httpx.Client, broker_url: str | None) -> None:
    with transaction(session_factory(site.engine)) as session:
        upsert_user(
            session,
            email=ADMIN,
            name="Jonas Weber",
            department="it",
            role="admin",
            password=PASSWORD,
            now=datetime.now(UTC),
        )
    web = site.app.state.web
    web.settings = web.settings.model_copy(update={"broker_url": broker_url})
    assert site.login(client, ADMIN).status_code == 303


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    assert REDIS_URL
    r = redis.Redis.from_url(REDIS_URL)
    r.delete(PROCESSES_KEY, STREAM, DEAD_STREAM)
    yield r
    r.delete(PROCESSES_KEY, STREAM, DEAD_STREAM)
    r.close()


def test_without_a_broker_everything_runs_in_this_process(site: Site, client: httpx.Client) -> None:
    _admin(site, client, None)
    page = client.get("/admin/system")
    assert page.status_code == 200
    assert "none: everything runs in this process" in page.text
    assert "reachable, schema current" in page.text
    assert 'href="/admin/system"' in page.text


def test_a_broker_that_does_not_answer_shows_as_degraded(site: Site, client: httpx.Client) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _admin(site, client, f"redis://127.0.0.1:{port}/0")
    page = client.get("/admin/system")
    assert page.status_code == 200
    assert "Degraded" in page.text
    assert "the broker does not answer" in page.text


def test_members_may_not_see_the_system_page(site: Site, client: httpx.Client) -> None:
    assert site.login(client).status_code == 303  # a team lead of customer service
    assert client.get("/admin/system").status_code == 403
    assert "/admin/system" not in client.get("/inbox").text


@needs_redis
def test_processes_are_listed_escaped_and_dead_entries_replayed(
    site: Site, client: httpx.Client, broker: redis.Redis
) -> None:
    assert REDIS_URL
    Reporter(broker, "worker", "<script>alert(1)</script>").report(
        processed=5, lag=3, last_error=None, now=datetime.now(UTC)
    )
    broker.xadd(DEAD_STREAM, {"id": "1-0", "error": "PostFormatError: no text", "raw": b"{}"})
    _admin(site, client, REDIS_URL)
    page = client.get("/admin/system")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "PostFormatError: no text" in page.text
    assert "Working" in page.text
    ((entry_id, _),) = cast(list[Any], broker.xrange(DEAD_STREAM))
    refused = client.post("/admin/system/replay", data={"entry": entry_id.decode()})
    assert refused.status_code == 403  # no CSRF token
    done = client.post(
        "/admin/system/replay",
        data={"entry": entry_id.decode(), "csrf_token": site.csrf_of(page.text)},
    )
    assert (done.status_code, done.headers["location"]) == (303, "/admin/system?replayed=1")
    assert broker.xlen(DEAD_STREAM) == 0
    ((_, fields),) = cast(list[Any], broker.xrange(STREAM))
    assert fields == {b"post": b"{}"}
