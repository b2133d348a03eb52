"""The one place the web app and the API enforce the permission model.

Every route declares what it needs with ``allow(action, scope_of)`` in its ``dependencies``
(or takes ``Permit`` when it must check more than one thing); ``scope_of`` reads the item,
crisis room or draft named in the address and says which department and channel it belongs
to. A refusal is a ``NotAllowed`` (403) that says what the person may not do and who can.
``tests/web/test_permissions.py`` walks every route for every role of ACME's policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.errors import NotFoundError, PermissionDeniedError
from townhall.models import CrisisRoom, Item, OutboxPost, PostRecord, Takeover, User
from townhall.org.permissions import Action, Actor, DepartmentScope, Scope
from townhall.org.policy import Policy
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.params import IdNumber

ScopeOf = Callable[..., Scope]
"""A dependency that reads the thing a request is about and returns its scope."""


class NotAllowed(PermissionDeniedError):
    """A refusal that names what was refused and who may do it instead."""

    def __init__(self, message: str, who: Iterable[str] = ()) -> None:
        who = list(who)
        if who:
            message += " Who can: " + _join(who) + "."
        super().__init__(message)


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def shifts_in_force(session: Session, user_id: int, now: datetime) -> frozenset[str]:
    """The channels the person holds a takeover shift on at ``now``."""
    rows = session.scalars(
        select(Takeover.channel).where(
            Takeover.user_id == user_id,
            Takeover.cancelled_at.is_(None),
            Takeover.starts_at <= now,
            Takeover.ends_at > now,
        )
    )
    return frozenset(rows)


def actor_of(session: Session, user: User, now: datetime) -> Actor:
    """The person as the permission model sees them."""
    return Actor(user.department, user.role, shifts_in_force(session, user.id, now))


@dataclass
class Permit:
    """What one person may do, for handlers that check more than their route's action."""

    policy: Policy
    user: User
    actor: Actor

    def can(self, action: Action, scope: Scope | None = None) -> bool:
        """Whether the person may do ``action`` on ``scope``."""
        return self.policy.permissions.can(self.actor, action, scope)

    def require(self, action: Action, scope: Scope | None = None, what: str = "") -> None:
        """Raise ``NotAllowed`` unless the person may do ``action`` on ``scope``."""
        if self.can(action, scope):
            return
        raise refusal(self.policy, action, scope, what)

    def departments(self, action: Action = Action.VIEW) -> DepartmentScope:
        """The departments whose things the person may do ``action`` on."""
        return self.policy.permissions.departments_for(
            self.actor, action, self.policy.department_ids
        )

    def sees(self, department: str, supporting: Iterable[str] = ()) -> bool:
        """Whether the person may see a thing of ``department`` (supported by ``supporting``)."""
        return self.departments().allows(department, supporting)


def refusal(policy: Policy, action: Action, scope: Scope | None, what: str = "") -> NotAllowed:
    """The 403 for ``action`` on ``scope``: what is refused, in words, and who may."""

    def name(department: str) -> str:
        try:
            return policy.department(department).name
        except KeyError:
            return department

    doing = what or action.doing
    where = ""
    if scope is not None and scope.department is not None:
        where = f" of {name(scope.department)}"
    elif scope is not None and scope.channel is not None:
        where = f" on {scope.channel}"
    who = policy.permissions.who_can(action, scope, name)
    return NotAllowed(f"You may not {doing}{where}.", who)


def permit(request: Request, session: DbSession, user: CurrentUser) -> Permit:
    """The request's ``Permit`` (a dependency)."""
    web = state(request)
    person = Permit(web.policy, user, actor_of(session, user, web.clock()))
    request.state.permit = person  # for templates: may(request, "reply", department=...)
    return person


def may(
    request: Request, action: str, department: str | None = None, channel: str | None = None
) -> bool:
    """For templates: whether the page's person may do ``action`` (False when the page was
    rendered without a ``Permit``, e.g. an error page)."""
    person = getattr(request.state, "permit", None)
    if not isinstance(person, Permit):
        return False
    return person.can(Action(action), Scope(department, frozenset(), channel))


PermitDep = Annotated[Permit, Depends(permit)]


def allow(action: Action, scope_of: ScopeOf | None = None, what: str = "") -> Any:
    """A route dependency: the logged-in person may do ``action`` (on what ``scope_of`` reads
    from the request), else 403. The route audit test finds it by ``action``."""

    def no_scope() -> None:
        return None

    # A default, not an annotation: annotations are strings here (postponed evaluation) and
    # FastAPI could not resolve this closure's names in them.
    def dependency(person: PermitDep, scope: Scope | None = Depends(scope_of or no_scope)) -> None:  # noqa: B008
        person.require(action, scope, what)

    dependency.action = action  # type: ignore[attr-defined]
    return Depends(dependency)


def may_on(request: Request, action: str, item: Item) -> bool:
    """For templates: whether the page's person may do ``action`` on ``item``."""
    person = getattr(request.state, "permit", None)
    if not isinstance(person, Permit):
        return False
    scope = Scope.of(item.department, item.supporting or (), item.post.channel)
    return person.can(Action(action), scope)


# -- what a request is about (dependencies: the address is validated as the handler's is) ----
def item_scope(session: Session, item_id: int) -> Scope:
    """The scope of item ``item_id``: its department, supporting departments and channel."""
    row = session.execute(
        select(Item.department, Item.supporting, PostRecord.channel)
        .join(PostRecord, PostRecord.id == Item.post_pk)
        .where(Item.id == item_id)
    ).first()
    if row is None:
        raise NotFoundError(f"There is no item #{item_id}.")
    return Scope.of(row.department, row.supporting or (), row.channel)


MISSING = Scope()
"""The scope of a thing that does not exist: checked as organisation-wide, so that the handler
validates the rest of the request and answers 404 as it always did."""


def room_scope(room: CrisisRoom) -> Scope:
    """A crisis room belongs to its lead department; its other departments support it."""
    return Scope.of(room.lead_department, room.departments or ())


def draft_scope(post: OutboxPost) -> Scope:
    """A draft belongs to its department, on its channel."""
    return Scope.of(post.department, (), post.channel)


def the_item(item_id: IdNumber, session: DbSession) -> Scope:
    """The scope of the item in the address."""
    try:
        return item_scope(session, item_id)
    except NotFoundError:
        return MISSING


def the_room(room_id: IdNumber, session: DbSession) -> Scope:
    """The scope of the crisis room in the address."""
    room = session.get(CrisisRoom, room_id)
    return MISSING if room is None else room_scope(room)


def the_room_lead(room_id: IdNumber, session: DbSession) -> Scope:
    """The crisis room in the address, as its lead department's alone (who runs the room)."""
    room = session.get(CrisisRoom, room_id)
    return MISSING if room is None else Scope.of(room.lead_department)


def _draft(session: Session, outbox_id: int) -> Scope:
    post = session.get(OutboxPost, outbox_id)
    return MISSING if post is None else draft_scope(post)


def the_draft(outbox_id: IdNumber, session: DbSession) -> Scope:
    """The scope of the draft in the address."""
    return _draft(session, outbox_id)


def the_reply(reply_id: IdNumber, session: DbSession) -> Scope:
    """The scope of the reply (a draft) in the address."""
    return _draft(session, reply_id)


def the_channel(channel_id: Annotated[str, Path(max_length=64)]) -> Scope:
    """The scope of the channel in the address."""
    return Scope(channel=channel_id)


def the_calendar(request: Request) -> Scope:
    """The social calendar (and the takeover rota) belongs to the department leading it."""
    from townhall.publishing.takeovers import calendar_scope

    return calendar_scope(state(request).policy)


def declared_actions(route: Any) -> list[Action]:
    """The actions a route's ``allow`` (or ``api_allow``) dependencies declare, nested ones
    included: the route audits in the tests read them."""
    found: list[Action] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        action = getattr(dependency.call, "action", None)
        if isinstance(action, Action):
            found.append(action)
        stack.extend(dependency.dependencies)
    return found
