"""Webhook fixtures: a migrated database with committing sessions, settings with a secrets key,
and a real HTTP receiver on 127.0.0.1 that records what it is sent."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from factories import make_item, make_user
from townhall.channels.secrets import new_key
from townhall.config import Settings
from townhall.connectors.standin import LocalServer
from townhall.db import make_engine, session_factory

__all__ = ["make_item", "make_user"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh secrets key (endpoint secrets are sealed with it)."""
    return Settings(
        home=tmp_path,
        secret_key=secrets.token_urlsafe(48),
        secrets_key=new_key(),
        cookie_secure=False,
        queue_interval=0,
    )


@pytest.fixture
def db(make_database_url: Callable[[], str]) -> Iterator[Engine]:
    """A fresh migrated database of its own (the delivery loop commits)."""
    engine = make_engine(make_database_url())
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(db: Engine) -> sessionmaker[Session]:
    """Write sessions over ``db``."""
    return session_factory(db)


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the local receiver got, and the status codes it answers with next (200 after
    the script runs out)."""

    url: str
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            return self.script.pop(0) if self.script else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 that records every POST and answers per its script."""
    holder: list[Receiver] = []

    async def hook(request: Request) -> PlainTextResponse:
        me = holder[0]
        body = await request.body()
        with me.lock:
            me.received.append(Received(request.url.path, dict(request.headers), body))
        code = me.answer()
        return PlainTextResponse("ok" if code < 300 else "receiver says no", status_code=code)

    app = Starlette(routes=[Route("/{path:path}", hook, methods=["POST"])])
    with LocalServer(app, start_timeout=10) as server:
        holder.append(Receiver(url=f"{server.url}/hook"))
        yield holder[0]


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(now: datetime) -> Clock:
    """The app's "now", starting at the shared ``now``."""
    return Clock(now)
