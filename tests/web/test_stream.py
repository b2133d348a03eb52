"""The live inbox stream: new matching rows as they arrive, and a clean end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx


def _events(lines: Iterator[str], want: int, count: str) -> list[tuple[str, str]]:
    """Read (event, data) pairs until ``want`` item events and the count ``count`` arrived.

    The count may come before the last row: on PostgreSQL each statement of a poll sees the
    newest commits, so a count can include an item that the next tick sends.
    """
    events: list[tuple[str, str]] = []
    event, data = "message", []
    for line in lines:
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))
        elif line == "" and data:
            events.append((event, "\n".join(data)))
            event, data = "message", []
            items = sum(1 for name, _ in events if name == "item")
            if items >= want and ("count", count) in events:
                return events
    return events


def test_stream_sends_new_matching_items_after_the_last_seen(
    site: Any, logged_in: httpx.Client
) -> None:
    site.feed(site.post("old one"))
    with logged_in.stream("GET", "/inbox/stream", params={"after": 1}) as response:
        # Posts arrive while the stream is open: only customer service's new item is sent.
        site.feed(site.post("press", channel="rss"), site.post("new kettle complaint"))
        events = _events(response.iter_lines(), want=1, count="2")
    items = [data for name, data in events if name == "item"]
    assert len(items) == 1
    assert "new kettle complaint" in items[0] and 'data-item-id="3"' in items[0]
    assert ("count", "2") in events


def test_stream_honours_filters_and_last_event_id(site: Any, logged_in: httpx.Client) -> None:
    site.feed(site.post("alpha"), site.post("beta"), site.post("gamma", channel="rss"))
    params = {"department": "all", "q": "a", "after": 0}
    with logged_in.stream(
        "GET", "/inbox/stream", params=params, headers={"Last-Event-ID": "1"}
    ) as response:
        events = _events(response.iter_lines(), want=2, count="3")
    ids = [data.split('data-item-id="')[1].split('"')[0] for name, data in events if name == "item"]
    assert ids == ["2", "3"]


def test_server_with_open_stream_exits_quickly(
    site: Any, logged_in: httpx.Client, live_server: Any
) -> None:
    opened = threading.Event()
    failures: list[BaseException] = []

    def listen() -> None:
        try:
            with logged_in.stream("GET", "/inbox/stream") as response:
                opened.set()
                for _ in response.iter_lines():
                    pass
        except httpx.HTTPError:
            pass
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            opened.set()

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert opened.wait(5)
    took = live_server.stop(timeout=10)
    assert not live_server.thread.is_alive()
    assert took < 5, f"uvicorn needed {took:.1f}s to stop with an open stream"
    reader.join(5)
    assert not reader.is_alive() and not failures


def test_stream_ends_when_the_client_disconnects(site: Any, logged_in: httpx.Client) -> None:
    web = site.app.state.web
    with logged_in.stream("GET", "/inbox/stream") as response:
        for line in response.iter_lines():
            if line.startswith("event: count"):
                assert web.open_streams == 1
                break  # leaving the iteration closes the connection
    deadline = time.monotonic() + 5
    while web.open_streams and time.monotonic() < deadline:
        time.sleep(0.05)
    assert web.open_streams == 0


def test_stream_sends_items_committed_late_with_a_lower_id(
    site: Any, logged_in: httpx.Client
) -> None:
    from sqlalchemy import delete, insert, select

    from townhall.db import session_factory, transaction
    from townhall.models import Item

    site.feed(site.post("first"), site.post("second"), site.post("third"))
    with transaction(session_factory(site.engine)) as session:
        found = session.execute(select(Item.__table__).where(Item.id == 2)).mappings().one()
        # Generated columns (due_at, queue_rank) are the database's to fill, not ours.
        row = {k: v for k, v in found.items() if Item.__table__.c[k].computed is None}
        session.execute(delete(Item).where(Item.id == 2))
    with logged_in.stream("GET", "/inbox/stream", params={"after": 3}) as response:
        lines = response.iter_lines()
        assert _events(lines, want=0, count="2") == [("count", "2")]  # the first poll is done
        # A second worker commits item 2 only now, after item 3 was shown.
        with transaction(session_factory(site.engine)) as session:
            session.execute(insert(Item.__table__).values(**row))
        events = _events(lines, want=1, count="3")
    items = [data for name, data in events if name == "item"]
    assert len(items) == 1 and 'data-item-id="2"' in items[0] and "second" in items[0]
