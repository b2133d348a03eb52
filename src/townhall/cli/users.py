"""`townhall users ...`: create logins for the people who work the inbox, reset passwords,
deactivate logins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.cli.common import err
from townhall.cli.runtime import open_runtime
from townhall.models import Role, SessionEnd, User
from townhall.org.accounts import set_active, set_password, upsert_user
from townhall.org.passwords import LoginNameError, login_name, password_problems
from townhall.org.permissions import roles_of
from townhall.posts import now_utc, terminal_safe

app = typer.Typer(no_args_is_help=True)

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]
EmailArgument = Annotated[str, typer.Argument(help="Login e-mail.")]


def _password_option(help: str) -> object:
    return typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help=help)


def _shown(text: str) -> str:
    """Text someone typed, safe to print (no control characters, no rich markup)."""
    return escape(terminal_safe(text))


def _login_name_or_exit(email: str) -> str:
    try:
        return login_name(email)
    except LoginNameError as exc:
        err.print(f"[red]error:[/] {_shown(exc.message)}")
        raise typer.Exit(2) from None


def _check_password_or_exit(password: str, email: str, name: str) -> None:
    problems = password_problems(password, email=email, name=name)
    for problem in problems:
        err.print(f"[red]error:[/] --password: {_shown(problem)}")
    if problems:
        raise typer.Exit(2)


def _user_or_exit(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        err.print(f"[red]error:[/] no login {_shown(email)} (see `townhall users list`)")
        raise typer.Exit(1)
    return user


@app.command("add")
def add(
    email: EmailArgument,
    name: Annotated[str, typer.Option(help="Full name.")],
    department: Annotated[str, typer.Option(help="Department id from the policy.")],
    role: Annotated[
        str, typer.Option(help="A role of the policy (built in: viewer, member, approver, admin).")
    ] = Role.MEMBER.value,
    password: Annotated[str, _password_option("Password (asked for when not given).")] = "",
    policy: PolicyOption = None,
) -> None:
    """Create a login, or update its name, department, role and password.

    A changed password ends every session of that login.
    """
    email = _login_name_or_exit(email)
    with open_runtime(policy) as runtime:
        if department not in runtime.policy.department_ids:
            valid = ", ".join(runtime.policy.department_ids)
            err.print(
                f"[red]error:[/] --department: unknown department '{_shown(department)}' "
                f"(valid: {valid})"
            )
            raise typer.Exit(2)
        roles = roles_of(runtime.policy.roles)
        if role not in roles:
            err.print(
                f"[red]error:[/] --role: unknown role '{_shown(role)}' (valid: {', '.join(roles)})"
            )
            raise typer.Exit(2)
        _check_password_or_exit(password, email, name)
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
        err.print(f"login ready: {_shown(email)} ({department}, {role})")


@app.command("reset-password")
def reset_password(
    email: EmailArgument,
    password: Annotated[str, _password_option("New password (asked for when not given).")] = "",
    policy: PolicyOption = None,
) -> None:
    """Give a login a new password: every session of it ends, and a lockout is lifted."""
    email = _login_name_or_exit(email)
    with open_runtime(policy) as runtime, runtime.sessions() as session, session.begin():
        user = _user_or_exit(session, email)
        _check_password_or_exit(password, email, user.name)
        ended = set_password(
            session, user, password, now=now_utc(), actor="cli", why=SessionEnd.PASSWORD_RESET
        )
    err.print(f"password reset for {_shown(email)}; {ended} session(s) ended")


@app.command("deactivate")
def deactivate(email: EmailArgument, policy: PolicyOption = None) -> None:
    """Stop a login from logging in; every session of it ends at once."""
    email = _login_name_or_exit(email)
    with open_runtime(policy) as runtime, runtime.sessions() as session, session.begin():
        user = _user_or_exit(session, email)
        ended = set_active(session, user, False, now=now_utc(), actor="cli")
    err.print(f"{_shown(email)} can no longer log in; {ended} session(s) ended")


@app.command("activate")
def activate(email: EmailArgument, policy: PolicyOption = None) -> None:
    """Let a deactivated login log in again."""
    email = _login_name_or_exit(email)
    with open_runtime(policy) as runtime, runtime.sessions() as session, session.begin():
        user = _user_or_exit(session, email)
        set_active(session, user, True, now=now_utc(), actor="cli")
    err.print(f"{_shown(email)} can log in again")


@app.command("list")
def list_users(policy: PolicyOption = None) -> None:
    """List the logins with their department and role."""
    with open_runtime(policy) as runtime:
        table = Table("e-mail", "name", "department", "role", "active")
        with runtime.sessions() as session:
            for user in session.scalars(select(User).order_by(User.department, User.email)):
                table.add_row(
                    _shown(user.email),
                    _shown(user.name),
                    user.department,
                    str(user.role),
                    "yes" if user.active else "no",
                )
        err.print(table)
