"""`townhall conduct check`: run the policy's code of conduct on a draft, offline."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from townhall.cli.common import err
from townhall.config import get_settings
from townhall.errors import PolicyError
from townhall.models.user import Role
from townhall.org.approvals import DraftKind, Right
from townhall.org.loader import load_policy
from townhall.org.policy import Policy
from townhall.posts import terminal_safe
from townhall.publishing.conduct import Context, blocks, check

app = typer.Typer(no_args_is_help=True, help="Check drafts against the code of conduct.")

# Characters that could drive a terminal, escaped as JSON \u escapes (the line stays valid JSON).
_TERMINAL = re.compile(r"[\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _json_line(data: dict[str, object]) -> str:
    line = orjson.dumps(data).decode()
    return _TERMINAL.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


def _usage(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {escape(terminal_safe(message))}")
    return typer.Exit(2)


def _load(path: Path) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        for problem in exc.problems:
            err.print(escape(terminal_safe(problem)))
        raise _usage(f"{len(exc.problems)} problem(s) in the policy {path}") from None


def _read(text: str | None, file: str | None) -> str:
    if (text is None) == (file is None):
        raise _usage("give the draft as TEXT or with --file F (- for stdin), not both")
    if text is not None:
        return text
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(str(file)).read_bytes()
    except OSError as exc:
        raise _usage(f"--file: cannot read {file}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _usage(f"--file: {file} is not UTF-8 text (byte {exc.start})") from None


@app.command("check")
def check_draft(
    channel: Annotated[
        str,
        typer.Option(help="Channel id from the policy, e.g. mastodon (it sets the length limit)."),
    ],
    text: Annotated[
        str | None,
        typer.Argument(help="The draft's text (or use --file).", show_default=False),
    ] = None,
    as_: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="E-mail of the author in the policy: their role and department decide who may "
            "make claims (refunds, liability). Default: a member of no department.",
        ),
    ] = None,
    kind: Annotated[
        DraftKind, typer.Option(help="What the draft is: reply, post, private or takeover.")
    ] = DraftKind.REPLY,
    department: Annotated[
        str | None,
        typer.Option(help="The department owning the draft (default: the channel's owner)."),
    ] = None,
    paid: Annotated[
        bool, typer.Option(help="Part of a paid campaign or sponsorship: needs a disclosure.")
    ] = False,
    file: Annotated[
        str | None,
        typer.Option("--file", "-f", help="Read the draft from this file (- for stdin)."),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="Policy YAML (default: TOWNHALL_POLICY).")
    ] = None,
) -> None:
    """Print one JSON line per finding (rule, level, message, why, start, end: character
    offsets into the text), in text order.

    Exits 1 when a finding blocks the draft, 0 otherwise (warnings and findings that need
    approval included); 2 on a usage error, an unknown channel or person, or a bad policy.
    """
    draft = _read(text, file)
    loaded = _load(policy or get_settings().policy)
    channels = [c.id for c in loaded.channels]
    if channel not in channels:
        raise _usage(f"--channel: unknown channel {channel!r} (valid: {', '.join(channels)})")
    if department is not None and department not in loaded.department_ids:
        valid = ", ".join(loaded.department_ids)
        raise _usage(f"--department: unknown department {department!r} (valid: {valid})")
    role: str = Role.MEMBER.value
    author_department, rights = "", tuple[Right, ...]()
    if as_ is not None:
        person = loaded.person(as_.strip())
        if person is None:
            raise _usage(f"--as: {as_!r} is not among the people of the policy")
        role, author_department, rights = person.role, person.department, tuple(person.rights)
    context = Context(
        channel=channel,
        kind=kind,
        department=department or loaded.default_owner(channel),
        author_department=author_department,
        author_role=role,
        author_rights=rights,
        paid=paid,
    )
    findings = check(loaded, draft, context)
    for finding in findings:
        typer.echo(_json_line(finding.as_json()))
    if not findings:
        err.print("ok: no findings")
    else:
        verdict = "blocked" if blocks(findings) else "not blocked"
        err.print(f"{len(findings)} finding(s): {verdict}")
    if blocks(findings):
        raise typer.Exit(1)
