"""`townhall insights rebuild-rollups`: recount the dashboards' hourly rollups from the posts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.progress import Progress

from townhall.cli.common import err
from townhall.cli.runtime import open_runtime
from townhall.insights import rollups

app = typer.Typer(no_args_is_help=True)


@app.command("rebuild-rollups")
def rebuild_rollups(
    policy: Annotated[Path | None, typer.Option(help="Policy YAML.")] = None,
) -> None:
    """Replace the rollups with a recount of every stored post, in one transaction (stop the
    workers first: posts stored meanwhile would count twice); prints the rows and seconds."""
    started = time.perf_counter()
    with open_runtime(policy) as runtime, Progress(console=err, transient=True) as bar:
        task = bar.add_task("Counting the posts", total=None)

        def written(done: int, total: int) -> None:
            bar.update(task, description="Writing the rollups", completed=done, total=total)

        with runtime.sessions() as session, session.begin():
            rows = rollups.rebuild(session, written)
    seconds = round(time.perf_counter() - started, 2)
    typer.echo(orjson.dumps({"rows": rows, "seconds": seconds}).decode())
