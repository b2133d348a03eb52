"""Fixtures: the Mastodon stand-in served on loopback and a connector pointed at it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from townhall.connectors.base import Credentials
from townhall.connectors.mastodon.connector import MastodonConnector
from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.connectors.standin import LocalServer
from townhall.org.policy import Channel

TOKEN = "standin-token"


@pytest.fixture
def standin() -> MastodonStandin:
    return MastodonStandin(domain="mastodon.example", username="acme", token=TOKEN)


@pytest.fixture
def server(standin: MastodonStandin) -> Iterator[LocalServer]:
    local = LocalServer(standin.app).start()
    try:
        yield local
    finally:
        standin.drop_streams()
        local.stop()


def make_channel(url: str, **listen: Any) -> Channel:
    return Channel.model_validate(
        {
            "id": "mastodon",
            "kind": "mastodon",
            "account": "@acme@mastodon.example",
            "default_owner": "social",
            "api_base_url": url,
            "token_env": "TOWNHALL_MASTODON_TOKEN",
            "listen": {"mentions": True, **listen},
        }
    )


@pytest.fixture
def connect(server: LocalServer) -> Iterator[Callable[..., MastodonConnector]]:
    """``connect(hashtags=[...], search=[...], timeout=..., token=...)``: a connector (closed
    after the test)."""
    made: list[MastodonConnector] = []

    def build(*, timeout: float = 5.0, token: str = TOKEN, **listen: Any) -> MastodonConnector:
        connector = MastodonConnector(
            make_channel(server.url, **listen), Credentials(secret=token), timeout=timeout
        )
        made.append(connector)
        return connector

    yield build
    for connector in made:
        connector.close()


@pytest.fixture
def connector(connect: Callable[..., MastodonConnector]) -> MastodonConnector:
    return connect()


class Background:
    """Run ``fn`` in a thread; ``join()`` waits (bounded) and re-raises what it raised."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], object]) -> None:
        try:
            fn()
        except BaseException as exc:  # handed back to the test in join()
            self.error = exc

    def join(self, timeout: float = 10.0) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "background work did not finish"
        if self.error is not None:
            raise self.error
