"""``townhall backup`` and ``townhall restore``: the whole database to one file and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from townhall.backup import BackupHeader, restore_backup, write_backup
from townhall.cli.audit import event_progress
from townhall.cli.common import err
from townhall.config import get_settings
from townhall.db import make_engine
from townhall.errors import TownhallError
from townhall.posts import terminal_safe


def backup(
    file: Annotated[Path, typer.Argument(help="The backup file to write (gzip JSON lines).")],
) -> None:
    """Write the whole database to a file only you can read (a consistent snapshot)."""
    engine = make_engine(get_settings().resolved_database_url())
    try:
        with event_progress() as progress:
            task = progress.add_task("backup", total=None)

            def started(header: BackupHeader) -> None:
                progress.update(task, total=header.rows)

            def wrote(table: str, rows: int) -> None:
                progress.update(task, advance=rows, description=table)

            header = write_backup(engine, file, on_header=started, on_rows=wrote)
    except TownhallError as exc:
        err.print(f"[red]error:[/] {escape(terminal_safe(exc.message))}")
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"[red]error:[/] {escape(terminal_safe(str(exc)))}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    err.print(
        f"backed up {header.rows:,} rows of {len(header.tables)} tables (schema revision "
        f"{escape(header.revision)}) to {escape(str(file))}"
    )


def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `townhall backup`.")],
    force: Annotated[
        bool,
        typer.Option("--force", help="Delete everything in the database before restoring."),
    ] = False,
) -> None:
    """Load a backup into an empty database at the same schema revision, in one transaction."""
    engine = make_engine(get_settings().resolved_database_url())
    try:
        with event_progress() as progress:
            task = progress.add_task("restore", total=None)

            def started(header: BackupHeader) -> None:
                progress.update(task, total=header.rows)

            def loaded(table: str, rows: int) -> None:
                progress.update(task, advance=rows, description=table)

            header = restore_backup(engine, file, force=force, on_header=started, on_rows=loaded)
    except (TownhallError, OSError) as exc:
        message = exc.message if isinstance(exc, TownhallError) else str(exc)
        err.print(f"[red]error:[/] {escape(terminal_safe(message))}")
        err.print("nothing was restored")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    err.print(
        f"restored {header.rows:,} rows of {len(header.tables)} tables from "
        f"{escape(str(file))}; row counts match and the audit chain is intact"
    )
