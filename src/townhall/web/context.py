"""What every request handler needs: the policy view, sessions per request, templates."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException

from townhall.config import Settings
from townhall.db import begin_read, is_locked, read_session_factory
from townhall.errors import DatabaseBusyError
from townhall.org.policy import Policy
from townhall.org.source import PolicySource
from townhall.posts import now_utc
from townhall.web.templating import Templates

if TYPE_CHECKING:
    from townhall.publishing.publisher import OutboxPublisher
    from townhall.web.worker import Deliverer


@dataclass
class WebState:
    """Shared by every request of one app: settings, policy, sessions, templates, clock."""

    settings: Settings
    source: PolicySource
    sessions: sessionmaker[Session]
    """Write sessions (SQLite: the write lock from the first statement to commit)."""
    templates: Templates
    clock: Callable[[], datetime] = now_utc
    """The app's "now" (UTC); tests inject one to drive SLA clocks."""
    deliverer: Deliverer | None = None
    """Sends radar alerts; set by ``create_app``."""
    publisher: OutboxPublisher | None = None
    """Publishes the outbox's due posts each pass (unless ``TOWNHALL_LISTEN`` is false)."""
    stopping: threading.Event = field(default_factory=threading.Event)
    servers: list[Any] = field(default_factory=list)
    open_streams: int = 0
    statistics_due: float = 0.0
    """When (``time.monotonic``) the queue loop next refreshes SQLite's planner statistics."""
    read_sessions: sessionmaker[Session] = field(init=False)
    """Read-only sessions over the same database: they never wait for a writer."""

    def __post_init__(self) -> None:
        self.read_sessions = read_session_factory(self.sessions)

    @property
    def policy(self) -> Policy:
        """The policy in force (it may change while the app runs)."""
        return self.source.policy

    def department_name(self, department_id: str) -> str:
        """The display name of a department (its id when the policy does not know it)."""
        try:
            return self.policy.department(department_id).name
        except KeyError:
            return department_id

    def departments(self) -> list[tuple[str, str]]:
        """(id, name) of every department in the policy, in policy order."""
        return [(dep, self.department_name(dep)) for dep in self.policy.department_ids]

    def shutting_down(self) -> bool:
        """Whether live streams should end now (app stopping or its server exiting)."""
        from sse_starlette.sse import AppStatus

        if self.stopping.is_set() or AppStatus.should_exit:
            return True
        return any(getattr(server, "should_exit", False) for server in self.servers)


def state(request: Request) -> WebState:
    """The app's shared state."""
    web: WebState = request.app.state.web
    return web


READ_METHODS = frozenset({"GET", "HEAD"})
"""Requests that only read: they get a read-only session (no write lock)."""


def db_session(request: Request) -> Iterator[Session]:
    """The request's session: read-only for GET and HEAD (rolled back at the end), otherwise
    a write session that commits when the handler returns and rolls back on error.

    A database still locked after the busy timeout answers 503 (``DatabaseBusyError``).
    """
    web = state(request)
    read = request.method in READ_METHODS
    try:
        session = begin_read(web.read_sessions) if read else web.sessions()
    except DatabaseBusyError as busy:
        raise _unavailable(busy) from busy
    with session:
        try:
            yield session
            if not read:
                session.commit()
        except OperationalError as exc:
            session.rollback()
            if is_locked(exc):
                raise _unavailable(DatabaseBusyError()) from exc
            raise
        except BaseException:
            session.rollback()
            raise


def _unavailable(busy: DatabaseBusyError) -> HTTPException:
    """A 503 with ``Retry-After`` and the error's human message (the app's error page)."""
    return HTTPException(busy.status_code, busy.message, headers=busy.headers)
