"""`townhall listen --once` against a local Mastodon and a feed server: new mentions stored
exactly once, a second run stores none and feeds answer 304, channel failures are visible."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from networks import TOKEN_ENV, mastodon_channel, policy_with
from townhall.cli.app import app
from townhall.config import get_settings
from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.connectors.rss.standin import FeedStandin
from townhall.connectors.standin import LocalServer
from townhall.db import make_engine
from townhall.models import AlertRecord, AuditEvent, ChannelState, Item, PostRecord


@pytest.fixture
def mastodon() -> Iterator[tuple[MastodonStandin, LocalServer]]:
    standin = MastodonStandin(domain="mastodon.example", username="acme", token="t0k3n")
    with LocalServer(standin.app) as server:
        yield standin, server


@pytest.fixture
def feeds() -> Iterator[tuple[FeedStandin, LocalServer]]:
    standin = FeedStandin()
    standin.add_feed("/news.rss", "rss", "Kitchen News")
    with LocalServer(standin.app) as server:
        yield standin, server


@pytest.fixture
def setup(
    tmp_path: Path,
    mastodon: tuple[MastodonStandin, LocalServer],
    feeds: tuple[FeedStandin, LocalServer],
    make_database_url: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    rss = {
        "id": "rss",
        "kind": "rss",
        "account": "feeds",
        "default_owner": "pr",
        "feeds": [f"{feeds[1].url}/news.rss"],
    }
    policy = policy_with(tmp_path, mastodon_channel(mastodon[1].url), rss)
    url = make_database_url()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    monkeypatch.setenv("TOWNHALL_POLICY", str(policy))
    monkeypatch.setenv(TOKEN_ENV, "t0k3n")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def listen(*args: str) -> tuple[int, dict[str, dict[str, Any]], str]:
    result = CliRunner().invoke(app, ["listen", "--once", *args])
    lines = [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, {line["channel"]: line for line in lines}, result.stderr


def count(url: str, what: Any) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(what)) or 0
    engine.dispose()
    return n


def test_new_mentions_and_entries_are_stored_once_and_feeds_answer_304(
    setup, mastodon, feeds
) -> None:
    standin, _ = mastodon
    for n in range(3):
        standin.add_mention(f"@fan{n}@social.example", f"my KettleOne lid broke ({n}), help?")
    feeds[0].add_entry("/news.rss", "ACME recalls nothing", "<p>All <b>fine</b></p>")

    code, first, _ = listen()
    assert code == 0
    assert {k: (v["fetched"], v["stored"], v["health"]) for k, v in first.items()} == {
        "mastodon": (3, 3, "ok"),
        "rss": (1, 1, "ok"),
    }
    assert set(first["mastodon"]) >= {"channel", "fetched", "stored", "duplicates", "cursor"}
    assert count(setup, PostRecord) == 4 and count(setup, Item) == 4

    code, second, _ = listen()
    assert code == 0
    assert {k: (v["fetched"], v["stored"]) for k, v in second.items()} == {
        "mastodon": (0, 0),
        "rss": (0, 0),
    }
    assert second["rss"]["not_modified"] is True
    assert feeds[0].counters("/news.rss").not_modified == 1
    assert count(setup, PostRecord) == 4

    standin.add_mention("@late@social.example", "is the AirFry 5 basket dishwasher safe?")
    code, third, _ = listen("--channel", "mastodon")
    assert code == 0 and list(third) == ["mastodon"]
    assert (third["mastodon"]["fetched"], third["mastodon"]["stored"]) == (1, 1)


def test_a_revoked_token_marks_the_channel_alerts_and_audits(setup, mastodon) -> None:
    standin, _ = mastodon
    assert listen("--channel", "mastodon")[0] == 0
    standin.revoke_token()

    code, report, _ = listen("--channel", "mastodon")

    assert code == 1 and report["mastodon"]["health"] == "auth_failed"
    assert "access token" in report["mastodon"]["error"]
    engine = make_engine(setup)
    with engine.connect() as conn:
        state = conn.execute(select(ChannelState.health, ChannelState.error_kind)).one()
        alerts = conn.execute(select(AlertRecord.kind, AlertRecord.severity)).all()
        audit = conn.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_type == "channel")
        ).all()
    engine.dispose()
    assert tuple(state) == ("auth_failed", "auth")
    assert [tuple(a) for a in alerts] == [("channel", "critical")]
    assert audit == ["channel.unhealthy"]
    # The alert goes out once per change, not on every failed pass.
    listen("--channel", "mastodon")
    assert count(setup, AlertRecord) == 1


def test_channels_list_and_test_say_what_is_wrong(setup, mastodon, monkeypatch) -> None:
    result = CliRunner().invoke(app, ["channels", "test", "mastodon"])
    assert result.exit_code == 0, result.stderr
    assert "@acme@mastodon.example" in result.stderr

    monkeypatch.setenv(TOKEN_ENV, "wrong")
    result = CliRunner().invoke(app, ["channels", "test", "mastodon"])
    assert result.exit_code == 1 and "ChannelAuthError" in result.stderr

    result = CliRunner().invoke(app, ["channels", "list", "--json"])
    rows = {r["channel"]: r for r in map(orjson.loads, result.stdout.splitlines())}
    assert rows["mastodon"]["live"] and rows["forum"]["live"] is False


def test_unknown_or_simulated_channels_are_refused_by_name(setup) -> None:
    code, _, stderr = listen("--channel", "myspace")
    assert code == 2 and "no channel 'myspace'" in stderr
    code, _, stderr = listen("--channel", "forum")
    assert code == 2 and "forum is not connected to a network" in stderr


def test_listening_continuously_hears_the_stream_and_ctrl_c_exits_0(setup, mastodon) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    standin, _ = mastodon
    standin.add_mention("@first@social.example", "is the KettleOne lid replaceable?")
    process = subprocess.Popen(
        [sys.executable, "-m", "townhall.cli", "listen", "--channel", "mastodon"],
        env={**os.environ, "TOWNHALL_CHANNEL_TIMEOUT": "5"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:

        def stored() -> int:
            return count(setup, PostRecord)

        deadline = time.monotonic() + 60
        while stored() < 1 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert stored() == 1
        assert standin.wait_for_streams(1, timeout=30)
        # A new mention arrives on the stream: the listener wakes and fetches it (its poll
        # interval is 60 s, far longer than the bounded wait here).
        standin.add_mention("@second@social.example", "and is the base dishwasher safe?")
        deadline = time.monotonic() + 30
        while stored() < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stored() == 2
    finally:
        process.send_signal(signal.SIGINT)
        out, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors.decode()
    reports = [orjson.loads(line) for line in out.decode().splitlines()]
    assert sum(r["stored"] for r in reports) == 2
