"""wait_for_news on the user stream: wakes on events, returns on drops, never leaks or raises."""

from __future__ import annotations

import threading
import time

import pytest

from townhall.connectors.mastodon.connector import MastodonConnector
from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.errors import ChannelAuthError

from .conftest import Background


def timed_wait(connector: MastodonConnector, timeout: float, stop: threading.Event) -> float:
    started = time.monotonic()
    connector.wait_for_news(timeout, stop)
    return time.monotonic() - started


def test_a_new_mention_wakes_the_wait(standin: MastodonStandin, connector: MastodonConnector):
    helper = Background(
        lambda: standin.wait_for_streams(1) and standin.add_mention("@bob@example.social", "hi")
    )
    assert timed_wait(connector, 20, threading.Event()) < 10
    helper.join()
    assert [p.text for p in connector.fetch_new({}).posts] == ["@acme hi"]


def test_quiet_stream_waits_for_the_timeout_and_stays_open(
    standin: MastodonStandin, connector: MastodonConnector
):
    assert 0.25 <= timed_wait(connector, 0.3, threading.Event()) < 5
    assert standin.open_streams == 1  # kept for the next wait: no reconnect per call
    connector.close()
    assert standin.wait_for_no_streams(5)


def test_stop_ends_the_wait(standin: MastodonStandin, connector: MastodonConnector):
    stop = threading.Event()
    helper = Background(lambda: standin.wait_for_streams(1) and stop.set())
    assert timed_wait(connector, 20, stop) < 10
    helper.join()


def test_a_dropped_stream_returns_and_catch_up_has_no_gap_and_no_duplicate(
    standin: MastodonStandin, connector: MastodonConnector
):
    standin.add_mention("@bob@example.social", "m1")
    standin.add_mention("@bob@example.social", "m2")
    first = connector.fetch_new({})
    assert [p.text for p in first.posts] == ["@acme m1", "@acme m2"]

    helper = Background(
        lambda: standin.wait_for_streams(1) and standin.add_mention("@bob@example.social", "m3")
    )
    assert timed_wait(connector, 20, threading.Event()) < 10  # woken by m3
    helper.join()

    helper = Background(lambda: standin.wait_for_streams(1) and standin.drop_streams())
    assert timed_wait(connector, 20, threading.Event()) < 10  # the stream dropped
    helper.join()
    # While no stream is open, more arrive: only the REST catch-up can see them.
    standin.add_mention("@bob@example.social", "m4")
    standin.add_mention("@bob@example.social", "m5")

    second = connector.fetch_new(first.cursor)
    assert [p.text for p in second.posts] == ["@acme m3", "@acme m4", "@acme m5"]
    assert connector.fetch_new(second.cursor).posts == []

    helper = Background(
        lambda: standin.wait_for_streams(1) and standin.add_mention("@bob@example.social", "m6")
    )
    assert timed_wait(connector, 20, threading.Event()) < 10  # reconnected and woken again
    helper.join()


def test_revoked_token_mid_stream_returns_then_fetch_is_an_auth_error(
    standin: MastodonStandin, connector: MastodonConnector
):
    connector.fetch_new({})
    helper = Background(lambda: standin.wait_for_streams(1) and standin.revoke_token())
    assert timed_wait(connector, 20, threading.Event()) < 10
    helper.join()
    with pytest.raises(ChannelAuthError):
        connector.fetch_new({})
    # A stream refused with 401 does not spin: it waits like a poller, and does not raise.
    assert 0.25 <= timed_wait(connector, 0.3, threading.Event()) < 5


def test_an_unreachable_stream_does_not_raise():
    from townhall.connectors.base import Credentials
    from townhall.connectors.standin import free_port

    from .conftest import make_channel

    connector = MastodonConnector(
        make_channel(f"http://127.0.0.1:{free_port()}"), Credentials(secret="x"), timeout=1
    )
    assert 0.15 <= timed_wait(connector, 0.2, threading.Event()) < 5
    connector.close()


def test_close_leaves_no_stream_thread(standin: MastodonStandin, connector: MastodonConnector):
    before = {t.name for t in threading.enumerate()}
    connector.wait_for_news(0.1, threading.Event())
    connector.close()
    assert standin.wait_for_no_streams(5)
    after = [t for t in threading.enumerate() if t.name == "mastodon-user-stream"]
    assert not [t for t in after if t.is_alive()], before
