"""What the commands share: the stderr console, input files, the runtime set-up."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
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
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townhall.connectors.jsonl.connector import JsonlConnector
from townhall.errors import ConfigError, PostFormatError
from townhall.models import Role, User
from townhall.posts import MAX_FUTURE_SECONDS, Post, terminal_safe

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


def shown(text: str) -> str:
    """Text someone typed, safe to print (no control characters, no rich markup)."""
    return escape(terminal_safe(text))


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error on stderr and return the exit (``raise fail(...)``)."""
    err.print(f"[red]error:[/] {shown(message)}")
    return typer.Exit(code)


def acting_user(session: Session, email: str | None) -> User:
    """The person a command acts as: ``--as``, else the operator (the oldest active admin
    login); exits 2 when there is none."""
    if email is not None:
        user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        if user is None or not user.active:
            raise fail(f"--as: no active login {email!r} (see townhall users list)", 2)
        return user
    admin = session.scalar(
        select(User)
        .where(User.role == Role.ADMIN, User.active.is_(True))
        .order_by(User.created_at, User.id)
    )
    if admin is None:
        raise fail("--as: there is no active admin to act as the operator: name a login", 2)
    return admin


class PostBatches:
    """The valid posts of a Post JSONL file (or ``-``) in batches, under a progress bar.

    A bad line is printed on stderr with its number (the first ``max_errors_shown``) and
    counted in ``rejected``; every valid line is yielded.
    """

    def __init__(
        self,
        file: str,
        label: str,
        size: int,
        max_errors_shown: int | None = None,
        not_after: Callable[[], datetime] | None = None,
        max_future: float = MAX_FUTURE_SECONDS,
    ) -> None:
        """``not_after`` (a clock): reject posts dated more than ``max_future`` seconds after
        it (storing commands; offline ones read any date)."""
        self.not_after = not_after
        self.max_future = max_future
        self.file = file
        self.source = "<stdin>" if file == "-" else file
        self.label = label
        self.size = size
        self.max_errors_shown = max_errors_shown
        self.rejected = 0
        self._status: Callable[[str], None] = lambda text: None

    def status(self, text: str) -> None:
        """Show ``text`` at the end of the progress bar."""
        self._status(text)

    def __iter__(self) -> Iterator[list[Post]]:
        with open_input(self.file) as (stream, nbytes), byte_progress(self.label) as progress:
            task = progress.add_task(self.source, total=nbytes, status="")
            self._status = lambda text: progress.update(task, status=text)
            connector = JsonlConnector(
                stream,
                self.source,
                on_line=lambda line: progress.advance(task, len(line)),
                not_after=self.not_after,
                max_future=self.max_future,
            )
            batch: list[Post] = []
            for parsed in connector.fetch():
                if isinstance(parsed, PostFormatError):
                    self.rejected += 1
                    if self.max_errors_shown is None or self.rejected <= self.max_errors_shown:
                        progress.console.print(
                            f"[yellow]skipped[/] {escape(terminal_safe(parsed.message))}"
                        )
                    continue
                batch.append(parsed)
                if len(batch) >= self.size:
                    yield batch
                    batch = []
            if batch:
                yield batch
        if self.max_errors_shown is not None and self.rejected > self.max_errors_shown:
            err.print(
                f"[yellow]… and {self.rejected - self.max_errors_shown:,} more rejected lines[/]"
            )
