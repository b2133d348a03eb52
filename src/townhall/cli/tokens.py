"""``townhall tokens``: Personal access tokens for the public API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from sqlalchemy import select

from townhall.cli.common import err
from townhall.cli.runtime import open_runtime
from townhall.errors import TownhallError
from townhall.models import User
from townhall.org.permissions import Action
from townhall.posts import now_utc, terminal_safe
from townhall.web.api import tokens

app = typer.Typer(no_args_is_help=True)

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]
OPERATOR = "cli"
"""The audit log's actor for what an operator does at the command line."""


def _shown(text: str) -> str:
    """Text someone typed, safe to print (no control characters, no rich markup)."""
    return escape(terminal_safe(text))


@app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="Whose token: a login e-mail.")],
    name: Annotated[str, typer.Option(help="What the token is for (shown in lists).")],
    scope: Annotated[
        list[str],
        typer.Option(help="An action the token may use (repeat): " + ", ".join(Action) + "."),
    ],
    days: Annotated[
        int, typer.Option(min=1, max=tokens.MAX_DAYS, help="Days until it expires.")
    ] = tokens.DEFAULT_DAYS,
    policy: PolicyOption = None,
) -> None:
    """Create a token and print it once on stdout (only its hash is kept)."""
    with open_runtime(policy) as runtime, runtime.sessions() as session, session.begin():
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            err.print(f"[red]error:[/] no login {_shown(email)} (see `townhall users list`)")
            raise typer.Exit(1)
        try:
            made = tokens.create_token(
                session, user, name=name, scopes=scope, days=days, now=now_utc(), by=OPERATOR
            )
        except TownhallError as exc:
            err.print(f"[red]error:[/] {_shown(exc.message)}")
            raise typer.Exit(2) from None
        err.print(
            f"token #{made.row.id} {_shown(made.row.name)} for {_shown(user.email)}, scopes "
            f"{', '.join(made.row.scopes)}, expires {made.row.expires_at:%Y-%m-%d}. "
            "It is shown this once: keep it safe."
        )
    typer.echo(made.secret)


@app.command("list")
def list_tokens(
    email: Annotated[str | None, typer.Argument(help="Only this person's tokens.")] = None,
    policy: PolicyOption = None,
) -> None:
    """List tokens as JSON lines (never the tokens themselves): id, person, name, the first
    8 characters, scopes, dates and status (active, expired, revoked)."""
    now = now_utc()
    with open_runtime(policy) as runtime, runtime.sessions() as session:
        user_id = None
        if email is not None:
            user = session.scalar(select(User).where(User.email == email.strip().lower()))
            if user is None:
                err.print(f"[red]error:[/] no login {_shown(email)}")
                raise typer.Exit(1)
            user_id = user.id
        rows = tokens.tokens_of(session, user_id)
    for token, person in rows:
        line = {
            "id": token.id,
            "person": terminal_safe(person.email),
            "name": terminal_safe(token.name),
            "prefix": terminal_safe(token.prefix),
            "scopes": token.scopes,
            "created_at": token.created_at.isoformat(),
            "expires_at": token.expires_at.isoformat(),
            "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
            "status": tokens.status_of(token, now),
        }
        typer.echo(orjson.dumps(line).decode())
    err.print(f"{len(rows)} token(s)")


@app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The token's id.")],
    policy: PolicyOption = None,
) -> None:
    """Revoke a token: it stops working at once."""
    with open_runtime(policy) as runtime, runtime.sessions() as session, session.begin():
        try:
            token = tokens.revoke_token(session, token_id, now=now_utc(), by=None, actor=OPERATOR)
        except TownhallError as exc:
            err.print(f"[red]error:[/] {_shown(exc.message)}")
            raise typer.Exit(1) from None
        err.print(f"token #{token.id} {_shown(token.name)} is revoked")
