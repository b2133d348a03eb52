"""`townhall webhooks add|list|deliver|replay` on a real database and a local receiver."""

from __future__ import annotations

import time

import orjson
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine, session_factory, transaction
from townhall.models import DeliveryStatus, WebhookDelivery
from townhall.posts import now_utc
from townhall.webhooks.outgoing import emit
from townhall.webhooks.signing import verify_signature


@pytest.fixture
def database(make_database_url, monkeypatch, settings):
    url = make_database_url()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    monkeypatch.setenv("TOWNHALL_SECRETS_KEY", settings.secrets_key)
    get_settings.cache_clear()
    engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()
    get_settings.cache_clear()


def test_add_list_deliver_and_replay(database, receiver):
    runner = CliRunner()
    added = runner.invoke(
        app,
        [
            "webhooks",
            "add",
            "ops\x1b[31m",
            receiver.url,
            "--event",
            "post.failed",
            "-e",
            "crisis.opened",
        ],
    )
    assert added.exit_code == 1  # a control character in the name is refused
    added = runner.invoke(
        app,
        ["webhooks", "add", "ops", receiver.url, "--event", "post.failed", "-e", "crisis.opened"],
    )
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")

    listed = runner.invoke(app, ["webhooks", "list"])
    (line,) = [orjson.loads(x) for x in listed.stdout.splitlines()]
    assert line["name"] == "ops"
    assert line["events"] == ["crisis.opened", "post.failed"]
    assert line["last"] is None and "secret" not in listed.stdout

    with transaction(database) as session:
        emit(session, "post.failed", {"outbox_id": 4}, now_utc())
    delivered = runner.invoke(app, ["webhooks", "deliver", "--once"])
    assert delivered.exit_code == 0, delivered.output
    assert orjson.loads(delivered.stdout) == {"delivered": 1, "retried": 0, "failed": 0}
    (got,) = receiver.received
    assert verify_signature(secret, got.headers["townhall-signature"], got.body, time.time())

    refused = runner.invoke(app, ["webhooks", "replay", "1"])
    assert refused.exit_code == 1 and "only failed" in refused.output
    with transaction(database) as session:
        session.execute(update(WebhookDelivery).values(status=DeliveryStatus.FAILED))
    replayed = runner.invoke(app, ["webhooks", "replay", "1"])
    assert replayed.exit_code == 0, replayed.output
    assert orjson.loads(replayed.stdout)["status"] == "pending"
    with database() as session:
        assert session.scalar(select(WebhookDelivery.status)) == DeliveryStatus.PENDING
    assert runner.invoke(app, ["webhooks", "replay", "77"]).exit_code == 1


def test_add_without_a_secrets_key_says_what_to_do(database, monkeypatch, receiver):
    monkeypatch.delenv("TOWNHALL_SECRETS_KEY")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["webhooks", "add", "ops", receiver.url, "-e", "post.failed"])
    assert result.exit_code == 1
    assert "TOWNHALL_SECRETS_KEY" in result.output
