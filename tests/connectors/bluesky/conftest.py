"""Fixtures: a stand-in Bluesky PDS on loopback and connectors logged in to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from townhall.connectors.base import Credentials
from townhall.connectors.bluesky.connector import BlueskyConnector
from townhall.connectors.bluesky.standin import BlueskyStandin
from townhall.connectors.standin import LocalServer
from townhall.org.policy import Channel

PASSWORD = "abcd-efgh-ijkl-mnop"


@pytest.fixture
def standin() -> BlueskyStandin:
    return BlueskyStandin("acme.example", PASSWORD)


@pytest.fixture
def server(standin: BlueskyStandin) -> Iterator[LocalServer]:
    local = LocalServer(standin.app).start()
    try:
        yield local
    finally:
        local.stop()


def channel_for(
    url: str,
    *,
    search: list[str] | None = None,
    hashtags: list[str] | None = None,
    mentions: bool = True,
) -> Channel:
    return Channel.model_validate(
        {
            "id": "bluesky",
            "kind": "bluesky",
            "account": "acme.example",
            "default_owner": "social",
            "api_base_url": url,
            "password_env": "BLUESKY_APP_PASSWORD",
            "listen": {"mentions": mentions, "search": search or [], "hashtags": hashtags or []},
        }
    )


class SessionStore:
    """Where the connector saves its session (as Townhall's encrypted store would)."""

    def __init__(self, session: str | None = None) -> None:
        self.session = session
        self.saved: list[str] = []

    def save(self, value: str) -> None:
        self.saved.append(value)
        self.session = value


ConnectorFactory = Callable[..., BlueskyConnector]


@pytest.fixture
def store() -> SessionStore:
    return SessionStore()


@pytest.fixture
def connect(server: LocalServer, store: SessionStore) -> Iterator[ConnectorFactory]:
    made: list[BlueskyConnector] = []

    def build(
        *,
        secret: str | None = PASSWORD,
        session: str | None = None,
        search: list[str] | None = None,
        hashtags: list[str] | None = None,
        mentions: bool = True,
        timeout: float = 5.0,
    ) -> BlueskyConnector:
        connector = BlueskyConnector(
            channel_for(server.url, search=search, hashtags=hashtags, mentions=mentions),
            Credentials(secret=secret, session=session, save_session=store.save),
            timeout=timeout,
        )
        made.append(connector)
        return connector

    yield build
    for connector in made:
        connector.close()


@pytest.fixture
def make_channel() -> Callable[..., Channel]:
    return channel_for
