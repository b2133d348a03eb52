"""`townhall campaigns ...`: create and list campaigns, show one's summary, record spend.

Times are read in the company's zone unless they name an offset; a date alone means the start
of that day for ``--start`` and its end for ``--end``. Money is read as a decimal ("1500.00",
"1,500") and shown with its currency ("EUR 1,500.00"). Without ``--as`` the command acts as the
operator: the longest-standing active admin login.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table
from sqlalchemy.orm import Session

from townhall.cli.common import acting_user, err, fail, shown
from townhall.cli.runtime import open_runtime
from townhall.errors import TownhallError
from townhall.models import Campaign
from townhall.org.policy import Policy
from townhall.posts import now_utc, terminal_safe
from townhall.publishing import campaigns, localtime

app = typer.Typer(no_args_is_help=True)

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]
AsOption = Annotated[
    str | None,
    typer.Option("--as", help="E-mail of the person acting (default: the operator, an admin)."),
]


def _moment(option: str, value: str, policy: Policy, *, end: bool = False) -> datetime:
    """An ISO date or time, local to the company's zone unless it names an offset (UTC)."""
    where = localtime.zone(policy.timezone)
    text = value.strip()
    try:
        if len(text) == 10:
            day = localtime.parse_day(text)
            return localtime.at_local(day + timedelta(days=1 if end else 0), time(0), where)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            return localtime.at_local(moment.date(), moment.time(), where)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise fail(f"{option}: not a date or time: {value!r} (e.g. 2026-12-01)", 2) from None


def _row(session: Session, policy: Policy, campaign: Campaign) -> dict[str, Any]:
    spent = campaigns.spent_cents(session, campaign)
    return {
        "id": campaign.id,
        "slug": campaign.slug,
        "name": campaign.name,
        "department": campaign.department,
        "state": str(campaigns.state_of(campaign, now_utc())),
        "starts_at": _aware(campaign.starts_at).isoformat(),
        "ends_at": _aware(campaign.ends_at).isoformat(),
        "channels": campaign.channels,
        "paid": campaign.paid,
        "category": campaign.category,
        "objective_id": campaign.objective_id,
        "currency": campaign.currency,
        "budget_cents": campaign.budget_cents,
        "spent_cents": spent,
        "posts": len(campaigns.posts_of(session, campaign)),
    }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _day(policy: Policy, moment: datetime) -> str:
    return f"{localtime.local(_aware(moment), localtime.zone(policy.timezone)):%Y-%m-%d %H:%M}"


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The campaign's name, e.g. 'AirFry 5 launch'.")],
    start: Annotated[str, typer.Option("--start", help="First day or time (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--end", help="Last day or end time (YYYY-MM-DD).")],
    slug: Annotated[
        str | None, typer.Option(help="Its utm_campaign (default: from the name).")
    ] = None,
    department: Annotated[
        str | None, typer.Option(help="Owner department (default: the lead of campaigns).")
    ] = None,
    channel: Annotated[
        list[str] | None, typer.Option("--channel", help="A channel id (repeat for more).")
    ] = None,
    budget: Annotated[str, typer.Option(help="Planned ad budget, e.g. 1500.00.")] = "0",
    currency: Annotated[str, typer.Option(help="Currency code of the budget.")] = "EUR",
    paid: Annotated[
        bool, typer.Option("--paid", help="Paid or sponsored (posts need the disclosure).")
    ] = False,
    category: Annotated[
        str | None, typer.Option(help="Category its posts get (e.g. promotional).")
    ] = None,
    objective: Annotated[str, typer.Option(help="What the campaign is for.")] = "",
    objective_id: Annotated[
        str | None,
        typer.Option("--objective-id", help="The policy objective it serves (e.g. store_visits)."),
    ] = None,
    target_metric: Annotated[str, typer.Option(help="What is measured, e.g. replies.")] = "",
    target: Annotated[float | None, typer.Option(help="The target of the metric.")] = None,
    as_: AsOption = None,
    policy: PolicyOption = None,
) -> None:
    """Create a campaign; prints it as one JSON line."""
    with open_runtime(policy) as runtime:
        loaded = runtime.policy
        starts_at = _moment("--start", start, loaded)
        ends_at = _moment("--end", end, loaded, end=True)
        try:
            budget_cents = campaigns.parse_money("--budget", budget)
            with runtime.sessions() as session, session.begin():
                campaign = campaigns.create(
                    session,
                    loaded,
                    name=name,
                    slug=slug,
                    department=department,
                    objective=objective,
                    target_metric=target_metric,
                    target=target,
                    channels=tuple(channel or ()),
                    starts_at=starts_at,
                    ends_at=ends_at,
                    budget_cents=budget_cents,
                    currency=currency,
                    paid=paid,
                    category=category,
                    objective_id=objective_id,
                    actor=acting_user(session, as_),
                    now=now_utc(),
                )
                row = _row(session, loaded, campaign)
        except TownhallError as exc:
            raise fail(exc.message) from None
        typer.echo(orjson.dumps(row).decode())


@app.command("list")
def list_campaigns(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per campaign.")] = False,
    archived: Annotated[bool, typer.Option(help="Include archived campaigns.")] = False,
    policy: PolicyOption = None,
) -> None:
    """List the campaigns: dates, state, posts, budget and spend."""
    with open_runtime(policy) as runtime, runtime.sessions() as session:
        rows = [
            _row(session, runtime.policy, c)
            for c in campaigns.list_campaigns(session, archived=archived)
        ]
        if as_json:
            for row in rows:
                typer.echo(orjson.dumps(row).decode())
            return
        zone = runtime.policy.timezone
        table = Table("slug", "name", "department", f"dates ({zone})", "state", "posts", "spent")
        for row in rows:
            campaign = session.get(Campaign, row["id"])
            assert campaign is not None
            table.add_row(
                row["slug"],
                shown(row["name"]),
                shown(_department_name(runtime.policy, row["department"])),
                f"{_day(runtime.policy, campaign.starts_at)} – "
                f"{_day(runtime.policy, campaign.ends_at)}",
                row["state"],
                str(row["posts"]),
                f"{campaigns.format_money(row['spent_cents'], row['currency'])} of "
                f"{campaigns.format_money(row['budget_cents'], row['currency'])}",
            )
        if not rows:
            err.print("No campaigns yet (townhall campaigns create NAME --start … --end …).")
            return
        typer.echo(_render(table))


def _render(table: Table) -> str:
    from rich.console import Console

    console = Console(width=160, highlight=False, color_system=None)
    with console.capture() as captured:
        console.print(table)
    return captured.get().rstrip("\n")


def _department_name(policy: Policy, department: str) -> str:
    try:
        return policy.department(department).name
    except KeyError:
        return department


@app.command("show")
def show(
    slug: Annotated[str, typer.Argument(help="The campaign's slug.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="The summary as one JSON object.")
    ] = False,
    policy: PolicyOption = None,
) -> None:
    """A campaign's summary: objective, posts by state, budget and spend, replies drawn."""
    with open_runtime(policy) as runtime, runtime.sessions() as session:
        loaded = runtime.policy
        try:
            campaign = campaigns.by_slug(session, slug)
        except TownhallError as exc:
            raise fail(exc.message) from None
        got = campaigns.summary(session, loaded, campaign, now_utc())
        money = campaign.currency
        data = {
            **_row(session, loaded, campaign),
            "objective": campaign.objective,
            "target_metric": campaign.target_metric,
            "target": campaign.target,
            "posts_by_state": got.posts_by_state,
            "remaining_cents": got.remaining_cents,
            "over_budget": got.over_budget,
            "replies": got.replies,
            "sentiment": got.sentiment,
        }
        if as_json:
            typer.echo(orjson.dumps(data).decode())
            return
        lines = [
            f"{terminal_safe(campaign.name)} ({campaign.slug}) — {got.state}",
            f"Department: {terminal_safe(_department_name(loaded, campaign.department))}",
            f"Dates ({loaded.timezone}): {_day(loaded, campaign.starts_at)} – "
            f"{_day(loaded, campaign.ends_at)}",
            f"Channels: {', '.join(campaign.channels) or 'any'}"
            + (" · paid or sponsored" if campaign.paid else ""),
        ]
        if campaign.objective:
            lines.append(f"Objective: {terminal_safe(campaign.objective)}")
        if campaign.target_metric:
            target = "" if campaign.target is None else f" {campaign.target:g}"
            lines.append(f"Target: {terminal_safe(campaign.target_metric)}{target}")
        states = ", ".join(f"{n} {label}" for label, n in sorted(got.posts_by_state.items()))
        lines.append(f"Posts: {got.posts}" + (f" ({states})" if states else ""))
        budget = campaigns.format_money(got.budget_cents, money)
        spent = campaigns.format_money(got.spent_cents, money)
        left = campaigns.format_money(got.remaining_cents, money)
        over = " — over budget" if got.over_budget else ""
        lines.append(f"Budget: {budget}, spent {spent}, remaining {left}{over}")
        feeling = ", ".join(f"{got.sentiment[k]} {k}" for k in campaigns.SENTIMENTS)
        lines.append(f"Replies drawn: {got.replies} ({feeling})")
        for reply in got.latest_replies:
            lines.append(
                f"  {terminal_safe(reply.author_handle)}: {terminal_safe(reply.text[:120])}"
            )
        typer.echo("\n".join(lines))


@app.command("spend")
def spend(
    slug: Annotated[str, typer.Argument(help="The campaign's slug.")],
    amount: Annotated[str, typer.Argument(help="The amount spent, e.g. 250.00.")],
    on: Annotated[str, typer.Option("--on", help="The day it was spent (YYYY-MM-DD).")],
    note: Annotated[str, typer.Option(help="What it was for.")] = "",
    as_: AsOption = None,
    policy: PolicyOption = None,
) -> None:
    """Record money spent on a campaign; prints the spend and the new total as one JSON line."""
    try:
        day = localtime.parse_day(on)
    except ValueError as exc:
        raise fail(f"--on: {exc} (e.g. 2026-12-01)", 2) from None
    with open_runtime(policy) as runtime:
        try:
            cents = campaigns.parse_money("amount", amount)
            with runtime.sessions() as session, session.begin():
                campaign = campaigns.by_slug(session, slug)
                recorded = campaigns.record_spend(
                    session,
                    runtime.policy,
                    campaign,
                    amount_cents=cents,
                    spent_on=day,
                    note=note,
                    actor=acting_user(session, as_),
                    now=now_utc(),
                )
                row: dict[str, Any] = {
                    "id": recorded.id,
                    "campaign": campaign.slug,
                    "amount_cents": cents,
                    "spent_on": day.isoformat(),
                    "spent_cents": campaigns.spent_cents(session, campaign),
                    "budget_cents": campaign.budget_cents,
                    "currency": campaign.currency,
                }
        except TownhallError as exc:
            raise fail(exc.message) from None
        typer.echo(orjson.dumps(row).decode())
        err.print(
            f"Recorded {campaigns.format_money(cents, row['currency'])} on {shown(slug)}: "
            f"{campaigns.format_money(row['spent_cents'], row['currency'])} spent of "
            f"{campaigns.format_money(row['budget_cents'], row['currency'])}."
        )
