"""`townhall demo` and `townhall serve`: the command center in a browser."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import threading
import time
from contextlib import closing
from datetime import datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from types import FrameType
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
import yaml
from fastapi import FastAPI
from rich.table import Table

from townhall.cli.common import err, fail_config
from townhall.cli.demo_networks import (
    FEED_CHANNEL,
    MASTODON_CHANNEL,
    TAKEOVER_DELAY,
    TAKEOVER_LENGTH,
    start_demo_networks,
)
from townhall.cli.listen import start_listeners
from townhall.cli.runtime import Runtime, open_runtime
from townhall.config import Settings, get_settings
from townhall.errors import ConfigError
from townhall.org.accounts import upsert_user
from townhall.org.passwords import password_problems
from townhall.pipeline.bus import MemoryBus
from townhall.pipeline.runner import BatchResult, Pipeline
from townhall.pipeline.worker import run_worker
from townhall.posts import now_utc
from townhall.publishing.localtime import at_local
from townhall.web.app import create_app
from townhall.web.server import make_server, run_workers

DEMO_PASSWORD = "townhall-demo"  # noqa: S105 - the demo's published login, printed at start


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _web_settings(settings: Settings, host: str) -> Settings:
    """Plain HTTP on loopback cannot carry a Secure cookie: turn it off there, and say so."""
    if settings.cookie_secure and _is_loopback(host):
        err.print("[dim]serving plain HTTP on loopback: session cookie without the Secure flag[/]")
        return settings.model_copy(update={"cookie_secure": False})
    return settings


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    policy: Annotated[Path | None, typer.Option(help="Policy YAML.")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Web processes answering on the port (about one per core); one of them runs "
            "the background loops.",
        ),
    ] = 1,
) -> None:
    """Run the web app on the configured database (TOWNHALL_DATABASE_URL or SQLite)."""
    with open_runtime(policy) as runtime:
        settings = _web_settings(runtime.settings, host)
        stop = threading.Event()
        if settings.listen and any(c.live for c in runtime.policy.channels):
            listeners = start_listeners(runtime, runtime.intake(warm=True), now_utc, stop)
            err.print(f"listening on {len(listeners)} live channel(s); see /channels")
        processes = f" in {workers} processes" if workers > 1 else ""
        err.print(f"Townhall at [bold]http://{host}:{port}/[/]{processes}  (Ctrl-C stops)")
        try:
            if workers == 1:
                app = create_app(settings, runtime.engine, runtime.source)
                make_server(app, host=host, port=port).run()
            else:
                # Each process builds its own app (and engine) from the environment: the
                # policy this command loaded and the cookie setting decided above.
                os.environ["TOWNHALL_POLICY"] = str(runtime.source.path.resolve())
                os.environ["TOWNHALL_COOKIE_SECURE"] = "true" if settings.cookie_secure else "false"
                settings.resolved_secret_key()  # made once, before the processes race for it
                run_workers(host=host, port=port, workers=workers)
        finally:
            stop.set()


def demo(
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    speed: Annotated[
        float, typer.Option(min=1, max=100_000, help="Simulated seconds per real second.")
    ] = 60.0,
    skip_to: Annotated[
        float,
        typer.Option(min=0, max=24, help="Load the day's first N simulated hours at once."),
    ] = 9.0,
    seed: Annotated[int, typer.Option(help="Simulator seed (same seed, same day).")] = 7,
    password: Annotated[str, typer.Option(help="Password of every demo login.")] = DEMO_PASSWORD,
) -> None:
    """Run ACME's command center on a fresh SQLite database with a simulated day of traffic.

    The demo database is TOWNHALL_HOME/demo.db and is recreated on every run, with a copy of
    the policy in TOWNHALL_HOME/demo-policy.yaml (the admin's policy editor changes the copy).
    The day starts SKIP_TO hours before now; the rest plays at SPEED (60: one simulated minute
    per second), and so does the app's clock: SLA clocks, escalations and crisis cool-downs run
    in the simulated day.
    """
    problems = password_problems(password)  # demo logins follow the password policy too
    for problem in problems:
        err.print(f"[red]error:[/] --password: {problem}")
    if problems:
        raise typer.Exit(2)
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    db_path = (settings.home / "demo.db").resolve()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    policy_copy = settings.home / "demo-policy.yaml"
    networks = start_demo_networks()
    real_opening = now_utc()
    opening = demo_now(_company_zone(settings.policy), real_opening)
    takeover_at = opening.replace(second=0, microsecond=0) + timedelta(minutes=1) + TAKEOVER_DELAY
    try:
        networks.write_policy(settings.policy, policy_copy, takeover_at)
    except (OSError, yaml.YAMLError) as exc:
        networks.close()
        raise fail_config(
            ConfigError(f"{settings.policy}: cannot copy the policy: {exc}")
        ) from None
    with (
        closing(networks),
        open_runtime(
            policy_copy, settings=settings, database_url=f"sqlite:///{db_path}"
        ) as runtime,
    ):
        pipeline = runtime.pipeline()
        _create_demo_users(runtime, password)
        _plan_demo_week(runtime, opening)
        web_settings = _web_settings(settings, host)
        # The simulated day runs from ``opening``: a working hour, whenever the demo starts.
        start = opening + (now_utc() - real_opening) - timedelta(hours=skip_to)
        clock = SimulatedClock(start + timedelta(hours=skip_to), speed)
        if opening != real_opening:
            local = opening.astimezone(ZoneInfo(runtime.policy.timezone))
            err.print(
                f"It is outside ACME's working hours now: the demo plays "
                f"{local:%A %d %B} from {local:%H:%M} ({runtime.policy.timezone}) instead, "
                "so people are on shift and queues are being worked."
            )
        app = create_app(web_settings, runtime.engine, runtime.source, clock=clock)
        networks.play(clock)
        stop = threading.Event()
        start_listeners(runtime, pipeline, clock, stop)
        err.print(
            f"Local stand-ins (not real networks): Mastodon [bold]{networks.mastodon_url}/[/] "
            f"(channel {MASTODON_CHANNEL}), news feed {networks.feed_url} (channel {FEED_CHANNEL})"
        )
        real = (takeover_at - opening).total_seconds() / speed
        err.print(
            f"Takeover: Peter Novak (back office) runs {MASTODON_CHANNEL} from "
            f"{takeover_at:%H:%M} UTC simulated time (in about {real:.0f} s) for "
            f"{TAKEOVER_LENGTH.total_seconds() / 3600:.0f} hours; see /takeovers"
        )
        err.print(
            f"\nTownhall demo for [bold]ACME[/] at [bold]http://{host}:{port}/[/]  (Ctrl-C stops)"
        )
        try:
            asyncio.run(_run_demo(app, runtime, pipeline, host, port, clock, start, skip_to, seed))
        finally:
            stop.set()


def _create_demo_users(runtime: Runtime, password: str) -> None:
    table = Table(title=f"Demo logins (password: {password})", title_justify="left")
    for column in ("e-mail", "department", "role"):
        table.add_column(column)
    with runtime.sessions() as session, session.begin():
        for person in runtime.policy.people:
            upsert_user(
                session,
                email=person.email,
                name=person.name,
                department=person.department,
                role=person.role,
                password=password,
                now=now_utc(),
            )
            table.add_row(person.email, person.department, str(person.role))
    err.print(table)


def _plan_demo_week(runtime: Runtime, now: datetime) -> None:
    from townhall.cli.demo_plan import seed_week

    with runtime.sessions() as session, session.begin():
        lines = seed_week(session, runtime.policy, MASTODON_CHANNEL, now)
    err.print("On the calendar (/calendar): " + "; ".join(line.strip() for line in lines))


async def _run_demo(
    app: FastAPI,
    runtime: Runtime,
    pipeline: Pipeline,
    host: str,
    port: int,
    clock: SimulatedClock,
    start: datetime,
    skip_to: float,
    seed: int,
) -> None:
    from townhall.connectors.simulator.connector import SimulatorConnector

    server = make_server(app, host=host, port=port)
    simulator = SimulatorConnector(seed=seed, speed=clock.speed, start=start, skip_to_hours=skip_to)
    bus = MemoryBus()
    totals: list[BatchResult] = []

    async def feed() -> None:
        try:
            async for post in simulator.stream():
                await bus.publish(post)
        finally:
            await bus.close()

    feeder = asyncio.create_task(feed())
    worker = asyncio.create_task(
        run_worker(
            bus,
            pipeline,
            clock,
            batch_size=runtime.settings.batch_size,
            on_batch=totals.append,
        )
    )
    # uvicorn turns Ctrl-C / SIGTERM into a graceful shutdown, then re-sends the signal to the
    # handler it found. Let that handler ignore it, so the pipeline below drains and we exit 0.
    previous = {sig: signal.signal(sig, _after_shutdown) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        await server.serve()
    finally:
        feeder.cancel()
        await asyncio.gather(feeder, return_exceptions=True)
        await asyncio.wait_for(worker, timeout=30)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stored = sum(t.stored for t in totals)
        err.print(f"demo stopped: {stored:,} posts stored")


WORKDAY = (time_of_day(9), time_of_day(17))
"""Working hours of the demo company's day (company zone, Monday to Friday)."""

DEMO_HOUR = time_of_day(11)
"""When the demo's day is at when it starts outside working hours (company zone)."""


def demo_now(zone_name: str, real: datetime) -> datetime:
    """When the demo's simulated day is: ``real`` during working hours (Monday to Friday,
    09:00-17:00 in ``zone_name``), else 11:00 on the latest working day before it (so a demo
    started at night or at the weekend opens on people at work)."""
    zone = ZoneInfo(zone_name)
    local = real.astimezone(zone)
    if local.weekday() < 5 and WORKDAY[0] <= local.time() < WORKDAY[1]:
        return real
    day = local.date()
    if local.time() < WORKDAY[0]:
        day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return at_local(day, DEMO_HOUR, zone)


def _company_zone(policy_path: Path) -> str:
    """The policy's time zone, read before the demo's copy exists (UTC if it cannot be read)."""
    try:
        data = yaml.safe_load(policy_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return "UTC"
    zone = data.get("timezone") if isinstance(data, dict) else None
    try:
        ZoneInfo(str(zone))
    except (ValueError, ZoneInfoNotFoundError):
        return "UTC"
    return str(zone)


class SimulatedClock:
    """The demo's "now": the simulated day's time, running ``speed`` times faster than real time
    from ``origin`` (so SLA clocks, cool-downs and the radar all live in the simulated day)."""

    def __init__(self, origin: datetime, speed: float) -> None:
        self.origin, self.speed = origin, speed
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.origin + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)


def _after_shutdown(signum: int, frame: FrameType | None) -> None:
    """The server has already shut down gracefully for this signal: nothing more to do."""
