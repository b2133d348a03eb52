"""``townhall calendar``: calendar feeds (``feed create|list|revoke``) and recurring slots
(``recurring``), for operators and scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from sqlalchemy import func, select

from townhall.cli.common import err
from townhall.cli.runtime import open_runtime
from townhall.errors import TownhallError
from townhall.models import FeedScope, User
from townhall.org.permissions import Action, Actor
from townhall.org.planning import MAX_AHEAD_DAYS
from townhall.posts import now_utc, terminal_safe
from townhall.publishing import feeds, recurring

app = typer.Typer(no_args_is_help=True)
feed_app = typer.Typer(no_args_is_help=True)
app.add_typer(feed_app, name="feed", help="iCalendar feeds of a department's or campaign's plan.")

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]
OPERATOR = "cli"
"""The audit log's actor for what an operator does at the command line."""


def _shown(text: str) -> str:
    """Text someone typed, safe to print (no control characters, no rich markup)."""
    return escape(terminal_safe(text))


def _out(data: object) -> None:
    typer.echo(orjson.dumps(data).decode())


@feed_app.command("create")
def create(
    as_: Annotated[str, typer.Option("--as", help="Whose feed: a login e-mail.")],
    department: Annotated[
        str | None, typer.Option(help="A department id: the feed shows its plan.")
    ] = None,
    campaign: Annotated[
        int | None, typer.Option(min=1, max=2**31 - 1, help="A campaign id: the feed shows it.")
    ] = None,
    policy: PolicyOption = None,
) -> None:
    """Make a feed and print {"id", "label", "path", "token"} as one JSON line: the token is
    shown this once (only its hash is kept)."""
    if (department is None) == (campaign is None):
        err.print("[red]error:[/] give exactly one of --department or --campaign")
        raise typer.Exit(2)
    with open_runtime(policy) as runtime, runtime.sessions() as session, session.begin():
        email = as_.strip().lower()
        user = session.scalar(select(User).where(func.lower(User.email) == email))
        if user is None or not user.active:
            err.print(
                f"[red]error:[/] --as: no active login {_shown(as_)} (see townhall users list)"
            )
            raise typer.Exit(2)
        rules = runtime.policy.permissions
        ids = runtime.policy.department_ids
        actor = Actor(user.department, user.role, frozenset())
        seen = rules.departments_for(actor, Action.VIEW, ids)
        if department is not None and department in ids and not seen.allows(department, ()):
            err.print(f"[red]error:[/] {_shown(user.name)} may not see {_shown(department)}")
            raise typer.Exit(1)
        scope = FeedScope.DEPARTMENT if department is not None else FeedScope.CAMPAIGN
        target = department if department is not None else str(campaign)
        try:
            made = feeds.create(
                session, runtime.policy, scope=scope, target=target, creator=user,
                now=now_utc(), actor=OPERATOR,
            )  # fmt: skip
        except TownhallError as exc:
            err.print(f"[red]error:[/] {_shown(exc.message)}")
            raise typer.Exit(1) from None
        line = {
            "id": made.feed.id,
            "label": terminal_safe(made.feed.label),
            "path": made.path,
            "token": made.token,
        }
    err.print(
        f"feed #{line['id']} of the {_shown(str(line['label']))}: add the site's address before "
        "the path. It is shown this once: keep it safe."
    )
    _out(line)


@feed_app.command("list")
def list_feeds(
    email: Annotated[str | None, typer.Argument(help="Only this person's feeds.")] = None,
    policy: PolicyOption = None,
) -> None:
    """List feeds as JSON lines (never their tokens): id, what it shows, who made it, dates
    and status (active, revoked)."""
    with open_runtime(policy) as runtime, runtime.sessions() as session:
        user = None
        if email is not None:
            user = session.scalar(select(User).where(func.lower(User.email) == email.lower()))
            if user is None:
                err.print(f"[red]error:[/] no login {_shown(email)}")
                raise typer.Exit(1)
        rows = feeds.feeds_of(session, user)
        lines = [
            {
                "id": f.id,
                "scope": str(f.scope),
                "target": terminal_safe(f.target),
                "label": terminal_safe(f.label),
                "person": terminal_safe(f.created_by.email),
                "created_at": f.created_at.isoformat(),
                "last_used_at": f.last_used_at.isoformat() if f.last_used_at else None,
                "status": feeds.status_of(f),
            }
            for f in rows
        ]
    for line in lines:
        _out(line)
    err.print(f"{len(lines)} feed(s)")


@feed_app.command("revoke")
def revoke(
    feed_id: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The feed's id.")],
    policy: PolicyOption = None,
) -> None:
    """Revoke a feed: its address answers 404 at once."""
    with open_runtime(policy) as runtime, runtime.sessions() as session, session.begin():
        try:
            feed = feeds.revoke(session, feed_id, now=now_utc(), by=None, actor=OPERATOR)
        except TownhallError as exc:
            err.print(f"[red]error:[/] {_shown(exc.message)}")
            raise typer.Exit(1) from None
        err.print(f"feed #{feed.id} of the {_shown(feed.label)} is revoked")


@app.command("recurring")
def write_recurring(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be written; write nothing.")
    ] = False,
    days: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_AHEAD_DAYS, help="Days ahead (default: each slot's own)."),
    ] = None,
    policy: PolicyOption = None,
) -> None:
    """Write the recurring slots' drafts due ahead; prints one JSON line per draft written (or,
    with --dry-run, that would be): slot, day, at, id, status, warning."""
    with open_runtime(policy) as runtime, runtime.sessions() as session:
        slots = runtime.policy.planning.recurring
        err.print(f"{len(slots)} recurring slot(s)" + (" (dry run)" if dry_run else ""))
        with session.begin():
            written = recurring.write_ahead(session, runtime.policy, now_utc(), days=days)
            lines = [w.as_json() for w in written]
            if dry_run:
                session.rollback()  # the drafts were checked as if written: keep none
    for line in lines:
        if dry_run:
            line = {
                **line,
                "id": None,
                "status": "would write" if not line["warning"] else "skipped",
            }
        if line["warning"]:
            err.print(f"[yellow]warning:[/] {_shown(str(line['warning']))}")
        _out(line)
    done = sum(1 for line in lines if not line["warning"])
    verb = "would be written" if dry_run else "written"
    err.print(f"{done} draft(s) {verb}, {len(lines) - done} skipped")
