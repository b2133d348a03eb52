"""`townhall listen`: hear the policy's live channels (Mastodon, Bluesky, feeds)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from townhall.channels.service import ChannelListener, ListenReport, live_channels
from townhall.cli.common import err
from townhall.cli.runtime import Runtime, open_runtime
from townhall.pipeline.runner import Intake
from townhall.posts import now_utc, terminal_safe


def listeners_for(runtime: Runtime, names: list[str] | None) -> list[ChannelListener]:
    """One listener per live channel of the policy (or per channel named); exit 2 for a
    channel the policy lacks or that is not connected to a network."""
    try:
        channels = live_channels(runtime.policy, names)
    except KeyError as exc:
        known = ", ".join(c.id for c in runtime.policy.channels)
        err.print(
            f"[red]error:[/] --channel: no channel {escape(str(exc))} (the policy has {known})"
        )
        raise typer.Exit(2) from None
    except ValueError as exc:
        err.print(
            f"[red]error:[/] --channel: {escape(str(exc))} is not connected to a network "
            "(a mastodon or bluesky channel needs api_base_url, an rss channel feeds)"
        )
        raise typer.Exit(2) from None
    pipeline = runtime.intake(warm=True)  # a listener is not a replay: the radar remembers
    return [
        ChannelListener(
            c, runtime.sessions, pipeline, lambda: runtime.policy, runtime.settings, now_utc
        )
        for c in channels
    ]


def _print(report: ListenReport) -> None:
    for line in report.rejected:
        err.print(f"[yellow]skipped:[/] {escape(report.channel)}: {escape(terminal_safe(line))}")
    if report.error:
        err.print(f"[red]{escape(report.channel)}:[/] {escape(terminal_safe(report.error))}")
    typer.echo(orjson.dumps(report.to_json()).decode())


def listen(
    channel: Annotated[
        list[str] | None,
        typer.Option(
            "--channel", help="Channel id to listen on (repeatable); default: every live one."
        ),
    ] = None,
    once: Annotated[
        bool,
        typer.Option("--once", help="Fetch what is new since each channel's cursor, then exit."),
    ] = False,
    policy: Annotated[Path | None, typer.Option(help="Policy YAML.")] = None,
) -> None:
    """Listen on the policy's live channels and store what they hear (one JSON line per channel
    and pass: channel, fetched, stored, duplicates, cursor, health).

    Without --once it keeps listening (the network's stream where it has one, polling
    otherwise, backing off on failures) until Ctrl-C, which lets each channel finish its pass.
    Exit 1 with --once when a channel failed.
    """
    with open_runtime(policy) as runtime:
        listeners = listeners_for(runtime, channel)
        if not listeners:
            err.print("no live channels in the policy: see docs/connectors/ to connect one")
            return
        if once:
            failed = False
            for listener in listeners:
                outcome = listener.once()
                listener.close()
                _print(outcome)
                failed = failed or bool(outcome.error)
            if failed:
                raise typer.Exit(1)
            return
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            err.print("stopping: finishing each channel's pass…")
            stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        lock = threading.Lock()

        def report(r: ListenReport) -> None:
            if r.fetched or r.error or r.rejected:
                with lock:
                    _print(r)

        threads = [
            threading.Thread(target=ls.run, args=(stop, report), name=f"listen:{ls.channel.id}")
            for ls in listeners
        ]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads) and not stop.is_set():
                stop.wait(0.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def start_listeners(
    runtime: Runtime,
    pipeline: Intake,
    clock: Callable[[], datetime],
    stop: threading.Event,
) -> list[threading.Thread]:
    """Listen on every live channel of the policy in background threads until ``stop`` is
    set (``townhall serve`` and ``townhall demo``); problems go to the log and the channel's
    health, never out of the thread."""
    threads = []
    for channel in live_channels(runtime.policy):
        listener = ChannelListener(
            channel, runtime.sessions, pipeline, lambda: runtime.policy, runtime.settings, clock
        )
        thread = threading.Thread(
            target=listener.run, args=(stop,), name=f"listen:{channel.id}", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads
