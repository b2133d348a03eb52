"""Meta-tests that keep the docs honest: every command is in the README and has help."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from townhall.cli.app import app

ROOT = Path(__file__).resolve().parents[1]


def command_paths() -> list[str]:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    paths = []
    for name, cmd in root.commands.items():
        if isinstance(cmd, TyperGroup):
            paths.extend(f"{name} {sub}" for sub in cmd.commands)
        else:
            paths.append(name)
    return sorted(paths)


def test_there_are_commands():
    assert {"demo", "serve", "ingest", "policy check"} <= set(command_paths())


@pytest.mark.parametrize("path", command_paths())
def test_every_command_is_in_the_readme(path: str):
    assert f"townhall {path}" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("path", command_paths())
def test_every_command_has_help(path: str):
    cmd = typer.main.get_command(app)
    for part in path.split():
        assert isinstance(cmd, TyperGroup)
        cmd = cmd.commands[part]
    assert cmd.help or cmd.short_help, f"`townhall {path}` has no help text"


def test_readme_names_both_setup_commands_and_ci_runs_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
