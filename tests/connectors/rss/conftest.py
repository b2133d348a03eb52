"""Fixtures: the stand-in feed server on loopback and connectors pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from townhall.connectors.base import Credentials
from townhall.connectors.rss import RssConnector
from townhall.connectors.rss.standin import FeedStandin
from townhall.connectors.standin import LocalServer
from townhall.org.policy import Channel

FIXTURES = Path(__file__).parent / "fixtures"
STANDIN_NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
FETCHED_AT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

Connect = Callable[..., RssConnector]


@pytest.fixture
def fetched_at() -> datetime:
    """The time every connector made by ``connect`` reads on its clock."""
    return FETCHED_AT


@pytest.fixture
def fixtures() -> Path:
    """The folder of recorded feed documents."""
    return FIXTURES


@pytest.fixture
def standin() -> FeedStandin:
    """A stand-in feed host with a fixed clock (Last-Modified still moves on every change)."""
    return FeedStandin(clock=lambda: STANDIN_NOW)


@pytest.fixture
def server(standin: FeedStandin) -> Iterator[LocalServer]:
    """The stand-in served on 127.0.0.1; always stopped."""
    srv = LocalServer(standin.app).start()
    try:
        yield srv
    finally:
        standin.release()
        srv.stop()


@pytest.fixture
def connect(server: LocalServer) -> Iterator[Connect]:
    """``connect("/news.rss", ...)``: a connector on channel ``news`` reading those paths."""
    made: list[RssConnector] = []

    def build(*paths: str, **options: Any) -> RssConnector:
        feeds = [p if p.startswith("http") else server.url + p for p in paths]
        channel = Channel(
            id="news", kind="rss", account="Press feeds", default_owner="comms", feeds=feeds
        )
        options.setdefault("clock", lambda: FETCHED_AT)
        connector = RssConnector(channel, Credentials(), **options)
        made.append(connector)
        return connector

    yield build
    for connector in made:
        connector.close()
