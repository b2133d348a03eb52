"""`townhall publish draft|approve|run`, and exactly once when the publisher is killed (-9)
after its claim, after the network call but before its commit, and after its commit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from typer.testing import CliRunner

from networks import TOKEN_ENV, mastodon_channel, policy_with
from townhall.cli.app import app
from townhall.config import get_settings
from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.connectors.standin import LocalServer
from townhall.db import make_engine, session_factory
from townhall.models import OutboxPost, Role
from townhall.org.accounts import upsert_user

TOWNHALL = [sys.executable, "-m", "townhall.cli"]


class KillSwitch:
    """An ASGI wrapper around the stand-in: kills the publisher process when its POST of a
    status arrives, before the stand-in sees it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.pid: int | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.pid is not None
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/api/v1/statuses"
        ):
            os.kill(self.pid, signal.SIGKILL)
            self.pid = None
            await Response(status_code=503)(scope, receive, send)
            return
        await self.app(scope, receive, send)


@pytest.fixture
def standin() -> MastodonStandin:
    return MastodonStandin(domain="mastodon.example", username="acme", token="t0k3n")


@pytest.fixture
def switch(standin: MastodonStandin) -> Iterator[tuple[KillSwitch, LocalServer]]:
    wrapped = KillSwitch(standin.app)
    with LocalServer(wrapped) as server:
        yield wrapped, server


@pytest.fixture
def env(
    tmp_path: Path,
    switch: tuple[KillSwitch, LocalServer],
    make_database_url: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, str]]:
    policy = policy_with(tmp_path, mastodon_channel(switch[1].url))
    url = make_database_url()
    values = {
        "TOWNHALL_DATABASE_URL": url,
        "TOWNHALL_POLICY": str(policy),
        "TOWNHALL_HOME": str(tmp_path),
        TOKEN_ENV: "t0k3n",
        "TOWNHALL_CHANNEL_TIMEOUT": "5",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    engine = make_engine(url)
    with session_factory(engine)() as session, session.begin():
        for email, dept, role in [
            ("dan.murphy@acme.example", "customer_service", Role.MEMBER),
            ("sofia.rossi@acme.example", "customer_service", Role.APPROVER),
        ]:
            upsert_user(
                session,
                email=email,
                name=email.split(".")[0].title(),
                department=dept,
                role=role,
                password="not-used-here",
                now=datetime.now(UTC),
            )
    engine.dispose()
    yield {**os.environ, **values}
    get_settings.cache_clear()


def cli(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return dict(orjson.loads(result.stdout.strip().splitlines()[-1]))


def creates(standin: MastodonStandin) -> int:
    return sum(1 for r in standin.requests if r.startswith("POST /api/v1/statuses"))


def status_of(env: dict[str, str], outbox_id: int) -> str:
    engine = make_engine(env["TOWNHALL_DATABASE_URL"])
    with engine.connect() as conn:
        status = conn.scalar(select(OutboxPost.status).where(OutboxPost.id == outbox_id))
    engine.dispose()
    return str(status)


def run_publisher(env: dict[str, str], **extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*TOWNHALL, "publish", "run", "--once"],
        env={**env, **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_a_members_draft_needs_an_approver_then_goes_out_once(env, standin) -> None:
    draft = cli(
        "publish", "draft", "--channel", "mastodon", "--text", "Repair café on Saturday!",
        "--as", "dan.murphy@acme.example",
    )  # fmt: skip
    assert draft["status"] == "draft" and isinstance(draft["id"], int)
    assert cli("publish", "run", "--once")["published"] == 0

    result = CliRunner().invoke(
        app, ["publish", "approve", str(draft["id"]), "--as", "dan.murphy@acme.example"]
    )
    assert result.exit_code == 1 and "Nobody approves their own draft" in result.stderr
    approved = cli("publish", "approve", str(draft["id"]), "--as", "sofia.rossi@acme.example")
    assert approved == {"id": draft["id"], "status": "approved", "step": 1}

    assert cli("publish", "run", "--once")["published"] == 1
    assert cli("publish", "run", "--once")["published"] == 0
    assert [s["content"] for s in standin.published] == ["<p>Repair café on Saturday!</p>"]


def test_a_draft_the_code_of_conduct_stops_prints_each_finding(env) -> None:
    text = "Call us on +44 20 7946 0958 and we will sort it"
    result = CliRunner().invoke(
        app,
        [
            "publish",
            "draft",
            "--channel",
            "mastodon",
            "--text",
            text,
            "--as",
            "dan.murphy@acme.example",
        ],
    )
    assert result.exit_code == 1, result.output
    lines = [orjson.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    (finding,) = [f for f in lines if f["rule"] == "phone_number"]
    assert text[finding["start"] : finding["end"]] == "+44 20 7946 0958"
    assert "code of conduct stops this draft" in result.stderr


def test_bad_draft_options_are_named(env) -> None:
    result = CliRunner().invoke(
        app,
        ["publish", "draft", "--channel", "mastodon", "--text", "hi", "--as", "nobody@x.example"],
    )
    assert result.exit_code == 2 and "--as: no active login" in result.stderr
    result = CliRunner().invoke(
        app,
        ["publish", "draft", "--channel", "mastodon", "--text", "hi", "--at", "tomorrow",
         "--as", "sofia.rossi@acme.example"],
    )  # fmt: skip
    assert result.exit_code == 2 and "--at: not an ISO time" in result.stderr


def _approved(text: str) -> int:
    made = cli(
        "publish", "draft", "--channel", "mastodon", "--text", text,
        "--as", "sofia.rossi@acme.example",
    )  # fmt: skip
    assert made["status"] == "approved"
    return int(made["id"])


def test_killed_after_the_claim_it_is_sent_once_after_reconciling(env, standin, switch) -> None:
    outbox_id = _approved("Killed after the claim")
    publisher = run_publisher(env)
    switch[0].pid = publisher.pid  # dies as its request reaches the network
    publisher.communicate(timeout=60)
    assert publisher.returncode == -signal.SIGKILL
    assert status_of(env, outbox_id) == "publishing" and standin.published == []

    # The claim outlived its lease: the next publisher reads the account back, does not
    # find the post, and sends it once.
    after = run_publisher(env, TOWNHALL_PUBLISH_LEASE="0.001")
    out, _ = after.communicate(timeout=60)
    summary = orjson.loads(out.splitlines()[-1])
    assert (summary["retried"], summary["published"]) == (1, 1)
    assert len(standin.published) == 1 and status_of(env, outbox_id) == "published"


def test_killed_after_the_call_before_the_commit_it_is_not_sent_again(env, standin) -> None:
    outbox_id = _approved("Killed after the call")
    pids: list[int] = []
    standin.on_create = lambda status: os.kill(pids[0], signal.SIGKILL)
    publisher = run_publisher(env)
    pids.append(publisher.pid)
    publisher.communicate(timeout=60)
    assert publisher.returncode == -signal.SIGKILL
    standin.on_create = None
    assert status_of(env, outbox_id) == "publishing" and len(standin.published) == 1

    after = run_publisher(env, TOWNHALL_PUBLISH_LEASE="0.001")
    out, _ = after.communicate(timeout=60)
    summary = orjson.loads(out.splitlines()[-1])
    assert (summary["reconciled"], summary["published"]) == (1, 0)
    assert len(standin.published) == 1 and creates(standin) == 1
    assert status_of(env, outbox_id) == "published"


def test_killed_after_the_commit_nothing_is_sent_again(env, standin) -> None:
    outbox_id = _approved("Killed after the commit")
    publisher = run_publisher(env)
    out, _ = publisher.communicate(timeout=60)
    assert orjson.loads(out.splitlines()[-1])["published"] == 1
    # Whatever happens to the process now, the post is settled: another pass sends nothing.
    again = run_publisher(env, TOWNHALL_PUBLISH_LEASE="0.001")
    again.communicate(timeout=60)
    assert again.returncode == 0
    assert creates(standin) == 1 and status_of(env, outbox_id) == "published"
