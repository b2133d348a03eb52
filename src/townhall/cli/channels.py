"""`townhall channels ...`: each channel's health, checks, and stored credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from townhall.channels.health import ago
from townhall.channels.secrets import new_key
from townhall.channels.service import connect as store_secret
from townhall.channels.service import credentials_for
from townhall.cli.common import err, fail_config
from townhall.cli.runtime import open_runtime
from townhall.connectors.registry import connector_for
from townhall.errors import ChannelError, ConfigError
from townhall.models import ChannelState
from townhall.org.policy import Channel, Policy
from townhall.posts import now_utc

app = typer.Typer(no_args_is_help=True)

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]


def _channel(policy: Policy, channel_id: str) -> Channel:
    """The policy's channel ``channel_id``; exit 2 naming the channels it has."""
    try:
        return policy.channel(channel_id)
    except KeyError:
        known = ", ".join(c.id for c in policy.channels)
        err.print(f"[red]error:[/] no channel {escape(channel_id)!r} (the policy has {known})")
        raise typer.Exit(2) from None


@app.command("list")
def list_channels(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per channel.")] = False,
    policy: PolicyOption = None,
) -> None:
    """Each channel of the policy: connected, last fetch, lag, health and last error."""
    with open_runtime(policy) as runtime:
        now = now_utc()
        with runtime.sessions() as session:
            states = {s.channel: s for s in session.scalars(select(ChannelState))}
        rows = []
        for channel in runtime.policy.channels:
            state = states.get(channel.id)
            has_secret = bool(
                (channel.secret_env and runtime.settings.channel_secret(channel.secret_env))
                or (state is not None and state.secret)
            )
            connected = channel.live and (channel.kind.value == "rss" or has_secret)
            lag = (
                (now - state.last_post_at).total_seconds() if state and state.last_post_at else None
            )
            rows.append(
                {
                    "channel": channel.id,
                    "kind": channel.kind.value,
                    "account": channel.account,
                    "live": channel.live,
                    "connected": connected,
                    "health": state.health if state else ("new" if channel.live else "not_live"),
                    "last_fetch": state.last_fetch_at.isoformat()
                    if state and state.last_fetch_at
                    else None,
                    "lag_seconds": lag,
                    "stored": state.stored if state else 0,
                    "last_error": state.last_error if state else "",
                }
            )
        if as_json:
            for row in rows:
                typer.echo(orjson.dumps(row).decode())
            return
        table = Table(title="Channels", title_justify="left")
        for column in (
            "channel",
            "kind",
            "account",
            "connected",
            "health",
            "last fetch",
            "lag",
            "last error",
        ):
            table.add_column(column)
        for row, channel in zip(rows, runtime.policy.channels, strict=True):
            state = states.get(channel.id)
            table.add_row(
                escape(channel.id),
                channel.kind.value,
                escape(channel.account),
                "yes" if row["connected"] else ("no" if channel.live else "simulated/files"),
                str(row["health"]).replace("_", " "),
                ago(state.last_fetch_at if state else None, now),
                ago(state.last_post_at if state else None, now),
                escape(str(row["last_error"])[:80]),
            )
        Console().print(table)


@app.command("test")
def test_channel(
    channel_id: Annotated[str, typer.Argument(metavar="ID", help="Channel id from the policy.")],
    policy: PolicyOption = None,
) -> None:
    """Check a channel's credentials and API, and say exactly what is wrong (exit 1)."""
    with open_runtime(policy) as runtime:
        channel = _channel(runtime.policy, channel_id)
        if not channel.live:
            err.print(
                f"[red]error:[/] {escape(channel_id)} is not connected to a network: give it "
                "api_base_url (mastodon, bluesky) or feeds (rss) in the policy"
            )
            raise typer.Exit(1)
        try:
            credentials = credentials_for(runtime.sessions, runtime.settings, channel, now_utc())
            connector = connector_for(
                channel, credentials, timeout=runtime.settings.channel_timeout
            )
            try:
                described = connector.check()
            finally:
                connector.close()
        except ConfigError as exc:
            raise fail_config(exc) from None
        except ChannelError as exc:
            err.print(f"[red]{escape(channel_id)}: {type(exc).__name__}:[/] {escape(exc.message)}")
            raise typer.Exit(1) from None
        err.print(f"[green]{escape(channel_id)}: ok[/] — {escape(described)}")


@app.command("connect")
def connect(
    channel_id: Annotated[str, typer.Argument(metavar="ID", help="Channel id from the policy.")],
    secret: Annotated[
        str,
        typer.Option(
            prompt="Access token or app password",
            hide_input=True,
            help="The token (Mastodon) or app password (Bluesky); asked for when not given.",
        ),
    ] = "",
    policy: PolicyOption = None,
) -> None:
    """Store a channel's token or app password, encrypted with TOWNHALL_SECRETS_KEY."""
    with open_runtime(policy) as runtime:
        channel = _channel(runtime.policy, channel_id)
        try:
            with runtime.sessions() as session, session.begin():
                store_secret(session, runtime.settings, channel, secret, actor="cli", now=now_utc())
        except ConfigError as exc:
            raise fail_config(exc) from None
        err.print(
            f"[green]stored[/] the secret of {escape(channel_id)}, encrypted; check it with "
            f"`townhall channels test {escape(channel_id)}`"
        )


@app.command("key")
def key() -> None:
    """Print a new key for TOWNHALL_SECRETS_KEY (keep it safe: stored secrets need it)."""
    typer.echo(new_key())
