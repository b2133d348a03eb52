"""`townhall secrets rotate`: every stored secret moves to the new key in one transaction; weak
or wrong keys are refused and leave everything as it was."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import JSON, Boolean, DateTime, Engine, Integer, MetaData, Table, inspect, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

import townhall.channels.secrets as secrets_module
from townhall.audit import verify_chain
from townhall.backup import wipe
from townhall.channels.secrets import SecretBox, fernet_for, new_key
from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine, session_factory
from townhall.errors import ConfigError
from townhall.models import AuditEvent, ChannelState

NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
ZEROS = base64.urlsafe_b64encode(bytes(32)).decode()
PATTERN = base64.urlsafe_b64encode(b"abcd" * 8).decode()


@dataclass
class Store:
    engine: Engine
    sessions: sessionmaker[Session]
    old: str
    monkeypatch: pytest.MonkeyPatch

    def state(self, channel: str) -> ChannelState:
        with self.sessions() as session:
            return session.get_one(ChannelState, channel)

    def rotate(self, *args: str, new: str | None = None) -> Any:
        if new is not None:
            self.monkeypatch.setenv("TOWNHALL_SECRETS_NEW_KEY", new)
        get_settings.cache_clear()
        return CliRunner().invoke(app, ["secrets", "rotate", *args])


@pytest.fixture(scope="module")
def database(make_database_url: Callable[[], str]) -> Iterator[tuple[str, Engine]]:
    url = make_database_url()
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


@pytest.fixture
def store(database: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """Two channels with sealed secrets (one with a saved session), one with none."""
    url, engine = database
    with engine.begin() as conn:
        wipe(conn)
    old = new_key()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    monkeypatch.setenv("TOWNHALL_SECRETS_KEY", old)
    sessions = session_factory(engine)
    box = SecretBox(old)
    with sessions() as session, session.begin():
        session.add_all(
            [
                ChannelState(
                    channel="mastodon",
                    secret=box.seal("masto-token"),
                    session=None,
                    updated_at=NOW,
                ),
                ChannelState(
                    channel="bluesky",
                    secret=box.seal("app-password"),
                    session=box.seal('{"jwt": "saved"}'),
                    updated_at=NOW,
                ),
                ChannelState(channel="rss", updated_at=NOW),
            ]
        )
    yield Store(engine, sessions, old, monkeypatch)
    get_settings.cache_clear()


def _opens(key: str, sealed: str | None) -> bool:
    try:
        SecretBox(key).open(sealed or "")
    except ConfigError:
        return False
    return True


def test_rotate_moves_every_secret_to_the_new_key(store):
    new = new_key()
    result = store.rotate(new=new)

    assert result.exit_code == 0, result.output
    assert "re-encrypted 3 secrets" in result.output
    assert "set TOWNHALL_SECRETS_KEY" in result.output
    mastodon, bluesky = store.state("mastodon"), store.state("bluesky")
    assert SecretBox(new).open(mastodon.secret or "") == "masto-token"
    assert SecretBox(new).open(bluesky.secret or "") == "app-password"
    assert SecretBox(new).open(bluesky.session or "") == '{"jwt": "saved"}'
    assert not _opens(store.old, mastodon.secret)
    assert not _opens(store.old, bluesky.session)
    assert store.state("rss").secret is None
    with store.sessions() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "secrets.rotated")
        ).one()
        assert event.details["channel_states.secret"] == 2
    with store.engine.connect() as conn:
        assert verify_chain(conn).intact


def test_a_rotation_run_again_still_succeeds(store):
    """Cut short after the commit (the new key not yet deployed): running it again is safe."""
    new = new_key()
    assert store.rotate(new=new).exit_code == 0

    again = store.rotate(new=new)

    assert again.exit_code == 0, again.output
    assert SecretBox(new).open(store.state("mastodon").secret or "") == "masto-token"


def test_the_new_key_can_come_from_another_variable(store):
    new = new_key()
    store.monkeypatch.setenv("MY_NEXT_KEY", new)

    result = store.rotate("--new-key-env", "MY_NEXT_KEY")

    assert result.exit_code == 0, result.output
    assert SecretBox(new).open(store.state("mastodon").secret or "") == "masto-token"


@pytest.mark.parametrize(
    ("new", "says"),
    [
        (ZEROS, "weak key"),
        (PATTERN, "weak key"),
        ("hunter2", "not a valid key"),
        ("", "TOWNHALL_SECRETS_NEW_KEY is not set"),
    ],
)
def test_a_weak_or_invalid_new_key_is_refused(store, new, says):
    before = store.state("mastodon").secret

    result = store.rotate(new=new)

    assert result.exit_code == 1
    assert says in result.output
    assert store.state("mastodon").secret == before
    assert _opens(store.old, before)


def test_the_current_key_as_the_new_one_is_refused(store):
    result = store.rotate(new=store.old)
    assert result.exit_code == 1
    assert "is the current key" in result.output


def test_a_secret_the_current_key_cannot_open_stops_the_whole_rotation(store):
    stranger = SecretBox(new_key()).seal("sealed elsewhere")
    with store.sessions() as session, session.begin():
        session.add(ChannelState(channel="zz-forum", secret=stranger, updated_at=NOW))

    result = store.rotate(new=new_key())

    assert result.exit_code == 1
    assert "channel_states.secret" in result.output and "zz-forum" in result.output
    # The channels rotated before the failure were rolled back with it.
    assert _opens(store.old, store.state("mastodon").secret)
    assert _opens(store.old, store.state("bluesky").secret)


def test_a_sealed_column_of_a_table_not_created_yet_is_skipped(store, monkeypatch):
    monkeypatch.setattr(
        secrets_module,
        "SEALED_COLUMNS",
        (*secrets_module.SEALED_COLUMNS, ("no_such_table", "secret_sealed")),
    )
    result = store.rotate(new=new_key())
    assert result.exit_code == 0, result.output


def _fill_required(table: Table) -> dict[str, Any]:
    """Values for a row of ``table``: every NOT NULL column without a default."""
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.nullable or column.primary_key or column.server_default is not None:
            continue
        if isinstance(column.type, Boolean):
            values[column.name] = True
        elif isinstance(column.type, Integer):
            values[column.name] = 0
        elif isinstance(column.type, DateTime):
            values[column.name] = NOW.replace(tzinfo=None)
        elif isinstance(column.type, JSON):
            values[column.name] = []
        else:
            values[column.name] = f"x-{column.name}"
    return values


def test_webhook_signing_secrets_are_rotated_when_the_table_exists(store):
    if "webhook_endpoints" not in inspect(store.engine).get_table_names():
        pytest.skip("no webhook_endpoints table in this schema")
    endpoints = Table("webhook_endpoints", MetaData(), autoload_with=store.engine)
    with store.engine.begin() as conn:
        conn.execute(
            endpoints.insert(),
            {**_fill_required(endpoints), "secret_sealed": SecretBox(store.old).seal("whsec")},
        )
    new = new_key()

    result = store.rotate(new=new)

    assert result.exit_code == 0, result.output
    assert "webhook_endpoints.secret_sealed: 1" in result.output
    with store.engine.connect() as conn:
        sealed = conn.execute(select(endpoints.c.secret_sealed)).scalar_one()
    assert SecretBox(new).open(sealed) == "whsec"
    assert not _opens(store.old, sealed)


def test_secrets_key_prints_a_strong_key():
    result = CliRunner().invoke(app, ["secrets", "key"])

    assert result.exit_code == 0
    key = result.output.strip()
    Fernet(key)  # a valid key
    assert fernet_for(key) is not None
    assert key != CliRunner().invoke(app, ["secrets", "key"]).output.strip()


def test_a_weak_stored_secrets_key_is_refused_too():
    with pytest.raises(ConfigError, match="weak key"):
        SecretBox(ZEROS)
    with pytest.raises(ConfigError, match="not a valid key"):
        SecretBox("short")
