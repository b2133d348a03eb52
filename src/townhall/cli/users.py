"""`townhall users ...`: create logins for the people who work the inbox."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from townhall.cli.common import err
from townhall.cli.runtime import open_runtime
from townhall.models import Role, User
from townhall.org.accounts import upsert_user
from townhall.posts import now_utc

app = typer.Typer(no_args_is_help=True)

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]


@app.command("add")
def add(
    email: Annotated[str, typer.Argument(help="Login e-mail.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    department: Annotated[str, typer.Option(help="Department id from the policy.")],
    role: Annotated[Role, typer.Option(help="member, approver or admin.")] = Role.MEMBER,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Password (asked for when not given).",
        ),
    ] = "",
    policy: PolicyOption = None,
) -> None:
    """Create a login, or update its name, department, role and password."""
    with open_runtime(policy) as runtime:
        if department not in runtime.policy.department_ids:
            valid = ", ".join(runtime.policy.department_ids)
            err.print(
                f"[red]error:[/] --department: unknown department '{department}' (valid: {valid})"
            )
            raise typer.Exit(2)
        if len(password) < 8:
            err.print("[red]error:[/] --password: use at least 8 characters")
            raise typer.Exit(2)
        with runtime.sessions() as session, session.begin():
            upsert_user(
                session,
                email=email,
                name=name,
                department=department,
                role=role,
                password=password,
                now=now_utc(),
                actor="cli",
            )
        err.print(f"login ready: {email.lower()} ({department}, {role})")


@app.command("list")
def list_users(policy: PolicyOption = None) -> None:
    """List the logins with their department and role."""
    with open_runtime(policy) as runtime:
        table = Table("e-mail", "name", "department", "role", "active")
        with runtime.sessions() as session:
            for user in session.scalars(select(User).order_by(User.department, User.email)):
                table.add_row(
                    user.email,
                    user.name,
                    user.department,
                    str(user.role),
                    "yes" if user.active else "no",
                )
        err.print(table)
