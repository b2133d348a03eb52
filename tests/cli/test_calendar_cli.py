"""`townhall calendar feed create|list|revoke` and `townhall calendar recurring`: the token is
printed once and never listed; a revoked feed is gone; the recurring pass prints one JSON line
per draft, writes nothing with --dry-run, and nothing twice."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine, session_factory
from townhall.models import AuditEvent, CalendarFeed, OutboxPost, Role
from townhall.org.accounts import upsert_user
from townhall.publishing import feeds, recurring

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"
TOM = "tom.becker@acme.example"
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def database(
    make_database_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    url = make_database_url()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    monkeypatch.setenv("TOWNHALL_POLICY", str(ACME))
    monkeypatch.setenv("TOWNHALL_HOME", str(tmp_path))
    get_settings.cache_clear()
    engine = make_engine(url)
    with session_factory(engine)() as session, session.begin():
        for email, name, department in [
            (TOM, "Tom Becker", "marketing"),
            ("dan.murphy@acme.example", "Dan Murphy", "customer_service"),
        ]:
            upsert_user(session, email=email, name=name, department=department,
                        role=Role.MEMBER, password="unused", now=datetime.now(UTC))  # fmt: skip
    engine.dispose()
    yield url
    get_settings.cache_clear()


def run(*args: str, code: int = 0) -> tuple[list[dict[str, Any]], str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.stderr
    return [
        orjson.loads(line) for line in result.stdout.splitlines() if line.strip()
    ], result.stderr


def rows(url: str, model: Any) -> list[Any]:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        found = list(session.scalars(select(model).order_by(model.id)).unique())
    engine.dispose()
    return found


def test_feed_create_list_revoke(database: str) -> None:
    [made], note = run("calendar", "feed", "create", "--as", "Dan.Murphy@acme.example",
                       "--department", "customer_service")  # fmt: skip
    assert made["label"] == "Customer service plan" and "shown this once" in note
    assert made["token"].startswith("thc_") and made["path"] == f"/feeds/{made['token']}.ics"
    [row] = rows(database, CalendarFeed)
    assert row.token_hash == feeds.hash_token(made["token"]) and row.id == made["id"]

    listed, _ = run("calendar", "feed", "list")
    assert [(f["id"], f["person"], f["status"]) for f in listed] == [
        (made["id"], "dan.murphy@acme.example", "active")
    ]
    assert made["token"] not in orjson.dumps(listed).decode()
    assert run("calendar", "feed", "list", TOM)[0] == []

    _, said = run("calendar", "feed", "revoke", str(made["id"]))
    assert "is revoked" in said
    assert run("calendar", "feed", "list")[0][0]["status"] == "revoked"
    _, again = run("calendar", "feed", "revoke", str(made["id"]), code=1)
    assert "already revoked" in again
    actions = [e.action for e in rows(database, AuditEvent) if e.subject_type == "calendar_feed"]
    assert actions == ["calendar_feed.created", "calendar_feed.revoked"]


def test_feed_create_refuses_bad_input(database: str) -> None:
    _, both = run("calendar", "feed", "create", "--as", TOM, code=2)
    assert "exactly one of --department or --campaign" in both
    _, nobody = run("calendar", "feed", "create", "--as", "x@acme.example",
                    "--department", "pr", code=2)  # fmt: skip
    assert "no active login" in nobody
    _, unknown = run("calendar", "feed", "create", "--as", TOM, "--campaign", "42", code=1)
    assert "no campaign" in unknown
    assert rows(database, CalendarFeed) == []


def _posts(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(OutboxPost))
    engine.dispose()
    return int(count or 0)


def test_recurring_dry_run_then_write_once(database: str) -> None:
    before = datetime.now(UTC)
    planned, note = run("calendar", "recurring", "--dry-run", "--days", "21")
    assert "dry run" in note and _posts(database) == 0
    # ACME's tip of the week: Tuesdays at 10:00 London, in Tom's name, from today to 21 days
    # ahead (a Tuesday whose 10:00 has passed is not written).
    today = before.astimezone(LONDON).date()
    tuesdays = [
        today + timedelta(days=n) for n in range(22) if (today + timedelta(days=n)).weekday() == 1
    ]
    expected = [d for d in tuesdays if datetime.combine(d, time(10), LONDON) > before]
    assert [line["day"] for line in planned] == [d.isoformat() for d in expected]
    for line in planned:
        at = datetime.fromisoformat(line["at"]).astimezone(LONDON)
        assert (at.strftime("%a"), at.time()) == ("Tue", time(10, 0))
        assert at > before and line["slot"] == "tip_of_the_week"
        assert (line["id"], line["status"], line["warning"]) == (None, "would write", None)

    written, _ = run("calendar", "recurring", "--days", "21")
    assert [(w["day"], w["at"]) for w in written] == [(p["day"], p["at"]) for p in planned]
    posts = rows(database, OutboxPost)
    assert [p.id for p in posts] == [w["id"] for w in written]
    assert {p.key for p in posts} == {
        recurring.key_of("tip_of_the_week", datetime.fromisoformat(w["day"]).date())
        for w in written
    }
    assert run("calendar", "recurring", "--days", "21")[0] == []
    assert _posts(database) == len(written)
