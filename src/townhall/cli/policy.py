"""``townhall policy check|show|simulate``: validate the policy file, print its ownership
matrix, and simulate a policy change on real items before making it."""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.cli.common import PostBatches, err, fail_config
from townhall.config import get_settings
from townhall.db import make_engine, migrate
from townhall.errors import ConfigError, PolicyError
from townhall.models import Item, PostRecord
from townhall.org.loader import load_policy, parse_policy
from townhall.org.policy import Policy
from townhall.pipeline.stages import needs_item, post_key
from townhall.posts import now_utc
from townhall.routing.rules import RouteFacts
from townhall.routing.simulate import Count, SimulatedItem, Simulation, simulate
from townhall.understand.topics import TopicMatcher

app = typer.Typer(
    no_args_is_help=True,
    help="Check the organisation policy file, show who owns what, simulate a change.",
)

PolicyFile = Annotated[
    Path,
    typer.Argument(
        help="The policy YAML file, e.g. examples/acme/policy.yaml, or - for stdin.",
        show_default=False,
    ),
]


def _load_or_exit(file: Path, code: int = 1) -> Policy:
    try:
        if str(file) == "-":
            return parse_policy(sys.stdin.read(), "<stdin>")
        return load_policy(file)
    except PolicyError as exc:
        console = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
        for problem in exc.problems:
            console.print(problem)
        console.print(f"{len(exc.problems)} problem(s) in {file}")
        raise typer.Exit(code=code) from None


@app.command()
def check(file: PolicyFile) -> None:
    """Validate FILE and list every problem with its line; exit 1 if there are any."""
    policy = _load_or_exit(file)
    out = Console(soft_wrap=True, highlight=False)
    out.print(
        f"[green]ok[/green]: {file}: {len(policy.departments)} departments, "
        f"{len(policy.people)} people, {len(policy.channels)} channels, "
        f"{len(policy.ownership)} activities"
    )


@app.command()
def show(file: PolicyFile) -> None:
    """Print the ownership matrix of FILE: for each activity, who leads and who supports."""
    policy = _load_or_exit(file)
    table = Table(title=f"Ownership matrix ({policy.brand.name})")
    table.add_column("activity", style="bold", no_wrap=True)
    table.add_column("lead", style="green")
    table.add_column("support")
    for activity in policy.ownership:
        table.add_row(activity.id, ", ".join(activity.lead), ", ".join(activity.support))
    Console(highlight=False).print(table)


# --- simulate ---------------------------------------------------------------------------------

BATCH = 1_000
_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _parse_since(value: str) -> timedelta:
    """A look-back window such as ``30m``, ``24h``, ``7d`` or ``2w``; BadParameter otherwise."""
    found = _SINCE.match(value)
    amount = int(found.group(1)) if found else 0
    if found is None or amount == 0:
        raise typer.BadParameter(
            f"{value!r} is not a positive duration; use a number and a unit: "
            "30m (minutes), 24h (hours), 7d (days) or 2w (weeks)",
            param_hint="--since",
        )
    try:
        return timedelta(**{_UNIT[found.group(2)]: amount})
    except OverflowError:
        raise typer.BadParameter(f"{value!r} is too long ago", param_hint="--since") from None


def _usage(message: str) -> typer.Exit:
    """Print a usage problem on stderr and return the exit (2, like any bad argument)."""
    err.print(f"[red]error:[/] {message}; see townhall policy simulate --help")
    return typer.Exit(2)


def _new_topics(new: Policy, current: Policy) -> TopicMatcher | None:
    """The new policy's topic matcher when its brand keywords differ from the current one's."""
    return TopicMatcher.from_policy(new) if new.brand != current.brand else None


def _with_new_topics(
    post_id: str, facts: RouteFacts, matcher: TopicMatcher | None
) -> SimulatedItem:
    if matcher is None:
        return SimulatedItem(post_id, facts)
    return SimulatedItem(post_id, facts, replace(facts, topics=tuple(matcher.match(facts.text))))


def _file_items(
    posts: PostBatches, new: Policy, current: Policy, skipped: Counter[str]
) -> Iterator[SimulatedItem]:
    """The items of a Post JSONL file, understood like ``townhall route`` (current policy)."""
    from townhall.understand.enrich import Understander

    try:
        understander = Understander.from_policy(current)
    except ConfigError as exc:
        raise fail_config(exc) from None
    matcher = _new_topics(new, current)
    seen: set[tuple[str, str]] = set()
    for batch in posts:
        # Like ingest: a post seen before or a plain reshare opens no item.
        items = []
        for post in batch:
            if post_key(post) in seen:
                skipped["duplicates"] += 1
            elif not needs_item(post):
                skipped["plain reshares"] += 1
            else:
                seen.add(post_key(post))
                items.append(post)
        for post, enrichment in zip(items, understander.enrich(items), strict=True):
            yield _with_new_topics(post.id, RouteFacts.from_post(post, enrichment), matcher)
        posts.status(f"{len(seen):,} items")


def _stored_items(
    session: Session, since: datetime, new: Policy, current: Policy, skipped: Counter[str]
) -> Iterator[SimulatedItem]:
    """The stored items of posts created since ``since``, from their stored enrichment."""
    matcher = _new_topics(new, current)
    p = PostRecord
    query = (
        select(
            p.post_id,
            p.channel,
            p.created_at,
            p.text,
            p.group_name,
            p.author_verified,
            p.sentiment_label,
            p.intent,
            p.actionable,
            p.toxicity,
            p.language,
            p.country,
            p.reach,
            p.topics,
        )
        .join(Item, Item.post_pk == p.id)
        .where(p.created_at >= since)
        .order_by(p.created_at, p.id)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query):
        if (
            row.intent is None
            or row.sentiment_label is None
            or row.actionable is None
            or row.toxicity is None
            or row.reach is None
        ):
            skipped["not understood"] += 1
            continue
        facts = RouteFacts(
            intent=row.intent,
            sentiment=row.sentiment_label,
            actionable=row.actionable,
            toxicity=row.toxicity,
            topics=tuple(row.topics or ()),
            language=row.language,
            country=row.country,
            reach=row.reach,
            verified=row.author_verified,
            channel=row.channel,
            group=row.group_name,
            text=row.text,
            created_at=row.created_at,
        )
        yield _with_new_topics(row.post_id, facts, matcher)


def _signed(delta: int) -> Text:
    if delta == 0:
        return Text("0", style="dim")
    return Text(f"{delta:+,}", style="green" if delta > 0 else "red")


def _count_table(title: str, counts: Iterable[Count], total: int | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(title.split()[0])
    table.add_column("current", justify="right")
    table.add_column("new", justify="right")
    table.add_column("Δ", justify="right")
    for count in counts:
        table.add_row(Text(count.key), f"{count.current:,}", f"{count.new:,}", _signed(count.delta))
    if total is not None:
        table.add_section()
        table.add_row(Text("total", style="bold"), f"{total:,}", f"{total:,}", _signed(0))
    return table


def _print_report(result: Simulation, header: str, show: int) -> None:
    out = Console(highlight=False, soft_wrap=True)
    out.print(Text(header))
    out.print(_count_table("department items", result.departments, result.items))
    if any(c.delta for c in result.priorities):
        shown = (c for c in result.priorities if c.current or c.new)
        out.print(_count_table("priority items", shown))
    moved, reprioritised = result.moved, result.reprioritised
    out.print(
        f"{len(moved):,} of {result.items:,} items change owner"
        + (f"; {len(reprioritised):,} more keep it but change priority" if reprioritised else "")
        + "."
    )
    if not moved:
        return
    flows = Table(title="where they go", title_justify="left")
    for column in ("from", "to", "rule (current → new)"):
        flows.add_column(column)
    flows.add_column("items", justify="right")
    for flow in result.flows():
        rules = f"{flow.from_rule} → {flow.to_rule}"
        flows.add_row(flow.from_department, flow.to_department, Text(rules), f"{flow.items:,}")
    out.print(flows)
    for change in moved[:show]:
        line = Text("\n")
        line.append(change.post_id, style="bold")
        line.append(f"  {change.from_department} → {change.to_department}", style="bold yellow")
        line.append(f"  (rule {change.from_rule} → {change.to_rule}", style="dim")
        if change.from_priority != change.to_priority:
            line.append(f", {change.from_priority} → {change.to_priority}", style="dim")
        line.append(")", style="dim")
        line.append(f"\n  “{change.excerpt}”\n  why: {change.why}")
        out.print(line)
    if len(moved) > show:
        rest = len(moved) - show
        out.print(f"\n… and {rest:,} more items change owner (--show N lists more, --json all).")


@app.command(name="simulate")
def simulate_command(
    policy: Annotated[
        Path,
        typer.Option(
            "--policy", help="The new policy YAML to try out (- for stdin).", show_default=False
        ),
    ],
    file: Annotated[
        str | None,
        typer.Argument(
            help="Post JSONL file to understand and route (- for stdin); or use --since.",
            show_default=False,
        ),
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(help="The current policy to compare with (default: TOWNHALL_POLICY)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Instead of FILE, re-route the items of posts stored in the database in the "
            "last 30m, 24h, 7d or 2w, from their stored enrichment (no models are run).",
            show_default=False,
        ),
    ] = None,
    show: Annotated[
        int, typer.Option(min=0, help="How many items that change owner the table lists.")
    ] = 20,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON object (counts and every change) instead."),
    ] = False,
) -> None:
    """Route the same items by the current policy and by a new one: how many items each
    department gets under each, and which items change owner and why.

    Items come from a Post JSONL FILE, understood like `townhall route`, or with --since.

    Plain reshares and repeated posts open no item, so they are left out.

    A bad policy is reported like `townhall policy check` and exits 2.

    Exits 1 when FILE had bad lines: they are named on stderr, the report covers the rest.
    """
    if file is not None and since is not None:
        raise _usage("give a Post JSONL FILE or --since, not both")
    if file is None and since is None:
        raise _usage("give a Post JSONL FILE to read (- for stdin) or --since, e.g. --since 7d")
    window = _parse_since(since) if since is not None else None
    against = against or get_settings().policy
    if sum(str(p) == "-" for p in (file, policy, against)) > 1:
        raise _usage("only one of FILE, --policy and --against can be - (stdin)")
    new_policy = _load_or_exit(policy, code=2)
    current_policy = _load_or_exit(against, code=2)

    skipped: Counter[str] = Counter()
    rejected = 0
    if file is not None:
        posts = PostBatches(file, "simulate", BATCH, max_errors_shown=200)
        result = simulate(
            _file_items(posts, new_policy, current_policy, skipped), new_policy, current_policy
        )
        rejected = posts.rejected
        source = "<stdin>" if file == "-" else file
    else:
        assert window is not None
        cutoff = now_utc() - window
        engine = make_engine(get_settings().resolved_database_url())
        try:
            migrate(engine)
            with Session(engine) as session:
                result = simulate(
                    _stored_items(session, cutoff, new_policy, current_policy, skipped),
                    new_policy,
                    current_policy,
                )
        finally:
            engine.dispose()
        source = f"the database, posts created since {cutoff:%Y-%m-%d %H:%M} UTC ({since})"

    if rejected:
        skipped["rejected lines"] = rejected
    notes = " · ".join(f"{n:,} {what}" for what, n in skipped.items() if n)
    err.print(f"{result.items:,} items simulated" + (f" · left out: {notes}" if notes else ""))
    if as_json:
        report: dict[str, Any] = {
            "policy": str(policy),
            "against": str(against),
            "source": source,
            "left_out": dict(skipped),
            **result.to_json(),
        }
        typer.echo(orjson.dumps(report).decode())
    else:
        header = f"current {against} → new {policy} · {result.items:,} items from {source}"
        _print_report(result, header, show)
    if rejected:
        raise typer.Exit(1)
