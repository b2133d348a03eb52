"""`townhall dead-letters ...`: the posts that failed inside the pipeline, and replaying them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from sqlalchemy import select

from townhall.cli.common import err
from townhall.cli.runtime import open_runtime
from townhall.errors import PostFormatError
from townhall.models import DeadLetter
from townhall.posts import now_utc, parse_post, terminal_safe

app = typer.Typer(no_args_is_help=True)

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]


@app.command("list")
def list_dead(
    all_: Annotated[bool, typer.Option("--all", help="Include those already replayed.")] = False,
    policy: PolicyOption = None,
) -> None:
    """One JSON line per dead letter: id, source, post_id, error, created_at, replayed_at."""
    with open_runtime(policy) as runtime, runtime.sessions() as session:
        query = select(DeadLetter).order_by(DeadLetter.id)
        if not all_:
            query = query.where(DeadLetter.replayed_at.is_(None))
        for dead in session.scalars(query):
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
        pipeline = runtime.pipeline()
        with runtime.sessions() as session:
            query = select(DeadLetter).where(DeadLetter.replayed_at.is_(None))
            if ids:
                query = query.where(DeadLetter.id.in_(ids))
            letters = list(session.scalars(query.order_by(DeadLetter.id)))
        replayed = failed = 0
        for dead in letters:
            try:
                post = parse_post(dead.post)
            except PostFormatError as exc:
                err.print(f"[red]#{dead.id}:[/] {escape(terminal_safe(exc.message))}")
                failed += 1
                continue
            now = now_utc()
            result = pipeline.process_batch([post], now, source=dead.source)
            with runtime.sessions() as session, session.begin():
                row = session.get(DeadLetter, dead.id)
                if row is not None and result.dead:
                    session.delete(row)  # the new dead letter carries the new error
                elif row is not None:
                    row.replayed_at = now
            if result.dead:
                failed += 1
            else:
                replayed += 1
        typer.echo(orjson.dumps({"replayed": replayed, "failed": failed}).decode())
        if failed:
            raise typer.Exit(1)
