"""``townhall audit``: Tamper-evident audit log: verify the hash chain."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
