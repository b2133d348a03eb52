"""`townhall users`: logins for the policy's departments, with argon2 hashes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine, session_factory
from townhall.models import AuditEvent, Role, User
from townhall.org.accounts import verify_password


@pytest.fixture
def database(
    make_database_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    url = make_database_url()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_add_creates_a_login_with_a_hashed_password(database):
    result = CliRunner().invoke(
        app,
        [
            "users",
            "add",
            "Zoe@ACME.example",
            "--name",
            "Zoe",
            "--department",
            "pr",
            "--role",
            "approver",
            "--password",
            "lantern orchard quietly",
        ],
    )

    assert result.exit_code == 0, result.output
    engine = make_engine(database)
    with session_factory(engine)() as session:
        user = session.scalars(select(User)).one()
        assert (user.email, user.department, user.role) == ("zoe@acme.example", "pr", Role.APPROVER)
        assert user.password_hash.startswith("$argon2id$")
        assert verify_password(user.password_hash, "lantern orchard quietly")
        assert not verify_password(user.password_hash, "wrong")
        assert session.scalars(select(AuditEvent.action)).all() == ["user.created"]
    engine.dispose()

    listed = CliRunner().invoke(app, ["users", "list"])
    assert "zoe@acme.example" in listed.output


def test_an_unknown_department_is_refused_with_the_valid_ones(database):
    result = CliRunner().invoke(
        app,
        [
            "users",
            "add",
            "x@acme.example",
            "--name",
            "X",
            "--department",
            "legal",
            "--password",
            "lantern orchard quietly",
        ],
    )

    assert result.exit_code == 2
    assert "unknown department 'legal' (valid: marketing, pr, customer_service" in result.stderr


def test_a_short_password_is_refused(database):
    result = CliRunner().invoke(
        app,
        [
            "users",
            "add",
            "x@acme.example",
            "--name",
            "X",
            "--department",
            "it",
            "--password",
            "short",
        ],
    )

    assert result.exit_code == 2
    assert "Use at least 12 characters" in result.stderr
