"""`townhall publish ...`: drafts, approvals and the publisher, for scripts and tests."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from sqlalchemy import func, select

from townhall.cli.common import err
from townhall.cli.runtime import Runtime, open_runtime
from townhall.errors import ConductBlockedError, TownhallError
from townhall.models import Decision, OutboxKind, User
from townhall.posts import now_utc
from townhall.publishing import drafts
from townhall.publishing.publisher import OutboxPublisher

app = typer.Typer(no_args_is_help=True)

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]
AsOption = Annotated[str, typer.Option("--as", help="E-mail of the person acting (a login).")]
NoteOption = Annotated[str, typer.Option(help="A private note for the other reviewers.")]


def _out(data: object) -> None:
    typer.echo(orjson.dumps(data).decode())


def _user(runtime: Runtime, email: str) -> User:
    with runtime.sessions() as session:
        user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active:
        err.print(
            f"[red]error:[/] --as: no active login {escape(email)!r} (see townhall users list)"
        )
        raise typer.Exit(2)
    return user


def _fail(exc: TownhallError) -> typer.Exit:
    if isinstance(exc, ConductBlockedError):  # each finding as one JSON line first
        for finding in exc.findings:
            err.print(escape(orjson.dumps(finding).decode()), soft_wrap=True)
    err.print(f"[red]error:[/] {escape(exc.message)}")
    return typer.Exit(1)


def _parse_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        err.print(
            f"[red]error:[/] --at: not an ISO time: {escape(value)!r} (e.g. 2026-12-01T09:00:00Z)"
        )
        raise typer.Exit(2) from None
    if at.tzinfo is None:
        err.print("[red]error:[/] --at: needs a time zone, e.g. 2026-12-01T09:00:00Z")
        raise typer.Exit(2)
    return at


@app.command("draft")
def draft(
    channel: Annotated[str, typer.Option(help="Channel id from the policy.")],
    text: Annotated[str, typer.Option(help="What to say.")],
    as_: AsOption,
    reply_to: Annotated[
        str | None, typer.Option(help="Post id to reply to, e.g. mastodon:109876.")
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="When to publish (ISO time with zone); default: at once.")
    ] = None,
    private: Annotated[
        bool, typer.Option(help="Contact the author of --reply-to privately instead.")
    ] = False,
    paid: Annotated[
        bool, typer.Option(help="Part of a paid campaign or sponsorship (needs the disclosure).")
    ] = False,
    statement: Annotated[bool, typer.Option(help="An official statement of the company.")] = False,
    policy: PolicyOption = None,
) -> None:
    """Write a post or reply into the outbox; prints {"id", "status", "kind", "chain",
    "findings"} as one JSON line.

    The code of conduct checks it first (a blocking finding refuses it, exit 1, the findings on
    stderr); then it follows its approval chain from the policy (docs/approvals.md).
    """
    when = _parse_at(at)
    with open_runtime(policy) as runtime:
        user = _user(runtime, as_)
        kind = OutboxKind.PRIVATE if private else OutboxKind.POST
        try:
            with runtime.sessions() as session, session.begin():
                post = drafts.create_draft(
                    session,
                    runtime.policy,
                    channel=channel,
                    text=text,
                    author=session.merge(user),
                    now=now_utc(),
                    kind=kind,
                    reply_to=reply_to,
                    at=when,
                    paid=paid,
                    statement=statement,
                )
                result = {
                    "id": post.id,
                    "status": str(post.status),
                    "kind": str(post.kind),
                    "chain": post.chain,
                    "findings": post.findings,
                }
        except TownhallError as exc:
            raise _fail(exc) from None
        _out(result)


def _decide(
    outbox_id: int, email: str, decision: Decision, comment: str, note: str, policy: Path | None
) -> None:
    with open_runtime(policy) as runtime:
        user = _user(runtime, email)
        try:
            with runtime.sessions() as session, session.begin():
                post = drafts.decide(
                    session,
                    runtime.policy,
                    outbox_id,
                    decision,
                    actor=session.merge(user),
                    now=now_utc(),
                    comment=comment,
                    note=note,
                )
                result = {"id": post.id, "status": str(post.status), "step": post.step}
        except TownhallError as exc:
            raise _fail(exc) from None
        _out(result)


@app.command("approve")
def approve(
    outbox_id: Annotated[int, typer.Argument(metavar="ID", help="The draft's id.", min=1)],
    as_: AsOption,
    comment: Annotated[str, typer.Option(help="A word for the author.")] = "",
    note: NoteOption = "",
    policy: PolicyOption = None,
) -> None:
    """Approve a draft at its current step (a decider of that step, never its author); prints
    {"id", "status", "step"}: it goes out when the last step is approved."""
    _decide(outbox_id, as_, Decision.APPROVED, comment, note, policy)


@app.command("reject")
def reject(
    outbox_id: Annotated[int, typer.Argument(metavar="ID", help="The draft's id.", min=1)],
    as_: AsOption,
    comment: Annotated[str, typer.Option(help="Why, for the author.")] = "",
    note: NoteOption = "",
    policy: PolicyOption = None,
) -> None:
    """Turn a draft down; prints {"id", "status", "step"}."""
    _decide(outbox_id, as_, Decision.REJECTED, comment, note, policy)


@app.command("changes")
def changes(
    outbox_id: Annotated[int, typer.Argument(metavar="ID", help="The draft's id.", min=1)],
    as_: AsOption,
    comment: Annotated[str, typer.Option(help="What should change, for the author.")],
    note: NoteOption = "",
    policy: PolicyOption = None,
) -> None:
    """Send a draft back to its author for changes; prints {"id", "status", "step"}."""
    _decide(outbox_id, as_, Decision.CHANGES, comment, note, policy)


@app.command("revise")
def revise(
    outbox_id: Annotated[int, typer.Argument(metavar="ID", help="The draft's id.", min=1)],
    as_: AsOption,
    text: Annotated[str, typer.Option(help="The new text.")],
    policy: PolicyOption = None,
) -> None:
    """Rewrite your draft (checked again; its chain starts over); prints {"id", "status",
    "findings"}."""
    with open_runtime(policy) as runtime:
        user = _user(runtime, as_)
        try:
            with runtime.sessions() as session, session.begin():
                post = drafts.revise(
                    session,
                    runtime.policy,
                    outbox_id,
                    text,
                    actor=session.merge(user),
                    now=now_utc(),
                )
                result = {"id": post.id, "status": str(post.status), "findings": post.findings}
        except TownhallError as exc:
            raise _fail(exc) from None
        _out(result)


@app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    interval: Annotated[
        float, typer.Option(min=0.5, max=3600, help="Seconds between passes (without --once).")
    ] = 5.0,
    policy: PolicyOption = None,
) -> None:
    """Publish what is due, exactly once; prints a JSON summary per pass (Ctrl-C stops)."""
    with open_runtime(policy) as runtime:
        publisher = OutboxPublisher(
            runtime.sessions, lambda: runtime.policy, runtime.settings, now_utc
        )
        try:
            while True:
                runtime.source.refresh()
                summary = publisher.run_once()
                for line in summary.errors:
                    err.print(f"[yellow]warning:[/] {escape(line)}")
                if once or summary.busy:
                    _out(summary.to_json())
                if once:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            return
        finally:
            publisher.close()
