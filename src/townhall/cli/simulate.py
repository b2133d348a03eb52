"""`townhall simulate`: write a simulated day of ACME traffic as Post JSONL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, BinaryIO

import orjson
import typer
from rich.console import Console

from townhall.connectors.simulator.scenario import generate_day
from townhall.posts import Post, now_utc


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO time, e.g. 2026-11-20T00:00:00Z", param_hint="--start"
        ) from None
    return start if start.tzinfo is not None else start.replace(tzinfo=UTC)


def summary(posts: list[Post]) -> str:
    """One line: posts, reshares, replies, crisis posts and the count per channel."""
    channels = Counter(p.channel for p in posts)
    reshares = sum(p.reshare_of is not None for p in posts)
    replies = sum(p.reply_to is not None for p in posts)
    crisis = sum("sim_story" in p.extra for p in posts)
    per = " · ".join(f"{name} {count:,}" for name, count in sorted(channels.items()))
    return (
        f"{len(posts):,} posts ({reshares:,} reshares, {replies:,} replies, "
        f"{crisis:,} in the crisis story) · {per}"
    )


def _write(stream: BinaryIO, posts: list[Post]) -> None:
    for post in posts:
        stream.write(orjson.dumps(post.to_json()) + b"\n")


def simulate(
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same day.")] = 7,
    hours: Annotated[
        float, typer.Option(min=0.01, max=24 * 14, help="Length of the simulated period (hours).")
    ] = 24.0,
    rate: Annotated[
        float, typer.Option(min=0.0, help="Base rate of spontaneous posts (posts/hour).")
    ] = 60.0,
    start: Annotated[
        str | None,
        typer.Option(
            help="ISO start time, e.g. 2026-11-20T00:00:00Z (default: HOURS before now, so "
            "the whole day is in the past and `townhall ingest` takes every post)."
        ),
    ] = None,
    no_crisis: Annotated[
        bool, typer.Option("--no-crisis", help="Leave out the melted-basket crisis.")
    ] = False,
    crisis_at: Annotated[
        float, typer.Option(min=0.0, help="When the crisis post appears (hours after start).")
    ] = 9.5,
    out: Annotated[str, typer.Option(help="Output Post JSONL file, or - for stdout.")] = "-",
) -> None:
    """Write a simulated day of ACME traffic as Post JSONL, with a summary line on stderr."""
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    posts = generate_day(
        seed=seed,
        start=_parse_start(start) or now_utc().replace(microsecond=0) - timedelta(hours=hours),
        hours=hours,
        base_rate_per_hour=rate,
        crisis_at_hours=None if no_crisis else crisis_at,
    )
    if out == "-":
        stream = typer.get_binary_stream("stdout")
        _write(stream, posts)
        stream.flush()
    else:
        with Path(out).open("wb") as handle:
            _write(handle, posts)
    console.print(f"[bold]simulated[/] {summary(posts)}")
