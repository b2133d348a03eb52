"""What the Drafts page lists: a person's drafts, what waits for their approval, what is
scheduled, published, or went wrong; for the person or for their whole department.

Read-only queries: nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, UnaryExpression, func, select
from sqlalchemy.orm import Session

from townhall.models import OutboxPost, OutboxStatus, User
from townhall.org.policy import Policy
from townhall.publishing import approvals

LIMIT = 100
"""Rows shown in one tab (the newest or most urgent first)."""


class Tab(StrEnum):
    """The tabs of the Drafts page."""

    MINE = "mine"
    WAITING = "waiting"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    PROBLEMS = "problems"


class Scope(StrEnum):
    """Whose posts a tab lists: mine, or my department's."""

    ME = "me"
    DEPARTMENT = "department"


TAB_LABELS = {
    Tab.MINE: "My drafts",
    Tab.WAITING: "Waiting for me",
    Tab.SCHEDULED: "Scheduled",
    Tab.PUBLISHED: "Published",
    Tab.PROBLEMS: "Failed or expired",
}
"""How each tab reads for one person."""

DEPARTMENT_TAB_LABELS = {
    **TAB_LABELS,
    Tab.MINE: "Drafts",
    Tab.WAITING: "Waiting for approval",
}
"""How each tab reads in the department view."""

TAB_STATUSES: dict[Tab, tuple[OutboxStatus, ...]] = {
    Tab.MINE: (OutboxStatus.DRAFT, OutboxStatus.CHANGES),
    Tab.WAITING: (OutboxStatus.DRAFT,),
    Tab.SCHEDULED: (
        OutboxStatus.APPROVED,
        OutboxStatus.SCHEDULED,
        OutboxStatus.PUBLISHING,
        OutboxStatus.UNKNOWN,
    ),
    Tab.PUBLISHED: (OutboxStatus.PUBLISHED, OutboxStatus.LOGGED),
    Tab.PROBLEMS: (
        OutboxStatus.FAILED,
        OutboxStatus.EXPIRED,
        OutboxStatus.MISSED,
        OutboxStatus.REJECTED,
    ),
}
"""The statuses each tab shows (a draft under review is both mine and waiting)."""


def _order(tab: Tab) -> Sequence[UnaryExpression[Any]]:
    if tab is Tab.WAITING:
        return (OutboxPost.id.asc(),)  # a queue: the oldest first
    if tab is Tab.SCHEDULED:
        return (OutboxPost.scheduled_at.asc().nulls_first(), OutboxPost.id.asc())
    if tab is Tab.PUBLISHED:
        return (OutboxPost.published_at.desc().nulls_last(), OutboxPost.id.desc())
    return (OutboxPost.updated_at.desc(), OutboxPost.id.desc())


def _whose(user: User, scope: Scope) -> ColumnElement[bool]:
    if scope is Scope.DEPARTMENT:
        return OutboxPost.department == user.department
    return OutboxPost.author_id == user.id


def posts_in(
    session: Session, policy: Policy, user: User, tab: Tab, scope: Scope, limit: int = LIMIT
) -> list[OutboxPost]:
    """The posts of one tab for ``user`` (``Scope.ME``) or their department.

    "Waiting" for a person means the drafts they may decide on now (whoever wrote them); for
    the department, its drafts still waiting for any approver."""
    if tab is Tab.WAITING and scope is Scope.ME:
        return approvals.waiting_for(session, policy, user, limit=limit)
    query = (
        select(OutboxPost)
        .where(OutboxPost.status.in_(TAB_STATUSES[tab]), _whose(user, scope))
        .order_by(*_order(tab))
        .limit(limit)
    )
    return list(session.scalars(query).unique())


def counts(session: Session, policy: Policy, user: User, scope: Scope) -> dict[Tab, int]:
    """How many posts each tab holds (the waiting count stops at ``LIMIT``)."""
    found: dict[Tab, int] = {}
    for tab, statuses in TAB_STATUSES.items():
        if tab is Tab.WAITING and scope is Scope.ME:
            found[tab] = len(approvals.waiting_for(session, policy, user, limit=LIMIT))
            continue
        query = select(func.count(OutboxPost.id)).where(
            OutboxPost.status.in_(statuses), _whose(user, scope)
        )
        found[tab] = session.scalar(query) or 0
    return found


def to_do(session: Session, policy: Policy, user: User) -> tuple[int, int]:
    """What the nav's Drafts badge counts: (drafts waiting for ``user``'s decision, their own
    drafts sent back with a request for changes)."""
    waiting = len(approvals.waiting_for(session, policy, user, limit=LIMIT))
    changes = session.scalar(
        select(func.count(OutboxPost.id)).where(
            OutboxPost.author_id == user.id, OutboxPost.status == OutboxStatus.CHANGES
        )
    )
    return waiting, changes or 0
