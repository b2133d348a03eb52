"""`townhall radar forecast|replay`: spread forecasts for cascades, alerts for a stream of posts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from townhall.cli.common import PostBatches, byte_progress, err, fail_config, open_input
from townhall.config import get_settings
from townhall.errors import ConfigError
from townhall.org.loader import load_policy
from townhall.radar.cascades import CascadeFormatError, parse_cascade
from townhall.radar.forecast import default_forecaster
from townhall.radar.replay import Radar, RadarSettings
from townhall.understand.enrich import Understander

BATCH = 1_000

app = typer.Typer(no_args_is_help=True)


@app.command("forecast")
def forecast(
    file: Annotated[str, typer.Argument(help="Cascade JSONL file to read, or - for stdin.")],
    viral_threshold: Annotated[
        int, typer.Option(min=0, help="Reshares a cascade must exceed to count as viral.")
    ] = 100,
) -> None:
    """Forecast each cascade of FILE: {id, predicted_final, interval [lo, hi] (80%), p_viral}
    as JSONL on stdout.

    Bad lines are reported on stderr with their number and skipped; exits 1 if any was.
    """
    model = default_forecaster()
    out = sys.stdout.buffer
    source = "<stdin>" if file == "-" else file
    rejected = 0
    with open_input(file) as (stream, nbytes), byte_progress("radar forecast") as progress:
        task = progress.add_task(source, total=nbytes, status="")
        for number, line in enumerate(stream, start=1):
            progress.advance(task, len(line))
            if not line.strip():
                continue
            try:
                cascade = parse_cascade(line, number, source)
            except CascadeFormatError as exc:
                rejected += 1
                progress.console.print(f"[yellow]skipped[/] {escape(exc.message)}")
                continue
            result = model.forecast(cascade, viral_threshold)
            out.write(orjson.dumps(result.to_json(cascade.id)) + b"\n")
    out.flush()
    if rejected:
        err.print(f"{rejected:,} line(s) rejected")
        raise typer.Exit(1)


@app.command("replay")
def replay(
    file: Annotated[str, typer.Argument(help="Post JSONL file to read, or - for stdin.")],
    policy: Annotated[
        Path | None,
        typer.Option(help="Policy YAML: brand keywords and time zone (default: TOWNHALL_POLICY)."),
    ] = None,
    viral_threshold: Annotated[
        int, typer.Option(min=1, help="Replies + reshares a story must exceed to count as viral.")
    ] = RadarSettings().viral_threshold,
) -> None:
    """Understand the posts of FILE and run the radar over them in post time, as fast as it can;
    alerts {at, kind, topic, severity, post_ids, why} as JSONL on stdout.

    Bad lines are reported on stderr with their number and skipped; exits 1 if any was.
    """
    try:
        loaded = load_policy(policy or get_settings().policy)
        understander = Understander.from_policy(loaded)
    except ConfigError as exc:
        raise fail_config(exc) from None
    radar = Radar(loaded, RadarSettings(viral_threshold=viral_threshold))
    out = sys.stdout.buffer
    posts = PostBatches(file, "radar replay", BATCH)
    alerts = 0
    for batch in posts:
        ordered = sorted(batch, key=lambda p: p.created_at)
        for alert in radar.observe(list(zip(ordered, understander.enrich(ordered), strict=True))):
            out.write(orjson.dumps(alert.to_json()) + b"\n")
            alerts += 1
        posts.status(f"{alerts:,} alerts")
    out.flush()
    if posts.rejected:
        err.print(f"{posts.rejected:,} line(s) rejected")
        raise typer.Exit(1)
