"""`townhall campaigns create|list|show|spend`: money as decimals, times in the company's zone,
the acting person's right checked, errors that name the field."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine, session_factory, transaction
from townhall.models import AuditEvent, Campaign, CampaignSpend, Role
from townhall.org.accounts import upsert_user

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"
MAYA = "maya.patel@acme.example"
TOM = "tom.becker@acme.example"


@pytest.fixture
def database(
    make_database_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    url = make_database_url()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    monkeypatch.setenv("TOWNHALL_POLICY", str(ACME))
    get_settings.cache_clear()
    engine = make_engine(url)
    from townhall.db import migrate

    migrate(engine)
    now = datetime.now(UTC)
    with transaction(session_factory(engine)) as session:
        for email, name, department, role in [
            (MAYA, "Maya Patel", "marketing", "social_lead"),
            (TOM, "Tom Becker", "marketing", Role.MEMBER),
            ("jonas.weber@acme.example", "Jonas Weber", "it", Role.ADMIN),
        ]:
            upsert_user(
                session,
                email=email,
                name=name,
                department=department,
                role=role,
                password="lantern orchard quietly",
                now=now,
            )
    engine.dispose()
    yield url
    get_settings.cache_clear()


def run(*args: str):
    return CliRunner().invoke(app, ["campaigns", *args])


def create_launch(*extra: str):
    return run(
        "create",
        "AirFry 5 launch",
        "--start",
        "2026-07-01",
        "--end",
        "2026-07-14",
        "--channel",
        "mastodon",
        "--budget",
        "1,500.00",
        "--paid",
        "--category",
        "promotional",
        "--target-metric",
        "replies",
        "--target",
        "200",
        "--as",
        MAYA,
        *extra,
    )


def test_create_prints_the_campaign_and_reads_dates_in_the_company_zone(database) -> None:
    result = create_launch()
    assert result.exit_code == 0, result.output
    row = orjson.loads(result.stdout)
    assert row["slug"] == "airfry-5-launch"
    assert row["department"] == "marketing"
    assert row["budget_cents"] == 150_000
    assert row["paid"] is True
    # Europe/London is on summer time in July: local midnight is 23:00 UTC the day before, and
    # the end date means the end of that day.
    assert row["starts_at"] == "2026-06-30T23:00:00+00:00"
    assert row["ends_at"] == "2026-07-14T23:00:00+00:00"
    engine = make_engine(database)
    with session_factory(engine)() as session:
        assert session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_type == "campaign")
        ).all() == ["campaign.created"]
        assert session.scalars(
            select(AuditEvent.actor).where(AuditEvent.subject_type == "campaign")
        ).all() == [MAYA]
    engine.dispose()


def test_list_shows_a_table_and_json_lines(database) -> None:
    assert create_launch().exit_code == 0
    table = run("list")
    assert table.exit_code == 0, table.output
    assert "AirFry 5 launch" in table.stdout and "EUR 0.00 of EUR 1,500.00" in table.stdout
    lines = run("list", "--json").stdout.splitlines()
    assert [orjson.loads(line)["slug"] for line in lines] == ["airfry-5-launch"]


def test_spend_adds_up_and_show_reports_the_budget(database) -> None:
    assert create_launch().exit_code == 0
    first = run(
        "spend", "airfry-5-launch", "1200", "--on", "2026-07-02", "--note", "Ads", "--as", MAYA
    )
    assert first.exit_code == 0, first.output
    assert orjson.loads(first.stdout)["spent_cents"] == 120_000
    second = run("spend", "airfry-5-launch", "400.50", "--on", "2026-07-03", "--as", MAYA)
    assert orjson.loads(second.stdout)["spent_cents"] == 160_050
    shown = run("show", "airfry-5-launch")
    assert shown.exit_code == 0, shown.output
    assert (
        "Budget: EUR 1,500.00, spent EUR 1,600.50, remaining -EUR 100.50 — over budget"
        in shown.stdout
    )
    data = orjson.loads(run("show", "airfry-5-launch", "--json").stdout)
    assert (data["over_budget"], data["remaining_cents"]) == (True, -10_050)


def test_errors_name_the_field(database) -> None:
    assert create_launch().exit_code == 0
    clash = create_launch()
    assert clash.exit_code == 1 and "slug: 'airfry-5-launch' is already" in clash.output
    money = run("spend", "airfry-5-launch", "12,5.5.5", "--on", "2026-07-02", "--as", MAYA)
    assert money.exit_code == 1 and "amount: not an amount" in money.output
    day = run("spend", "airfry-5-launch", "10", "--on", "July", "--as", MAYA)
    assert day.exit_code == 2 and "--on: not a date" in day.output
    when = run("create", "X", "--start", "soon", "--end", "2026-07-14", "--as", MAYA)
    assert when.exit_code == 2 and "--start: not a date or time" in when.output
    backwards = run("create", "Y", "--start", "2026-07-14", "--end", "2026-07-01", "--as", MAYA)
    assert (
        backwards.exit_code == 1 and "ends_at: a campaign ends after it starts" in backwards.output
    )
    missing = run("show", "nope")
    assert missing.exit_code == 1 and "no campaign 'nope'" in missing.output


def test_the_acting_person_needs_the_campaigns_right(database) -> None:
    refused = run("create", "Tom's", "--start", "2026-07-01", "--end", "2026-07-02", "--as", TOM)
    assert refused.exit_code == 1
    assert "You may not manage campaigns of Marketing" in refused.output
    nobody = run("create", "Z", "--start", "2026-07-01", "--end", "2026-07-02", "--as", "x@y.z")
    assert nobody.exit_code == 2 and "--as: no active login" in nobody.output
    # Without --as the operator acts: the admin.
    operator = run("create", "Operator's", "--start", "2026-07-01", "--end", "2026-07-02")
    assert operator.exit_code == 0, operator.output
    engine = make_engine(database)
    with session_factory(engine)() as session:
        assert session.scalars(select(Campaign.name)).all() == ["Operator's"]
        assert session.scalars(select(CampaignSpend)).all() == []
        assert session.scalars(
            select(AuditEvent.actor).where(AuditEvent.subject_type == "campaign")
        ).all() == ["jonas.weber@acme.example"]
    engine.dispose()


def test_names_are_printed_safely(database) -> None:
    made = run(
        "create",
        "[bold]Evil\x1b[2J",
        "--slug",
        "evil",
        "--start",
        "2026-07-01",
        "--end",
        "2026-07-02",
        "--as",
        MAYA,
    )
    assert made.exit_code == 0, made.output
    shown = run("show", "evil")
    assert "\x1b" not in shown.stdout and "[bold]Evil" in shown.stdout
    listed = run("list")
    assert "\x1b" not in listed.stdout and "[bold]Evil" in listed.stdout
