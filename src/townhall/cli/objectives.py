"""`townhall objectives ...`: the company's goals, objectives and key results against their
targets, and recording a reading of a key result measured outside Townhall.

Days are the company's (its zone). Without ``--as`` a command acts as the operator: the
longest-standing active admin login.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from townhall.cli.common import acting_user, err, fail, shown
from townhall.cli.runtime import open_runtime
from townhall.errors import TownhallError
from townhall.insights import objective_report
from townhall.insights.objectives import described
from townhall.posts import now_utc
from townhall.publishing import localtime

app = typer.Typer(no_args_is_help=True)

PolicyOption = Annotated[Path | None, typer.Option(help="Policy YAML.")]


@app.command("list")
def list_objectives(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per key result.")
    ] = False,
    policy: PolicyOption = None,
) -> None:
    """Every key result: its goal and objective, value now, target, date and status."""
    with open_runtime(policy) as runtime, runtime.sessions() as session:
        loaded = runtime.policy
        goals = objective_report.progress(session, loaded, now_utc())
        if as_json:
            for goal in goals:
                for part in goal.objectives:
                    for kpi in part.kpis:
                        row = {"goal": goal.goal.id, **kpi.as_json()}
                        typer.echo(orjson.dumps(row).decode())
            return
        if not goals:
            err.print("The policy has no objectives yet (see docs/objectives.md).")
            return
        table = Table("goal / objective", "key result", "now", "target", "status")
        for goal in goals:
            for part in goal.objectives:
                for n, kpi in enumerate(part.kpis):
                    where = (
                        f"{shown(goal.goal.label)} / {shown(part.objective.label)}"
                        if n == 0
                        else ""
                    )
                    table.add_row(
                        where,
                        f"{shown(kpi.kpi.label)} ({kpi.kpi.id})",
                        shown(kpi.value_words),
                        shown(kpi.target_words),
                        kpi.status_words,
                    )
        console = Console(width=160, highlight=False, color_system=None)
        with console.capture() as captured:
            console.print(table)
        typer.echo(captured.get().rstrip("\n"))


@app.command("record")
def record(
    kpi: Annotated[str, typer.Argument(help="The key result's id, e.g. store_clicks_gb.")],
    value: Annotated[str, typer.Argument(help="The value measured, e.g. 1200.")],
    on: Annotated[str, typer.Option("--on", help="The day it was measured (YYYY-MM-DD).")],
    country: Annotated[
        str | None, typer.Option(help="The country it is for (ISO code, e.g. GB).")
    ] = None,
    note: Annotated[str, typer.Option(help="Where the figure comes from.")] = "",
    as_: Annotated[
        str | None,
        typer.Option("--as", help="E-mail of the person acting (default: the operator, an admin)."),
    ] = None,
    policy: PolicyOption = None,
) -> None:
    """Record a reading of a key result; prints it as one JSON line."""
    try:
        day = localtime.parse_day(on)
    except ValueError as exc:
        raise fail(f"--on: {exc} (e.g. 2026-12-01)", 2) from None
    with open_runtime(policy) as runtime:
        loaded = runtime.policy
        try:
            objective_report.reading_kpi(loaded, kpi)
            number = objective_report.parse_value(value)
            with runtime.sessions() as session, session.begin():
                reading = objective_report.record_reading(
                    session,
                    loaded,
                    kpi_id=kpi,
                    value=number,
                    on=day,
                    country=country,
                    note=note,
                    actor=acting_user(session, as_),
                    now=now_utc(),
                )
                row = {
                    "id": reading.id,
                    "kpi": reading.kpi,
                    "value": reading.value,
                    "country": reading.country,
                    "on": day.isoformat(),
                    "note": reading.note,
                }
        except TownhallError as exc:
            raise fail(exc.message) from None
        found = loaded.objectives.kpi(kpi)
        assert found is not None
        typer.echo(orjson.dumps(row).decode())
        err.print(f"Recorded {shown(described(found[1], number))} for {day:%d %b %Y}.")
