"""`townhall plans ...` and `townhall plans planned ...`: a PR plan from the shell, its draft
down the statement chain, planned entries in the company's zone, and safe, named errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine, session_factory
from townhall.models import Role
from townhall.org.accounts import upsert_user

ACME_POLICY = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"
GRACE = "grace.lindqvist@acme.example"
MAYA = "maya.patel@acme.example"
CHLOE = "chloe.martin@acme.example"
EVIL = "\x1b[31m[bold]red[/bold]"


@pytest.fixture
def env(
    tmp_path: Path, make_database_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    url = make_database_url()
    values = {
        "TOWNHALL_DATABASE_URL": url,
        "TOWNHALL_POLICY": str(ACME_POLICY),
        "TOWNHALL_HOME": str(tmp_path),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    engine = make_engine(url)
    with session_factory(engine)() as session, session.begin():
        for email, department, role in [
            ("jonas.weber@acme.example", "it", Role.ADMIN),
            (GRACE, "pr", "crisis_lead"),
            (MAYA, "marketing", "social_lead"),
            (CHLOE, "email", Role.MEMBER),
        ]:
            upsert_user(session, email=email, name=email.split(".")[0].title(),
                        department=department, role=role, password="not-used-here",
                        now=datetime.now(UTC))  # fmt: skip
    engine.dispose()
    yield
    get_settings.cache_clear()


def run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, ["plans", *args])
    assert result.exit_code == code, result.stderr + result.stdout
    return result


def line(*args: str) -> dict[str, Any]:
    return dict(orjson.loads(run(*args).stdout.strip().splitlines()[-1]))


def test_a_plan_from_the_shell_and_its_statement_draft(env) -> None:
    plan = line("create", "AirFry 5 launch", "--purpose", "launch", "--as", GRACE)
    assert (plan["department"], plan["purpose"], plan["status"]) == ("pr", "launch", "open")
    first = line(
        "step", str(plan["id"]), "--title", "Launch statement", "--due", "2030-06-10T09:00",
        "--channel", "mastodon", "--text", "The ACME AirFry 5 is here.", "--as", GRACE,
    )  # fmt: skip
    # 09:00 in London in June is 08:00 UTC.
    assert first["due_at"] == "2030-06-10T08:00:00+00:00" and first["state"] == "not written"
    second = line(
        "step", str(plan["id"]), "--title", "Press conference", "--due", "2030-06-10T11:00Z",
        "--as", GRACE,
    )  # fmt: skip
    assert (second["position"], second["channel"], second["due_at"]) == (
        2, None, "2030-06-10T11:00:00+00:00",
    )  # fmt: skip
    written = line("write", str(first["id"]), "--as", MAYA)
    assert (written["status"], written["chain"]) == ("draft", "statements")
    again = run("write", str(first["id"]), "--as", MAYA, code=1)
    assert "already has its draft" in again.stderr
    assert line("done", str(second["id"]), "--as", GRACE)["plan_status"] == "open"
    shown = line("show", str(plan["id"]), "--json")
    assert [(s["title"], s["state"]) for s in shown["steps"]] == [
        ("Launch statement", "waiting for approval"), ("Press conference", "done"),
    ]  # fmt: skip
    table = run("show", str(plan["id"])).stdout
    assert f"draft #{written['outbox_id']}" in table and "2030-06-10 09:00" in table
    listed = run("list").stdout
    assert "AirFry 5 launch" in listed and "1/2" in listed


def test_plan_errors_are_named_and_hostile_names_print_safely(env) -> None:
    denied = run("create", "X", "--as", CHLOE, code=1)
    assert "You may not edit the communication plans of Public relations" in denied.stderr
    assert "no active login" in run("create", "X", "--as", "nobody@acme.example", code=2).stderr
    plan = line("create", EVIL, "--as", GRACE)
    assert plan["name"] == EVIL  # stored as typed, JSON-escaped on stdout
    listed = run("list").stdout
    assert "\x1b" not in listed and "[bold]red[/bold]" in listed
    bad = run("step", str(plan["id"]), "--title", "A", "--due", "soon", "--as", GRACE, code=2)
    assert "--due: not a time" in bad.stderr


def test_the_email_team_plans_a_newsletter_from_the_shell(env) -> None:
    entry = line(
        "planned", "add", "--kind", "email", "--title", "December newsletter",
        "--at", "2026-12-10T08:00", "--category", "newsletter", "--as", CHLOE,
    )  # fmt: skip
    assert (entry["department"], entry["category"], entry["starts_at"]) == (
        "email", "newsletter", "2026-12-10T08:00:00+00:00",
    )  # fmt: skip
    # The operator (an admin) plans search's content for them.
    guide = line("planned", "add", "--kind", "search", "--title", "Guide", "--department",
                 "search", "--at", "2026-12-11T10:00")  # fmt: skip
    bad = run("planned", "add", "--kind", "email", "--title", "X", "--at", "2026-12-10T08:00",
              "--category", "gossip", "--as", CHLOE, code=1)  # fmt: skip
    assert "category: unknown category 'gossip'" in bad.stderr
    listed = run("planned", "list", "--json", "--from", "2026-12-10T09:00").stdout
    assert [orjson.loads(x)["id"] for x in listed.splitlines()] == [guide["id"]]
    assert "December newsletter" in run("planned", "list").stdout
    denied = run("planned", "cancel", str(guide["id"]), "--as", CHLOE, code=1)
    assert "Search marketing" in denied.stderr
    assert line("planned", "cancel", str(entry["id"]), "--as", CHLOE)["cancelled"] is True
    assert run("planned", "list", "--json").stdout.count("\n") == 1
