"""`townhall simulate`: writes valid Post JSONL and a summary on stderr."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
from typer.testing import CliRunner

from townhall.cli.simulate import simulate
from townhall.posts import parse_post


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(simulate)
    return app


def test_writes_jsonl_to_stdout_and_a_summary_to_stderr() -> None:
    result = CliRunner().invoke(
        _app(), ["--seed", "5", "--hours", "12", "--start", "2026-11-20T00:00:00Z"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    posts = [parse_post(line) for line in lines]
    assert len(posts) > 300
    assert posts[0].created_at.isoformat().startswith("2026-11-20T")
    assert any(p.extra.get("sim_story") for p in posts)
    assert f"{len(posts):,} posts" in result.stderr
    assert "reshares" in result.stderr and "mastodon" in result.stderr


def test_writes_a_file_without_the_crisis(tmp_path: Path) -> None:
    out = tmp_path / "day.jsonl"
    args = ["--hours", "14", "--rate", "20", "--no-crisis", "--out", str(out)]
    args += ["--start", "2026-11-20T00:00:00+00:00"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert rows and all(parse_post(row) for row in rows)
    assert not any("sim_story" in row for row in rows)


def test_same_seed_same_output() -> None:
    args = ["--hours", "3", "--start", "2026-11-20T08:00:00"]
    first = CliRunner().invoke(_app(), args).stdout
    assert first and first == CliRunner().invoke(_app(), args).stdout


def test_bad_start_is_a_usage_error() -> None:
    result = CliRunner().invoke(_app(), ["--start", "yesterday"])
    assert result.exit_code == 2
    assert "ISO time" in result.output
