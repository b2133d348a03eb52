"""`townhall route FILE.jsonl`: understand and route posts offline, with the reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from townhall.cli.classify import write_enriched
from townhall.cli.common import fail_config
from townhall.config import get_settings
from townhall.errors import ConfigError
from townhall.org.loader import load_policy
from townhall.posts import Post
from townhall.routing.rules import RouteFacts
from townhall.routing.rules import route as route_post
from townhall.understand.enrich import Enrichment, Understander


def route(
    file: Annotated[str, typer.Argument(help="Post JSONL file to read, or - for stdin.")],
    policy: Annotated[
        Path | None,
        typer.Option(help="Policy YAML with the routing rules (default: TOWNHALL_POLICY)."),
    ] = None,
) -> None:
    """Write each valid post of FILE with its enrichment and its routing (department,
    supporting, priority, sla_minutes, rule, why, matched) as JSONL on stdout.

    Bad lines are reported on stderr with their number and skipped; exits 1 if any was.
    """
    try:
        loaded = load_policy(policy or get_settings().policy)
        understander = Understander.from_policy(loaded)
    except ConfigError as exc:
        raise fail_config(exc) from None

    def routing(post: Post, enrichment: Enrichment) -> dict[str, Any]:
        decision = route_post(loaded, RouteFacts.from_post(post, enrichment))
        return {
            "department": decision.department,
            "supporting": list(decision.supporting),
            "priority": decision.priority,
            "sla_minutes": {
                "first_response": decision.sla_first_response_minutes,
                "resolution": decision.sla_resolution_minutes,
            },
            "rule": decision.rule,
            "why": decision.why,
            "matched": decision.matched,
        }

    write_enriched(file, "route", understander, routing)
