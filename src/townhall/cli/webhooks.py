"""``townhall webhooks``: Outgoing webhooks: endpoints, deliveries, replay."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from townhall.cli.common import err, fail_config
from townhall.cli.runtime import open_runtime
from townhall.errors import ConfigError, TownhallError
from townhall.posts import now_utc, terminal_safe
from townhall.webhooks import service
from townhall.webhooks.delivery import WebhookSender
from townhall.webhooks.events import EVENTS

app = typer.Typer(no_args_is_help=True)

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]

IDLE_SECONDS = 2.0
"""Pause between passes of ``deliver`` when nothing was due."""


def _fail(exc: TownhallError) -> typer.Exit:
    err.print(f"[red]error:[/] {escape(terminal_safe(exc.message))}")
    return typer.Exit(1)


@app.command("list")
def list_endpoints(policy: PolicyOption = None) -> None:
    """One JSON line per endpoint: id, name, url, events, active, pending, and its newest
    delivery (event, status, attempts, last error)."""
    with open_runtime(policy) as runtime, runtime.sessions() as session:
        for row in service.endpoints(session):
            e, last = row.endpoint, row.last
            line = {
                "id": e.id,
                "name": e.name,
                "url": e.url,
                "events": e.events,
                "active": e.active,
                "pending": row.pending,
                "last": None
                if last is None
                else {
                    "id": last.id,
                    "event": last.event,
                    "status": last.status,
                    "attempts": last.attempts,
                    "created_at": last.created_at.isoformat(),
                    "last_status_code": last.last_status_code,
                    "last_error": last.last_error,
                },
            }
            typer.echo(terminal_safe(orjson.dumps(line).decode()))


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name for the endpoint.")],
    url: Annotated[str, typer.Argument(help="Where to POST (http:// or https://).")],
    event: Annotated[
        list[str],
        typer.Option("--event", "-e", help=f"An event to send (repeat it): {', '.join(EVENTS)}."),
    ],
    policy: PolicyOption = None,
) -> None:
    """Add an endpoint and print its signing secret, this once (needs TOWNHALL_SECRETS_KEY)."""
    with open_runtime(policy) as runtime, runtime.sessions() as session, session.begin():
        try:
            created = service.add_endpoint(
                session,
                runtime.settings,
                name=name,
                url=url,
                events=event,
                actor="cli",
                now=now_utc(),
            )
        except ConfigError as exc:
            raise fail_config(exc) from None
        except TownhallError as exc:
            raise _fail(exc) from None
        endpoint_id, secret = created.endpoint.id, created.secret
    err.print(f"endpoint #{endpoint_id} added; its signing secret (shown only now) is on stdout")
    typer.echo(secret)


@app.command("deliver")
def deliver(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    policy: PolicyOption = None,
) -> None:
    """Send due deliveries, retrying failures with backoff; runs until Ctrl-C (``--once``:
    one pass). Prints a JSON line per pass that sent something."""
    with open_runtime(policy) as runtime:
        sender = WebhookSender(runtime.sessions, runtime.settings)
        stop = threading.Event()
        try:
            while True:
                result = sender.run_once(stop=stop)
                if result.sent or once:
                    typer.echo(
                        orjson.dumps(
                            {
                                "delivered": result.delivered,
                                "retried": result.retried,
                                "failed": result.failed,
                            }
                        ).decode()
                    )
                if once:
                    break
                if not result.sent:
                    stop.wait(IDLE_SECONDS)
        except KeyboardInterrupt:
            stop.set()
        finally:
            sender.close()


@app.command("replay")
def replay(
    delivery: Annotated[str, typer.Argument(help="The delivery's number or uuid.")],
    policy: PolicyOption = None,
) -> None:
    """Send a failed delivery again (at the next pass of the delivery loop)."""
    with open_runtime(policy) as runtime, runtime.sessions() as session, session.begin():
        try:
            row = service.replay(session, delivery, actor="cli", now=now_utc())
        except TownhallError as exc:
            raise _fail(exc) from None
        typer.echo(orjson.dumps({"id": row.id, "uuid": row.uuid, "status": row.status}).decode())
