"""The admins' System page: database, broker, the posts stream, every worker, radar and
listener with its state, and the broker's dead-letter stream with a replay button.

A broker that does not answer is shown as a degraded status on the page, never a 500: the page
exists to be read when something is wrong.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Annotated, Any, cast

import anyio
import redis
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from townhall.audit import record
from townhall.db import schema_head, schema_revision, transaction
from townhall.errors import TownhallError
from townhall.org.permissions import Action
from townhall.pipeline.heartbeat import ProcessStatus, StreamFacts, processes, stream_facts
from townhall.pipeline.streams import DEAD_STREAM, STREAM
from townhall.web.access import allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import WebState, state
from townhall.web.csrf import require_csrf

log = logging.getLogger(__name__)

router = APIRouter(prefix="/admin/system")

BROKER_TIMEOUT = 1.0
"""Seconds the broker has to answer before the page shows it as not answering."""

NEWEST_DEAD = 20
"""Dead-letter stream entries shown on the page."""

_ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


@dataclass(frozen=True)
class DeadEntry:
    """One message of ``townhall:posts:dead``."""

    entry_id: str
    message_id: str
    error: str
    raw: str


@dataclass
class BrokerView:
    """What the page says about the broker (``problem`` set when it does not answer)."""

    configured: bool
    problem: str | None = None
    facts: StreamFacts | None = None
    processes: list[ProcessStatus] | None = None
    dead: list[DeadEntry] | None = None


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=BROKER_TIMEOUT, socket_connect_timeout=BROKER_TIMEOUT
    )


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _broker(web: WebState) -> BrokerView:
    url = web.settings.broker_url
    if url is None:
        return BrokerView(configured=False)
    view = BrokerView(configured=True)
    try:
        client = _client(url)
        try:
            view.facts = stream_facts(client)
            view.processes = processes(client, web.clock())
            entries = cast(list[Any], client.xrevrange(DEAD_STREAM, count=NEWEST_DEAD))
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        log.warning("system page: the broker does not answer: %s", exc)
        view.problem = f"does not answer ({type(exc).__name__}; see the server log)"
        return view
    view.dead = [
        DeadEntry(
            entry_id=_text(entry_id),
            message_id=_text(fields.get(b"id", b"")),
            error=_text(fields.get(b"error", b"")),
            raw=_text(fields.get(b"raw", b"")),
        )
        for entry_id, fields in entries
    ]
    return view


def _database(web: WebState) -> dict[str, Any]:
    try:
        with web.read_sessions() as session:
            current, head = schema_revision(session), schema_head()
    except (SQLAlchemyError, TownhallError) as exc:
        log.warning("system page: the database does not answer: %s", exc)
        return {"ok": False, "text": "does not answer (see the server log)"}
    if current != head:
        return {
            "ok": False,
            "text": f"schema {current}, code expects {head}: run `townhall db upgrade`",
        }
    return {"ok": True, "text": f"reachable, schema current ({head})"}


@router.get("", response_class=HTMLResponse, dependencies=[allow(Action.CHANNELS)])
def system_page(request: Request, user: CurrentUser, replayed: int | None = None) -> Response:
    """Database, broker, stream, processes and dead-letter stream, as they are now."""
    web = state(request)
    broker = _broker(web)
    context = {
        "user": user,
        "department_name": web.department_name,
        "database": _database(web),
        "broker": broker,
        "replayed": replayed,
    }
    return web.templates.TemplateResponse(request, "system.html", context)


def _replay(url: str, entry: str | None) -> int:
    """XADD each chosen dead entry's ``raw`` back to the posts stream, then XDEL it; how many."""
    client = _client(url)
    try:
        if entry is None:
            entries = cast(list[Any], client.xrange(DEAD_STREAM))
        else:
            entries = cast(list[Any], client.xrange(DEAD_STREAM, min=entry, max=entry))
        for entry_id, fields in entries:
            client.xadd(STREAM, {"post": fields.get(b"raw", b"")})
            client.xdel(DEAD_STREAM, entry_id)
        return len(entries)
    finally:
        client.close()


@router.post("/replay", dependencies=[Depends(require_csrf), allow(Action.CHANNELS)])
async def replay(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    entry: Annotated[str | None, Form(max_length=45)] = None,
) -> Response:
    """Put one dead-letter stream entry (or all of them) back on the posts stream."""
    web = state(request)
    url = web.settings.broker_url
    if url is None or (entry is not None and not _ENTRY_ID.match(entry)):
        return RedirectResponse("/admin/system?replayed=0", status_code=303)
    email, name = user.email, user.name
    await anyio.to_thread.run_sync(session.commit)
    try:
        count = await anyio.to_thread.run_sync(_replay, url, entry)
    except (redis.RedisError, OSError) as exc:
        log.warning("system page: replay failed, the broker does not answer: %s", exc)
        return RedirectResponse("/admin/system?replayed=0", status_code=303)
    with transaction(web.sessions) as audit:
        record(
            audit,
            at=web.clock(),
            actor=email,
            action="dead_stream.replay",
            subject_type="dead_stream",
            subject_id=entry or "all",
            why=f"{name} put {count} message(s) of the dead-letter stream back on the stream",
        )
    return RedirectResponse(f"/admin/system?replayed={count}", status_code=303)
