"""``townhall tokens``: create (printed once), list and revoke from the command line."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine, session_factory, transaction
from townhall.models import ApiToken, AuditEvent
from townhall.org.accounts import upsert_user


@pytest.fixture
def database(
    make_database_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    url = make_database_url()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    with transaction(session_factory(engine)) as session:
        upsert_user(
            session,
            email="dan.murphy@acme.example",
            name="Dan \x1b[31mMurphy",
            department="customer_service",
            role="member",
            password="correct horse battery",
            now=datetime.now(UTC),
        )
    engine.dispose()
    yield url
    get_settings.cache_clear()


def test_create_list_revoke(database: str) -> None:
    made = CliRunner().invoke(
        app,
        [
            "tokens",
            "create",
            "dan.murphy@acme.example",
            "--name",
            "Report \x1b[2J",
            "--scope",
            "view",
            "--scope",
            "note",
            "--days",
            "30",
        ],
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("thp_") and "\n" not in secret
    engine = make_engine(database)
    with session_factory(engine)() as session:
        token = session.scalars(select(ApiToken)).one()
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert token.scopes == ["note", "view"]
    listed = CliRunner().invoke(app, ["tokens", "list"])
    assert listed.exit_code == 0
    line = json.loads(listed.stdout)
    assert (line["prefix"], line["status"], line["scopes"]) == (
        secret[:8],
        "active",
        ["note", "view"],
    )
    assert secret not in listed.stdout
    assert "\x1b" not in line["name"] and "\\x1b" in line["name"]
    revoked = CliRunner().invoke(app, ["tokens", "revoke", str(token.id)])
    assert revoked.exit_code == 0, revoked.output
    assert (
        "revoked" in CliRunner().invoke(app, ["tokens", "list", "dan.murphy@acme.example"]).stdout
    )
    with session_factory(engine)() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
        assert {"api_token.created", "api_token.revoked"} <= set(actions)
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["nobody@acme.example", "--name", "x", "--scope", "view"], 1),
        (["dan.murphy@acme.example", "--name", "x", "--scope", "fly"], 2),
        (["dan.murphy@acme.example", "--name", "x", "--scope", "view", "--days", "400"], 2),
    ],
)
def test_create_refuses_what_cannot_be(database: str, args: list[str], code: int) -> None:
    result = CliRunner().invoke(app, ["tokens", "create", *args])
    assert result.exit_code == code, result.output
    assert "thp_" not in result.stdout


def test_revoking_an_unknown_token_fails(database: str) -> None:
    assert CliRunner().invoke(app, ["tokens", "revoke", "99"]).exit_code == 1
