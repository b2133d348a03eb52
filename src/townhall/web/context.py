"""What every request handler needs: the policy view, sessions per request, templates."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from townhall.config import Settings
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


def db_session(request: Request) -> Iterator[Session]:
    """A session whose transaction commits when the handler returns and rolls back on error."""
    with state(request).sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
