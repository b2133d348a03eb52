"""`townhall radar forecast` and `townhall radar replay`: JSONL out, numbered errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from townhall.cli.app import app


def test_forecast_writes_one_line_per_valid_cascade_and_names_bad_ones(tmp_path: Path):
    good = {
        "id": "c1",
        "author_followers": 800,
        "reshares": [{"at": 20 * k, "followers": 100} for k in range(1, 9)],
        "observed_for": 600,
    }
    lines = [orjson.dumps(good), b'{"id": "c2"}', b"", orjson.dumps({**good, "id": "c3"})]
    file = tmp_path / "cascades.jsonl"
    file.write_bytes(b"\n".join(lines))

    result = CliRunner().invoke(app, ["radar", "forecast", str(file), "--viral-threshold", "50"])

    assert result.exit_code == 1
    assert f"{file}:2: author_followers: field required" in result.stderr
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["c1", "c3"]
    for row in rows:
        assert set(row) == {"id", "predicted_final", "interval", "p_viral"}
        lo, hi = row["interval"]
        assert 8 <= lo <= row["predicted_final"] <= hi
        assert 0 <= row["p_viral"] <= 1
    assert rows[0] == rows[1] | {"id": "c1"}


def test_forecast_reads_stdin_and_exits_0_when_all_lines_are_good():
    line = orjson.dumps({"id": "a", "author_followers": 10, "reshares": [], "observed_for": 60})
    result = CliRunner().invoke(app, ["radar", "forecast", "-"], input=line + b"\n")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["id"] == "a"


def test_replay_of_the_simulated_morning_alerts_on_the_airfry_story(tmp_path: Path):
    day = tmp_path / "day.jsonl"
    sim = CliRunner().invoke(
        app,
        ["simulate", "--start", "2026-11-20T00:00:00Z", "--hours", "11", "--out", str(day)],
    )
    assert sim.exit_code == 0, sim.output
    with day.open("ab") as handle:
        handle.write(b"{broken\n")

    result = CliRunner().invoke(app, ["radar", "replay", str(day)])

    assert result.exit_code == 1  # the broken line
    assert ":" in result.stderr and "not valid JSON" in result.stderr
    alerts = [orjson.loads(line) for line in result.stdout.splitlines()]
    for alert in alerts:
        assert set(alert) == {"at", "kind", "topic", "severity", "post_ids", "why"}
    crisis = [a for a in alerts if a["kind"] == "crisis" and a["topic"] == "product:airfry_5"]
    assert crisis, alerts
    assert "2026-11-20T09:30:00Z" < crisis[0]["at"] < "2026-11-20T11:00:00Z"
    assert "ACME owners club" in crisis[0]["why"]
