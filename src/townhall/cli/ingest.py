"""`townhall ingest FILE.jsonl`: store posts from a Post JSONL file, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

from townhall.cli.common import PostBatches, err
from townhall.cli.runtime import open_runtime
from townhall.pipeline.runner import EMPTY
from townhall.pipeline.streams import BROKER_ERRORS
from townhall.posts import now_utc

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
    stored. A post dated more than TOWNHALL_MAX_FUTURE_SECONDS (default 300) after now is a bad
    line, and so is one dated before 1990. A JSON summary (read, stored, duplicates, rejected,
    items, dead_letters, queued) goes to stdout. Exits 1 when any line was rejected, 0 otherwise.

    With TOWNHALL_BROKER_URL set, the posts go to the broker's stream instead and `townhall
    worker` processes store them: ``queued`` says how many were handed on.
    """
    with open_runtime(policy) as runtime:
        size = batch_size or runtime.settings.batch_size
        pipeline = runtime.intake()
        total = EMPTY
        posts = PostBatches(
            file,
            "ingest",
            size,
            max_errors_shown=MAX_ERRORS_SHOWN,
            not_after=now_utc,
            max_future=runtime.settings.max_future_seconds,
        )
        try:
            for batch in posts:
                total = total + pipeline.process_batch(batch, now_utc(), source=posts.source)
                posts.status(
                    f"queued {total.queued:,}" if total.queued else f"stored {total.stored:,}"
                )
        except BROKER_ERRORS as exc:
            err.print(
                f"[red]error:[/] the broker stopped answering ({type(exc).__name__}) after "
                f"{total.queued:,} posts were queued; run the same command again: a post "
                "queued twice is stored once"
            )
            raise typer.Exit(1) from None
    rejected = posts.rejected
    summary = {
        "read": total.read + rejected,
        "stored": total.stored,
        "duplicates": total.duplicates,
        "rejected": rejected,
        "items": total.items,
        "dead_letters": total.dead,
        "queued": total.queued,
    }
    if total.queued:
        err.print(
            f"read {summary['read']:,} · queued {total.queued:,} for the workers"
            f" (townhall worker) · rejected {rejected:,}"
        )
    else:
        err.print(
            f"read {summary['read']:,} · stored {total.stored:,} · duplicates {total.duplicates:,}"
            f" · rejected {rejected:,} · items opened {total.items:,}"
            + (
                f" · [red]dead letters {total.dead:,}[/] (see townhall dead-letters list)"
                if total.dead
                else ""
            )
        )
    typer.echo(orjson.dumps(summary).decode())
    if rejected or total.dead:
        raise typer.Exit(1)
