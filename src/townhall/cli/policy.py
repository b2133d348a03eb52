"""``townhall policy check|show``: validate the policy file and print its ownership matrix."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from townhall.errors import PolicyError
from townhall.org.loader import load_policy, parse_policy
from townhall.org.policy import Policy

app = typer.Typer(
    no_args_is_help=True,
    help="Check the organisation policy file and show who owns what.",
)

PolicyFile = Annotated[
    Path,
    typer.Argument(
        help="The policy YAML file, e.g. examples/acme/policy.yaml, or - for stdin.",
        show_default=False,
    ),
]


def _load_or_exit(file: Path) -> Policy:
    try:
        if str(file) == "-":
            return parse_policy(sys.stdin.read(), "<stdin>")
        return load_policy(file)
    except PolicyError as exc:
        err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
        for problem in exc.problems:
            err.print(problem)
        err.print(f"{len(exc.problems)} problem(s) in {file}")
        raise typer.Exit(code=1) from None


@app.command()
def check(file: PolicyFile) -> None:
    """Validate FILE and list every problem with its line; exit 1 if there are any."""
    policy = _load_or_exit(file)
    out = Console(soft_wrap=True, highlight=False)
    out.print(
        f"[green]ok[/green]: {file}: {len(policy.departments)} departments, "
        f"{len(policy.people)} people, {len(policy.channels)} channels, "
        f"{len(policy.ownership)} activities"
    )


@app.command()
def show(file: PolicyFile) -> None:
    """Print the ownership matrix of FILE: for each activity, who leads and who supports."""
    policy = _load_or_exit(file)
    table = Table(title=f"Ownership matrix ({policy.brand.name})")
    table.add_column("activity", style="bold", no_wrap=True)
    table.add_column("lead", style="green")
    table.add_column("support")
    for activity in policy.ownership:
        table.add_row(activity.id, ", ".join(activity.lead), ", ".join(activity.support))
    Console(highlight=False).print(table)
