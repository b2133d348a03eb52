"""``townhall policy check|show`` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from townhall.cli.policy import app

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"
THREE_ERRORS = Path(__file__).parent / "fixtures" / "three_errors.yaml"

runner = CliRunner()


def test_check_ok() -> None:
    result = runner.invoke(app, ["check", str(ACME)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"ok: {ACME}: 9 departments, 14 people, 4 channels, 17 activities\n")
    assert result.stderr == ""


def test_check_lists_every_problem_on_stderr_and_exits_1() -> None:
    result = runner.invoke(app, ["check", str(THREE_ERRORS)])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"{THREE_ERRORS}:15: departments[1].id: duplicate id 'ops' (first at departments[0])"
    )
    assert (
        f"{THREE_ERRORS}:25: people[1].department: unknown department 'legall' (valid: ops)"
        in lines
    )
    assert lines[-1] == f"4 problem(s) in {THREE_ERRORS}"


def test_check_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}: file not found" in result.stderr


def test_check_reads_stdin() -> None:
    result = runner.invoke(app, ["check", "-"], input="version: 2\n")
    assert result.exit_code == 1
    assert "<stdin>:1: version: unsupported policy version 2 (valid: 1)" in result.stderr


def test_show_prints_the_ownership_matrix() -> None:
    result = runner.invoke(app, ["show", str(ACME)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    rows = {
        cells[0]: cells[1:]
        for line in result.stdout.splitlines()
        if (cells := [c.strip() for c in line.strip("│ \n").split("│")]) and len(cells) == 3
    }
    assert rows["crisis_management"] == ["pr", "customer_service, back_office, it"]
    assert rows["influencer_relationships"] == ["marketing, pr", "sales"]
    assert len(rows) == 17
    assert "Ownership matrix (ACME)" in result.stdout


def test_show_refuses_a_bad_policy() -> None:
    result = runner.invoke(app, ["show", str(THREE_ERRORS)])
    assert result.exit_code == 1
    assert "unknown department 'legall'" in result.stderr


def test_help_describes_the_commands() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "check" in result.stdout
    assert "ownership matrix" in result.stdout
