"""What the commands share: the stderr console, input files, the runtime set-up."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from townhall.errors import ConfigError

err = Console(stderr=True, highlight=False, soft_wrap=True)
"""Progress, warnings and per-line errors go to stderr so stdout stays pipeable."""


@contextmanager
def open_input(name: str) -> Iterator[tuple[BinaryIO, int | None]]:
    """Open a file (or ``-`` for stdin) for binary line reading; yields (stream, size or None)."""
    if name == "-":
        yield sys.stdin.buffer, None
        return
    path = Path(name)
    if not path.is_file():
        err.print(f"[red]error:[/] {escape(name)}: no such file")
        raise typer.Exit(2)
    with path.open("rb") as stream:
        yield stream, path.stat().st_size


def byte_progress(label: str) -> Progress:
    """A progress bar over bytes read, on stderr."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=err,
        transient=False,
    )


def fail_config(exc: ConfigError) -> typer.Exit:
    """Print a configuration error (every problem on its own line) and return the exit."""
    for line in exc.message.splitlines():
        err.print(f"[red]error:[/] {escape(line)}")
    return typer.Exit(1)
