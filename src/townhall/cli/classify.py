"""`townhall classify FILE.jsonl`: enriched JSONL out, one line per valid post in."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from townhall.cli.common import PostBatches, err, fail_config
from townhall.config import get_settings
from townhall.errors import ConfigError
from townhall.org.loader import load_policy
from townhall.posts import Post
from townhall.understand.dataset import ML_MODEL_PATH, MODEL_PATH
from townhall.understand.enrich import Enrichment, Understander

BATCH = 1_000


def classify(
    file: Annotated[str, typer.Argument(help="Post JSONL file to read, or - for stdin.")],
    policy: Annotated[
        Path | None, typer.Option(help="Policy YAML whose brand keywords give the topics.")
    ] = None,
    ml: Annotated[
        bool,
        typer.Option("--ml", help="Use the MiniLM intent model (the [ml] extra; slower)."),
    ] = False,
) -> None:
    """Write each valid post of FILE with its enrichment (sentiment, intent, actionable,
    toxicity, language, country, reach, topics) as JSONL on stdout.

    Bad lines are reported on stderr with their number and skipped; exits 1 if any was.
    """
    try:
        understander = Understander.from_policy(
            load_policy(policy or get_settings().policy), ML_MODEL_PATH if ml else MODEL_PATH
        )
    except ConfigError as exc:
        raise fail_config(exc) from None
    write_enriched(file, "classify", understander, lambda post, enrichment: {})


Extra = Callable[[Post, Enrichment], dict[str, Any]]


def write_enriched(file: str, label: str, understander: Understander, extra: Extra) -> None:
    """Read Post JSONL from ``file``, write post + enrichment + ``extra`` as JSONL on stdout.

    Bad lines are reported on stderr and skipped; exits 1 at the end when any was.
    """
    out = sys.stdout.buffer
    posts = PostBatches(file, label, BATCH)
    for batch in posts:
        for post, enrichment in zip(batch, understander.enrich(batch), strict=True):
            row = {**post.to_json(), **enrichment.to_json(), **extra(post, enrichment)}
            out.write(orjson.dumps(row) + b"\n")
    out.flush()
    rejected = posts.rejected
    if rejected:
        err.print(f"{rejected:,} line(s) rejected")
        raise typer.Exit(1)
