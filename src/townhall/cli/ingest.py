"""`townhall ingest FILE.jsonl`: store posts from a Post JSONL file, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from townhall.cli.common import byte_progress, err, open_input
from townhall.cli.runtime import open_runtime
from townhall.connectors.jsonl.connector import JsonlConnector
from townhall.errors import PostFormatError
from townhall.pipeline.runner import EMPTY
from townhall.posts import Post, now_utc

MAX_ERRORS_SHOWN = 200


def ingest(
    file: Annotated[str, typer.Argument(help="Post JSONL file to read, or - for stdin.")],
    policy: Annotated[
        Path | None,
        typer.Option(help="Policy YAML (default: TOWNHALL_POLICY or examples/acme/policy.yaml)."),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="Posts per transaction.")
    ] = None,
) -> None:
    """Store every valid post of FILE once and open inbox items for those that need one.

    Bad lines are reported on stderr with their line number and skipped; every valid line is
    stored. A JSON summary (read, stored, duplicates, rejected, items) goes to stdout. Exits 1
    when any line was rejected, 0 otherwise.
    """
    with open_runtime(policy) as runtime:
        size = batch_size or runtime.settings.batch_size
        pipeline = runtime.pipeline()
        total = EMPTY
        rejected = 0
        source = "<stdin>" if file == "-" else file
        with open_input(file) as (stream, nbytes), byte_progress("ingest") as progress:
            task = progress.add_task(source, total=nbytes, status="")
            batch: list[Post] = []
            connector = JsonlConnector(
                stream, source, on_line=lambda line: progress.advance(task, len(line))
            )
            for parsed in connector.fetch():
                if isinstance(parsed, PostFormatError):
                    rejected += 1
                    if rejected <= MAX_ERRORS_SHOWN:
                        progress.console.print(f"[yellow]skipped[/] {escape(parsed.message)}")
                    continue
                batch.append(parsed)
                if len(batch) >= size:
                    total = total + pipeline.process_batch(batch, now_utc())
                    batch = []
                    progress.update(task, status=f"stored {total.stored:,}")
            if batch:
                total = total + pipeline.process_batch(batch, now_utc())
            progress.update(task, status=f"stored {total.stored:,}")
    if rejected > MAX_ERRORS_SHOWN:
        err.print(f"[yellow]… and {rejected - MAX_ERRORS_SHOWN:,} more rejected lines[/]")
    summary = {
        "read": total.read + rejected,
        "stored": total.stored,
        "duplicates": total.duplicates,
        "rejected": rejected,
        "items": total.items,
    }
    err.print(
        f"read {summary['read']:,} · stored {total.stored:,} · duplicates {total.duplicates:,}"
        f" · rejected {rejected:,} · items opened {total.items:,}"
    )
    typer.echo(orjson.dumps(summary).decode())
    if rejected:
        raise typer.Exit(1)
