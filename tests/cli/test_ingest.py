"""`townhall ingest`: every valid line stored once, bad lines named, a true summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine
from townhall.models import Item, PostRecord


@pytest.fixture
def database(make_database_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> str:
    url = make_database_url()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        posts = conn.scalar(select(func.count()).select_from(PostRecord))
        items = conn.scalar(select(func.count()).select_from(Item))
    engine.dispose()
    return posts or 0, items or 0


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_bytes(
        b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in rows) + b"\n"
    )
    return path


def test_ingest_stores_good_lines_and_names_bad_ones(database, tmp_path, make_post):
    good = [make_post(n).to_json() for n in range(1, 6)]
    reshare = make_post(6, text="", reshare_of=good[0]["id"]).to_json()
    bad_time = {**good[0], "id": "mastodon:999", "created_at": "2026-11-20 14:00"}
    file = write_jsonl(
        tmp_path / "day.jsonl",
        [good[0], good[1], b"{oops", good[2], bad_time, good[3], good[4], good[0], reshare],
    )

    result = CliRunner().invoke(app, ["ingest", str(file)])

    assert result.exit_code == 1, result.output
    summary = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert summary == {
        "read": 9,
        "stored": 6,
        "duplicates": 1,
        "rejected": 2,
        "items": 5,
        "dead_letters": 0,
        "queued": 0,
    }
    assert f"{file}:3: not valid JSON" in result.stderr
    assert f"{file}:5: created_at: needs a time zone" in result.stderr
    assert counts(database) == (6, 5)


def test_ingesting_the_same_file_twice_stores_nothing_new(database, tmp_path, make_post):
    file = write_jsonl(tmp_path / "a.jsonl", [make_post(n).to_json() for n in range(1, 4)])
    runner = CliRunner()

    first = runner.invoke(app, ["ingest", str(file)])
    second = runner.invoke(app, ["ingest", str(file)])

    assert first.exit_code == second.exit_code == 0
    assert orjson.loads(second.stdout.strip().splitlines()[-1])["duplicates"] == 3
    assert counts(database) == (3, 3)


def test_ingest_reads_stdin(database, make_post):
    data = b"\n".join(orjson.dumps(make_post(n).to_json()) for n in range(1, 3))

    result = CliRunner().invoke(app, ["ingest", "-"], input=data)

    assert result.exit_code == 0, result.output
    assert counts(database) == (2, 2)


def test_a_missing_file_is_a_clear_error(database, tmp_path):
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope.jsonl")])

    assert result.exit_code == 2
    assert "nope.jsonl: no such file" in result.stderr


def test_a_bad_policy_stops_before_anything_is_stored(database, tmp_path, make_post):
    file = write_jsonl(tmp_path / "a.jsonl", [make_post(1).to_json()])
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 2\n")

    result = CliRunner().invoke(app, ["ingest", str(file), "--policy", str(policy)])

    assert result.exit_code == 1
    assert "policy.yaml:1: version" in result.stderr
    assert counts(database) == (0, 0)


def test_policy_errors_with_brackets_are_printed_verbatim(database, tmp_path, make_post):
    file = write_jsonl(tmp_path / "a.jsonl", [make_post(1).to_json()])
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        (Path(__file__).parents[2] / "examples/acme/policy.yaml")
        .read_text()
        .replace("default_owner: pr", "default_owner: legal", 1)
    )

    result = CliRunner().invoke(app, ["ingest", str(file), "--policy", str(policy)])

    assert result.exit_code == 1
    assert "channels[3].default_owner: unknown department 'legal'" in result.stderr
