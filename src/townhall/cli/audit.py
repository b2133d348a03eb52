"""``townhall audit``: Tamper-evident audit log: verify the hash chain."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import inspect

from townhall.audit import contains_hash, count_events, verify_chain
from townhall.backup import snapshot
from townhall.cli.common import err
from townhall.config import get_settings
from townhall.db import make_engine
from townhall.posts import terminal_safe

app = typer.Typer(no_args_is_help=True)


def event_progress() -> Progress:
    """A progress bar over events or rows, on stderr."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


@app.command()
def verify(
    includes: Annotated[
        str | None,
        typer.Option(
            metavar="HASH",
            help="Also fail unless an event with this hash is still in the chain: a hash "
            "noted earlier (the newest one this command printed) shows the newest events "
            "were not cut off.",
        ),
    ] = None,
) -> None:
    """Check every audit event against its hash and the one before it (exit 1 on a break)."""
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    try:
        schema = inspect(engine)
        if not schema.has_table("audit_log") or "hash" not in {
            c["name"] for c in schema.get_columns("audit_log")
        }:
            err.print(
                "[red]error:[/] this database has no audit chain yet: run `townhall db upgrade`"
            )
            raise typer.Exit(2)
        with snapshot(engine) as conn, event_progress() as progress:
            task = progress.add_task("verifying", total=count_events(conn))
            found = False

            def advance(n: int) -> None:
                progress.advance(task, n)

            report = verify_chain(conn, on_progress=advance)
            if includes:
                found = contains_hash(conn, includes)
    finally:
        engine.dispose()
    if report.broken is not None:
        err.print(f"[red]chain broken:[/] {escape(terminal_safe(report.broken.message))}")
        typer.echo(f"chain broken at event {report.broken.event_id} ({report.broken.kind})")
        raise typer.Exit(1)
    if includes and not found:
        err.print(
            f"[red]chain cut:[/] no event has the hash {escape(terminal_safe(includes))}: "
            "events were removed from the end of the log (or the hash is mistyped)"
        )
        raise typer.Exit(1)
    typer.echo(f"{report.events:,} events, chain intact")
    typer.echo(f"newest hash: {report.head}")
