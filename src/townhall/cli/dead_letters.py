"""`townhall dead-letters ...`: the posts that failed inside the pipeline, and replaying them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from townhall.cli.common import err
from townhall.cli.runtime import open_runtime
from townhall.pipeline import dead_letters
from townhall.posts import now_utc, terminal_safe

app = typer.Typer(no_args_is_help=True)

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]


@app.command("list")
def list_dead(
    all_: Annotated[bool, typer.Option("--all", help="Include those already replayed.")] = False,
    policy: PolicyOption = None,
) -> None:
    """One JSON line per dead letter: id, source, post_id, error, created_at, replayed_at."""
    with open_runtime(policy) as runtime, runtime.sessions() as session:
        for dead in dead_letters.pending(session, include_replayed=all_, limit=1_000_000):
            typer.echo(
                orjson.dumps(
                    {
                        "id": dead.id,
                        "source": dead.source,
                        "post_id": dead.post_id,
                        "error": dead.error,
                        "created_at": dead.created_at.isoformat(),
                        "replayed_at": dead.replayed_at.isoformat() if dead.replayed_at else None,
                    }
                ).decode()
            )


@app.command("replay")
def replay(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Dead letters to replay (default: every pending).")
    ] = None,
    policy: PolicyOption = None,
) -> None:
    """Run dead letters through the pipeline again (after a fix); prints a JSON summary and
    exits 1 when some fail again (each then stays a dead letter, with its new error)."""
    with open_runtime(policy) as runtime:
        outcome = dead_letters.replay(runtime.sessions, runtime.pipeline(), ids or None, now_utc())
        for dead_id, why in outcome.errors.items():
            err.print(f"[red]#{dead_id}:[/] {escape(terminal_safe(why))}")
        typer.echo(orjson.dumps({"replayed": outcome.replayed, "failed": outcome.failed}).decode())
        if outcome.failed:
            raise typer.Exit(1)
