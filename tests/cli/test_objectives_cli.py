"""`townhall objectives list|record`: a reading recorded as the acting person (their right
checked), its status consistent with the line printed, errors that name the field."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine, migrate, session_factory, transaction
from townhall.models import AuditEvent, KpiReading, Role
from townhall.org.accounts import upsert_user
from townhall.org.policy import load_policy

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"
MAYA = "maya.patel@acme.example"
TOM = "tom.becker@acme.example"
GB_ONLY = ["record", "store_clicks_gb", "5", "--on", "2026-11-18"]


@pytest.fixture
def database(
    make_database_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    url = make_database_url()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    monkeypatch.setenv("TOWNHALL_POLICY", str(ACME))
    get_settings.cache_clear()
    engine = make_engine(url)
    migrate(engine)
    with transaction(session_factory(engine)) as session:
        for email, name, department, role in [
            (MAYA, "Maya Patel", "marketing", "social_lead"),
            (TOM, "Tom Becker", "marketing", Role.MEMBER),
        ]:
            upsert_user(
                session,
                email=email,
                name=name,
                department=department,
                role=role,
                password="lantern orchard quietly",
                now=datetime.now(UTC),
            )
    engine.dispose()
    yield url
    get_settings.cache_clear()


def run(*args: str):
    return CliRunner().invoke(app, ["objectives", *args])


def _rows(output: str) -> dict[str, dict[str, object]]:
    rows = [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]
    return {str(r["kpi"]): r for r in rows}


def test_list_shows_every_key_result_of_the_policy(database: str) -> None:
    policy = load_policy(ACME)
    got = run("list", "--json")
    assert got.exit_code == 0, got.output
    rows = _rows(got.output)
    expected = {k.id for o in policy.objectives.objectives for k in o.kpis}
    assert set(rows) == expected
    assert all(r["status"] == "no_data" for k, r in rows.items() if k.startswith("store_"))
    table = run("list")
    assert table.exit_code == 0
    for objective in policy.objectives.objectives:
        for kpi in objective.kpis:
            assert kpi.id in table.output


def test_record_a_reading_and_see_it_counted(database: str) -> None:
    got = run("record", "store_clicks_gb", "1,250", "--on", "2026-11-18", "--as", MAYA)
    assert got.exit_code == 0, got.output
    line = orjson.loads(got.stdout.splitlines()[0])
    assert (line["kpi"], line["value"], line["country"]) == ("store_clicks_gb", 1250, "GB")
    rows = _rows(run("list", "--json").output)
    row = rows["store_clicks_gb"]
    assert row["value"] == 1250
    # 1,250 clicks is past the 1,200 target: achieved, whatever today is.
    assert row["status"] == "achieved"
    second = run("record", "store_clicks_gb", "50", "--on", "2026-11-19", "--as", MAYA)
    assert second.exit_code == 0, second.output
    assert _rows(run("list", "--json").output)["store_clicks_gb"]["value"] == 1300
    engine = make_engine(database)
    with transaction(session_factory(engine)) as session:
        assert session.scalar(select(func.count(KpiReading.id))) == 2
        assert (
            session.scalar(
                select(func.count(AuditEvent.id)).where(AuditEvent.action == "kpi.reading")
            )
            == 2
        )
    engine.dispose()


def test_the_latest_reading_stands_and_the_status_follows_the_line(database: str) -> None:
    for value, day in (("9000", "2026-11-10"), ("4000", "2026-11-17")):
        got = run("record", "job_post_reach_gb", value, "--on", day, "--as", MAYA)
        assert got.exit_code == 0, got.output
    row = _rows(run("list", "--json").output)["job_post_reach_gb"]
    assert row["value"] == 4000  # the last reading, not the sum
    line = row["line_today"]
    assert isinstance(line, float)
    assert row["status"] == ("on_track" if line <= 4000 else "behind")


def test_refusals_name_the_field(database: str) -> None:
    cases = [
        (["record", "store_clicks_gb", "lots", "--on", "2026-11-18", "--as", MAYA], "value:"),
        (["record", "store_clicks_gb", "5", "--on", "18/11/2026", "--as", MAYA], "--on:"),
        (["record", "negative_share", "0.1", "--on", "2026-11-18", "--as", MAYA], "kpi:"),
        (["record", "nope", "1", "--on", "2026-11-18", "--as", MAYA], "kpi:"),
        (
            [*GB_ONLY, "--country", "FR", "--as", MAYA],
            "country:",
        ),
        (["record", "store_clicks_gb", "5", "--on", "2026-11-18", "--as", TOM], "may not"),
    ]
    for args, words in cases:
        got = run(*args)
        assert got.exit_code != 0, args
        assert words in got.output, (args, got.output)
    engine = make_engine(database)
    with transaction(session_factory(engine)) as session:
        assert session.scalar(select(func.count(KpiReading.id))) == 0
    engine.dispose()


def test_a_campaign_serves_an_objective(database: str) -> None:
    base = ["campaigns", "create", "Winter stores", "--start", "2026-11-23", "--end"]
    base += ["2026-12-07", "--as", MAYA]
    refused = CliRunner().invoke(app, [*base, "--objective-id", "world_peace"])
    assert refused.exit_code != 0
    assert "objective_id: unknown objective" in refused.output
    made = CliRunner().invoke(app, [*base, "--objective-id", "store_visits"])
    assert made.exit_code == 0, made.output
    assert orjson.loads(made.stdout.splitlines()[0])["objective_id"] == "store_visits"


def test_the_demo_readings(database: str) -> None:
    from townhall.cli.demo_objectives import READINGS, seed_readings
    from townhall.models import User

    policy = load_policy(ACME)
    now = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    engine = make_engine(database)
    with transaction(session_factory(engine)) as session:
        maya = session.scalar(select(User).where(User.email == MAYA))
        assert maya is not None
        lines = seed_readings(session, policy, maya, now)
    engine.dispose()
    starts = {k.id: o.starts for o in policy.objectives.objectives for k in o.kpis}
    kept = [r for r in READINGS if now.date() - timedelta(days=r[1]) >= starts[r[0]]]
    assert len(lines) == len({r[0] for r in kept})
    rows = _rows(run("list", "--json").output)
    gb = [v for k, _, v, _ in kept if k == "store_clicks_gb"]
    assert rows["store_clicks_gb"]["value"] == sum(gb)
