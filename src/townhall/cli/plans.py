"""`townhall plans ...`: PR communication plans (create, list, show, add a step, write a
step's draft, mark a step done) and `townhall plans planned ...`: the e-mail and search teams'
planned entries (add, list, cancel).

Times are read in the company's zone unless they name an offset, and shown in it. Without
``--as`` a command acts as the operator: the longest-standing active admin login. Changes print
one JSON line on stdout; errors go to stderr (exit 1, or 2 for a bad option).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table
from sqlalchemy import func, select

from townhall.cli.common import acting_user, err, fail, shown
from townhall.cli.runtime import open_runtime
from townhall.errors import TownhallError
from townhall.models import CommunicationPlan, OutboxPost, PlannedEntry, PlanStep, User
from townhall.org.policy import Policy
from townhall.posts import now_utc, terminal_safe
from townhall.publishing import localtime, planned, plans

app = typer.Typer(no_args_is_help=True)
planned_app = typer.Typer(no_args_is_help=True)
app.add_typer(planned_app, name="planned", help="The e-mail and search teams' planned entries.")

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]
AsOption = Annotated[
    str | None,
    typer.Option("--as", help="E-mail of the person acting (default: the operator, an admin)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")]
StepId = Annotated[int, typer.Argument(metavar="STEP", help="The step's id (plans show).", min=1)]


# -- shared ------------------------------------------------------------------------------------


def _out(data: object) -> None:
    typer.echo(orjson.dumps(data).decode())


def _moment(option: str, value: str, policy: Policy) -> datetime:
    """An ISO time, local to the company's zone unless it names an offset; in UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"{option}: not a time: {value!r} (e.g. 2026-12-10T08:00)", 2) from None
    if moment.tzinfo is None:
        return localtime.at_local(moment.date(), moment.time(), localtime.zone(policy.timezone))
    return moment.astimezone(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _local(policy: Policy, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return f"{localtime.local(_aware(moment), localtime.zone(policy.timezone)):%Y-%m-%d %H:%M}"


def _department_name(policy: Policy, department: str) -> str:
    try:
        return policy.department(department).name
    except KeyError:
        return department


def _render(table: Table) -> str:
    from rich.console import Console

    console = Console(width=160, highlight=False, color_system=None)
    with console.capture() as captured:
        console.print(table)
    return captured.get().rstrip("\n")


def _step_row(step: PlanStep, posts: dict[int, OutboxPost]) -> dict[str, Any]:
    return {
        "id": step.id,
        "position": step.position,
        "title": step.title,
        "channel": step.channel,
        "owner_department": step.owner_department,
        "owner": step.owner.email if step.owner is not None else None,
        "due_at": _aware(step.due_at).isoformat(),
        "statement": step.statement,
        "outbox_id": step.outbox_id,
        "state": plans.step_state(step, posts),
    }


def _plan_row(plan: CommunicationPlan, posts: dict[int, OutboxPost]) -> dict[str, Any]:
    done = plans.progress(plan, posts)
    return {
        "id": plan.id,
        "name": plan.name,
        "purpose": str(plan.purpose),
        "department": plan.department,
        "status": str(plans.status_of(plan, posts)),
        "crisis_id": plan.crisis_id,
        "campaign_id": plan.campaign_id,
        "done": done.finished,
        "steps": done.total,
        "next_due": _aware(done.next_step.due_at).isoformat() if done.next_step else None,
    }


# -- plans -------------------------------------------------------------------------------------
@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The plan's name, e.g. 'AirFry 5 launch'.")],
    purpose: Annotated[str, typer.Option(help="launch, recall, crisis or other.")] = "other",
    department: Annotated[
        str | None, typer.Option(help="Who leads it (default: who leads communication plans).")
    ] = None,
    description: Annotated[str, typer.Option(help="What the plan is for.")] = "",
    campaign: Annotated[int | None, typer.Option(help="The campaign's id it belongs to.")] = None,
    as_: AsOption = None,
    policy: PolicyOption = None,
) -> None:
    """Start a communication plan; prints it as one JSON line."""
    with open_runtime(policy) as runtime:
        try:
            with runtime.sessions() as session, session.begin():
                plan = plans.create(
                    session,
                    runtime.policy,
                    name=name,
                    purpose=purpose,
                    department=department,
                    description=description,
                    campaign_id=campaign,
                    actor=acting_user(session, as_),
                    now=now_utc(),
                )
                row = _plan_row(plan, {})
        except TownhallError as exc:
            raise fail(exc.message) from None
    _out(row)


@app.command("list")
def list_plans(as_json: JsonOption = False, policy: PolicyOption = None) -> None:
    """List the plans, open ones first: purpose, department, next step due, progress."""
    with open_runtime(policy) as runtime, runtime.sessions() as session:
        loaded = runtime.policy
        found = [(p, plans.drafts_of(session, p.steps)) for p in plans.list_plans(session)]
        rows = [_plan_row(plan, posts) for plan, posts in found]
        if as_json:
            for row in rows:
                _out(row)
            return
        if not rows:
            err.print("No communication plans yet (townhall plans create NAME).")
            return
        table = Table("id", "name", "purpose", "department", f"next due ({loaded.timezone})",
                      "done", "status")  # fmt: skip
        for (plan, _posts), row in zip(found, rows, strict=True):
            upcoming = plans.progress(plan, _posts).next_step
            table.add_row(
                str(row["id"]),
                shown(row["name"]),
                row["purpose"],
                shown(_department_name(loaded, row["department"])),
                _local(loaded, upcoming.due_at) if upcoming else "—",
                f"{row['done']}/{row['steps']}",
                row["status"],
            )
        typer.echo(_render(table))


@app.command("show")
def show(
    plan_id: Annotated[int, typer.Argument(metavar="ID", help="The plan's id.", min=1)],
    as_json: Annotated[bool, typer.Option("--json", help="The plan as one JSON object.")] = False,
    policy: PolicyOption = None,
) -> None:
    """Show a plan and its ordered steps with their state."""
    with open_runtime(policy) as runtime, runtime.sessions() as session:
        loaded = runtime.policy
        try:
            plan = plans.get(session, plan_id)
        except TownhallError as exc:
            raise fail(exc.message) from None
        posts = plans.drafts_of(session, plan.steps)
        if as_json:
            _out({**_plan_row(plan, posts), "steps": [_step_row(s, posts) for s in plan.steps]})
            return
        row = _plan_row(plan, posts)
        typer.echo(
            f"{terminal_safe(plan.name)} — {row['purpose']}, led by "
            f"{terminal_safe(_department_name(loaded, plan.department))}, {row['status']} "
            f"({row['done']}/{row['steps']} done)"
        )
        if not plan.steps:
            typer.echo("No steps yet (townhall plans step ID --title … --due …).")
            return
        table = Table("step", "#", "title", f"due ({loaded.timezone})", "channel", "owner",
                      "state")  # fmt: skip
        for step in plan.steps:
            owner = _department_name(loaded, step.owner_department)
            if step.owner is not None:
                owner += f" ({step.owner.name})"
            state = plans.step_state(step, posts)
            if step.outbox_id is not None:
                state += f" (draft #{step.outbox_id})"
            table.add_row(
                str(step.id),
                str(step.position),
                shown(step.title),
                _local(loaded, step.due_at),
                step.channel or "off Townhall",
                shown(owner),
                state,
            )
        typer.echo(_render(table))


@app.command("step")
def add_step(
    plan_id: Annotated[int, typer.Argument(metavar="ID", help="The plan's id.", min=1)],
    title: Annotated[str, typer.Option(help="What the step is, e.g. 'Press release'.")],
    due: Annotated[str, typer.Option(help="When it is due, e.g. 2026-12-10T09:00.")],
    text: Annotated[str, typer.Option(help="The planned words (the draft starts from them).")] = "",
    channel: Annotated[
        str | None, typer.Option(help="Channel id (default: said off Townhall).")
    ] = None,
    owner_department: Annotated[
        str | None, typer.Option(help="The department that owns it (default: the plan's).")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="E-mail of the person who owns it.")] = None,
    statement: Annotated[
        bool, typer.Option(help="An official statement (goes to the statement approval chain).")
    ] = True,
    as_: AsOption = None,
    policy: PolicyOption = None,
) -> None:
    """Add a step at the end of a plan; prints it as one JSON line."""
    with open_runtime(policy) as runtime:
        due_at = _moment("--due", due, runtime.policy)
        try:
            with runtime.sessions() as session, session.begin():
                person = None
                if owner is not None:
                    person = session.scalar(
                        select(User).where(func.lower(User.email) == owner.strip().lower())
                    )
                    if person is None:
                        raise fail(f"--owner: no login {owner!r}", 2)
                step = plans.add_step(
                    session,
                    runtime.policy,
                    plans.get(session, plan_id),
                    title=title,
                    text=text,
                    channel=channel,
                    owner_department=owner_department,
                    owner=person,
                    due_at=due_at,
                    statement=statement,
                    actor=acting_user(session, as_),
                    now=now_utc(),
                )
                row = _step_row(step, {})
        except TownhallError as exc:
            raise fail(exc.message) from None
    _out(row)


@app.command("write")
def write(step_id: StepId, as_: AsOption = None, policy: PolicyOption = None) -> None:
    """Write a step's draft into the outbox (it follows its approval chain); prints {"step",
    "outbox_id", "status", "chain"}."""
    with open_runtime(policy) as runtime:
        try:
            with runtime.sessions() as session, session.begin():
                step = plans.get_step(session, step_id)
                post = plans.write_draft(
                    session, runtime.policy, step, actor=acting_user(session, as_), now=now_utc()
                )
                row = {
                    "step": step.id,
                    "outbox_id": post.id,
                    "status": str(post.status),
                    "chain": post.chain,
                }
        except TownhallError as exc:
            raise fail(exc.message) from None
    _out(row)


@app.command("done")
def done(step_id: StepId, as_: AsOption = None, policy: PolicyOption = None) -> None:
    """Mark a step said off Townhall done; prints {"step", "state", "plan_status"}."""
    with open_runtime(policy) as runtime:
        try:
            with runtime.sessions() as session, session.begin():
                step = plans.get_step(session, step_id)
                plans.mark_done(
                    session, runtime.policy, step, actor=acting_user(session, as_), now=now_utc()
                )
                row = {"step": step.id, "state": "done", "plan_status": str(step.plan.status)}
        except TownhallError as exc:
            raise fail(exc.message) from None
    _out(row)


# -- planned entries ---------------------------------------------------------------------------
def _entry_row(entry: PlannedEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": str(entry.kind),
        "title": entry.title,
        "department": entry.department,
        "category": entry.category,
        "starts_at": _aware(entry.starts_at).isoformat(),
        "ends_at": _aware(entry.ends_at).isoformat() if entry.ends_at else None,
        "notes": entry.notes,
        "campaign_id": entry.campaign_id,
        "cancelled": entry.cancelled_at is not None,
    }


@planned_app.command("add")
def add_entry(
    kind: Annotated[str, typer.Option(help="email (a send) or search (a content piece).")],
    title: Annotated[str, typer.Option(help="E.g. 'December newsletter'.")],
    at: Annotated[str, typer.Option(help="When it starts, e.g. 2026-12-10T08:00.")],
    end: Annotated[str | None, typer.Option(help="When it ends (optional).")] = None,
    category: Annotated[
        str | None, typer.Option(help="A planning category of the policy, e.g. newsletter.")
    ] = None,
    department: Annotated[
        str | None, typer.Option(help="Whose entry it is (default: the acting person's).")
    ] = None,
    notes: Annotated[str, typer.Option(help="Anything the other teams should know.")] = "",
    campaign: Annotated[int | None, typer.Option(help="The campaign's id it belongs to.")] = None,
    as_: AsOption = None,
    policy: PolicyOption = None,
) -> None:
    """Plan an e-mail send or search content piece on the calendar; prints it as one JSON
    line."""
    with open_runtime(policy) as runtime:
        loaded = runtime.policy
        starts_at = _moment("--at", at, loaded)
        ends_at = _moment("--end", end, loaded) if end is not None else None
        try:
            with runtime.sessions() as session, session.begin():
                entry = planned.add(
                    session,
                    loaded,
                    kind=kind,
                    title=title,
                    department=department,
                    category=category,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    notes=notes,
                    campaign_id=campaign,
                    actor=acting_user(session, as_),
                    now=now_utc(),
                )
                row = _entry_row(entry)
        except TownhallError as exc:
            raise fail(exc.message) from None
    _out(row)


@planned_app.command("list")
def list_entries(
    from_: Annotated[
        str | None, typer.Option("--from", help="From this time (company zone unless offset).")
    ] = None,
    to: Annotated[str | None, typer.Option(help="Until this time (not included).")] = None,
    cancelled: Annotated[bool, typer.Option(help="Include cancelled entries.")] = False,
    as_json: JsonOption = False,
    policy: PolicyOption = None,
) -> None:
    """List planned entries, soonest first."""
    with open_runtime(policy) as runtime, runtime.sessions() as session:
        loaded = runtime.policy
        start = _moment("--from", from_, loaded) if from_ is not None else None
        stop = _moment("--to", to, loaded) if to is not None else None
        entries = planned.between(session, start, stop, cancelled=cancelled)
        if as_json:
            for entry in entries:
                _out(_entry_row(entry))
            return
        if not entries:
            err.print("Nothing planned (townhall plans planned add --kind … --title … --at …).")
            return
        table = Table("id", f"starts ({loaded.timezone})", "kind", "title", "department",
                      "category", "state")  # fmt: skip
        for entry in entries:
            table.add_row(
                str(entry.id),
                _local(loaded, entry.starts_at),
                planned.KIND_LABELS[entry.kind],
                shown(entry.title),
                shown(_department_name(loaded, entry.department)),
                entry.category or "—",
                "cancelled" if entry.cancelled_at else "planned",
            )
        typer.echo(_render(table))


@planned_app.command("cancel")
def cancel_entry(
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="The entry's id.", min=1)],
    as_: AsOption = None,
    policy: PolicyOption = None,
) -> None:
    """Cancel a planned entry; prints it as one JSON line."""
    with open_runtime(policy) as runtime:
        try:
            with runtime.sessions() as session, session.begin():
                entry = planned.get(session, entry_id)
                planned.cancel(
                    session, runtime.policy, entry, actor=acting_user(session, as_), now=now_utc()
                )
                row = _entry_row(entry)
        except TownhallError as exc:
            raise fail(exc.message) from None
    _out(row)
