"""`townhall policy ...` (placeholder until the policy module lands)."""

import typer

app = typer.Typer(no_args_is_help=True)
