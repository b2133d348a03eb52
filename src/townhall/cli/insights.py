"""`townhall digest` (a department's weekly digest: print it or send it) and `townhall agenda`
(the cross-team social meeting's agenda, as Markdown).

``digest`` reads the ISO week in the department's zone (default: the last complete week).
Sent to the department's people (or its schedule's ``to``), it is recorded as ``digest.sent``
and the schedule will not send that week's again; sent with ``--to`` it is recorded as
``digest.sent_to`` and does not count for the schedule.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from townhall import audit
from townhall.cli.common import err
from townhall.cli.runtime import open_runtime
from townhall.errors import ChannelError, ConfigError, InputError
from townhall.insights import render, tasks
from townhall.insights.agenda import build_agenda, parse_since, period_start, until_of
from townhall.insights.digest import IsoWeek, build_digest, last_complete_week
from townhall.posts import now_utc, terminal_safe
from townhall.publishing import localtime
from townhall.radar.notify import SmtpServer

OPERATOR = "cli"
MANUAL_SEND = "digest.sent_to"
"""The audit action of a digest sent with ``--to`` (not the department's own copy)."""

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/] {escape(terminal_safe(message))}")
    return typer.Exit(code)


def _print(text: str) -> None:
    lines = text.rstrip("\n").split("\n")
    sys.stdout.write("\n".join(terminal_safe(line) for line in lines) + "\n")


def digest(
    department: Annotated[str, typer.Option(help="The department's id, e.g. pr.")],
    week: Annotated[
        str | None,
        typer.Option(help="ISO week, e.g. 2026-W47 (default: the last complete week)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the digest instead of sending it.")
    ] = False,
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="Send to this address instead (repeatable)."),
    ] = None,
    html: Annotated[bool, typer.Option("--html", help="With --dry-run: print the HTML.")] = False,
    policy: PolicyOption = None,
) -> None:
    """A department's weekly digest: print it (--dry-run) or send it over SMTP."""
    with open_runtime(policy) as runtime:
        known = runtime.policy.department_ids
        if department not in known:
            raise _fail(f"--department: unknown {department!r} (valid: {', '.join(known)})", 2)
        now = now_utc()
        zone = runtime.policy.department_timezone(department)
        try:
            wanted = IsoWeek.parse(week) if week else last_complete_week(now, zone)
        except InputError as exc:
            raise _fail(f"--week: {exc.message}", 2) from None
        server = None
        if not dry_run:
            if not runtime.settings.smtp_url:
                raise _fail(
                    "TOWNHALL_SMTP_URL is not set: set it to send the digest "
                    "(e.g. smtp://localhost:25), or use --dry-run to print it"
                )
            server = SmtpServer.from_url(runtime.settings.smtp_url)
        with runtime.sessions() as session, session.begin():
            found = build_digest(session, runtime.policy, department, wanted, now)
        if server is None:
            shown = render.digest_html if html else render.digest_text
            _print(shown(runtime.policy, found))
            return
        recipients = tasks.recipients(runtime.policy, department, to or ())
        try:
            sent = tasks.send_digest(
                server, runtime.policy, found, recipients, runtime.settings.alert_timeout
            )
        except (ChannelError, ConfigError) as exc:
            raise _fail(f"the digest was not sent: {exc.message}") from None
        with runtime.sessions() as session, session.begin():
            if to:
                audit.record(
                    session,
                    at=now_utc(),
                    actor=OPERATOR,
                    action=MANUAL_SEND,
                    subject_type=tasks.SUBJECT_TYPE,
                    subject_id=tasks.subject_of(department, wanted),
                    why=f"{found.subject} sent to {len(sent.sent_to)} chosen recipients",
                    details={"sent_to": sent.sent_to, "message_id": sent.message_id},
                )
            else:
                tasks.record_sent(
                    session, found, sent.sent_to, sent.message_id, now_utc(), OPERATOR
                )
        line = {
            "department": department,
            "week": str(wanted),
            "sent_to": sent.sent_to,
            "message_id": sent.message_id,
        }
        sys.stdout.write(orjson.dumps(line).decode() + "\n")


def agenda(
    since: Annotated[str, typer.Option(help="How far back the period starts: 7d, 36h, 2w.")] = "7d",
    until: Annotated[
        str | None,
        typer.Option(help="Last day of the period, YYYY-MM-DD, included (default: now)."),
    ] = None,
    policy: PolicyOption = None,
) -> None:
    """The agenda of the cross-team social meeting, as Markdown."""
    with open_runtime(policy) as runtime:
        now = now_utc()
        try:
            span = parse_since(since)
        except InputError as exc:
            raise _fail(f"--since: {exc.message}", 2) from None
        end = now
        zone = runtime.policy.timezone
        if until is not None:
            try:
                end = until_of(localtime.parse_day(until), runtime.policy.timezone)
            except ValueError as exc:
                raise _fail(f"--until: {exc} (e.g. 2026-11-27)", 2) from None
        with runtime.sessions() as session, session.begin():
            found = build_agenda(session, runtime.policy, period_start(end, span, zone), end, now)
        _print(render.agenda_markdown(runtime.policy, found))
