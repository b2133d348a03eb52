"""The one calendar: every scheduled, published, failed or expired post of our own, the
e-mail and search teams' planned entries, the steps of communication plans not yet written,
and takeover shifts, as ``Entry`` rows between two instants.

Replies and private messages are conversations, not plans: they stay off the calendar. A draft
appears once it has a time. A plan step appears as itself until its draft is written, then as
that draft (carrying the plan's id). The calendar is the company's shared plan, so everyone
who logs in sees all of it; opening an entry checks what the person may do with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from townhall.models import (
    Campaign,
    CommunicationPlan,
    OutboxKind,
    OutboxPost,
    OutboxStatus,
    PlannedEntry,
    PlanStatus,
    PlanStep,
    Takeover,
)
from townhall.org.policy import Policy

TITLE_CHARS = 80
"""How much of a post's text its calendar title shows."""

SHOWN = (
    OutboxStatus.DRAFT,
    OutboxStatus.CHANGES,
    OutboxStatus.APPROVED,
    OutboxStatus.SCHEDULED,
    OutboxStatus.PUBLISHING,
    OutboxStatus.PUBLISHED,
    OutboxStatus.FAILED,
    OutboxStatus.UNKNOWN,
    OutboxStatus.MISSED,
    OutboxStatus.EXPIRED,
)
"""Outbox statuses the calendar shows (rejected drafts and logged contact are not plans)."""

MOVABLE = (
    OutboxStatus.DRAFT,
    OutboxStatus.CHANGES,
    OutboxStatus.APPROVED,
    OutboxStatus.SCHEDULED,
)
"""Outbox statuses whose time can still change (nothing has gone out)."""


class EntryKind(StrEnum):
    """What a calendar entry is."""

    POST = "post"  # an outbox post (a post of our own, or a takeover post)
    PLANNED = "planned"  # an e-mail send or search content piece (not published by Townhall)
    PLAN_STEP = "plan_step"  # a step of a communication plan with no draft yet
    TAKEOVER = "takeover"  # a takeover shift


@dataclass(frozen=True)
class Entry:
    """One thing on the calendar, at ``starts_at`` (UTC)."""

    key: str
    """Unique and safe in an HTML id: ``post-12``, ``planned-3``, ``step-7``, ``takeover-2``."""
    kind: EntryKind
    title: str
    starts_at: datetime
    ends_at: datetime | None
    department: str
    status: str
    """An outbox status, ``planned``, ``cancelled``, ``done``, or ``shift``."""
    url: str
    """Where the entry opens."""
    channel: str | None = None
    category: str | None = None
    campaign_id: int | None = None
    plan_id: int | None = None
    outbox_id: int | None = None
    movable: bool = False
    """A post whose time may still change (drag it to another slot)."""
    detail: str = ""
    """A second line: the planned kind, the shift's person, the plan's name."""


@dataclass(frozen=True)
class Filters:
    """Which entries to show; an empty set means all."""

    channels: frozenset[str] = field(default_factory=frozenset)
    departments: frozenset[str] = field(default_factory=frozenset)
    campaigns: frozenset[int] = field(default_factory=frozenset)
    statuses: frozenset[str] = field(default_factory=frozenset)
    kinds: frozenset[EntryKind] = field(default_factory=frozenset)

    def keeps(self, entry: Entry) -> bool:
        """Whether ``entry`` passes every filter."""
        if self.kinds and entry.kind not in self.kinds:
            return False
        if self.channels and entry.channel not in self.channels:
            return False
        if self.departments and entry.department not in self.departments:
            return False
        if self.campaigns and entry.campaign_id not in self.campaigns:
            return False
        return not self.statuses or entry.status in self.statuses


def title_of(text: str) -> str:
    """A post's text as a one-line calendar title."""
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def post_time(post: OutboxPost) -> datetime | None:
    """Where a post sits on the calendar: when it went out, else when it is due."""
    return post.published_at or post.scheduled_at


def _posts(session: Session, start: datetime, end: datetime) -> list[OutboxPost]:
    in_range = or_(
        and_(OutboxPost.published_at >= start, OutboxPost.published_at < end),
        and_(
            OutboxPost.published_at.is_(None),
            OutboxPost.scheduled_at >= start,
            OutboxPost.scheduled_at < end,
        ),
    )
    query = select(OutboxPost).where(
        in_range,
        OutboxPost.kind.in_([OutboxKind.POST, OutboxKind.TAKEOVER]),
        OutboxPost.status.in_(SHOWN),
    )
    return list(session.scalars(query))


def post_entry(post: OutboxPost, plan_id: int | None = None, detail: str = "") -> Entry:
    """The calendar entry of an outbox post (which must have a time)."""
    at = post_time(post)
    assert at is not None
    return Entry(
        key=f"post-{post.id}",
        kind=EntryKind.POST,
        title=title_of(post.text),
        starts_at=at,
        ends_at=None,
        department=post.department,
        status=str(post.status),
        url=f"/drafts/{post.id}",
        channel=post.channel,
        category=post.category,
        campaign_id=post.campaign_id,
        plan_id=plan_id,
        outbox_id=post.id,
        movable=post.status in MOVABLE,
        detail=detail,
    )


def entries(
    session: Session,
    policy: Policy,
    start: datetime,
    end: datetime,
    filters: Filters | None = None,
) -> list[Entry]:
    """Every calendar entry starting in ``[start, end)`` (a shift overlapping it counts), in
    time order, that passes ``filters``."""
    filters = filters or Filters()
    found: list[Entry] = []
    posts = _posts(session, start, end)
    steps_of_posts: dict[int, PlanStep] = {}
    if posts:
        ids = [p.id for p in posts]
        steps_of_posts = {
            s.outbox_id: s
            for s in session.scalars(select(PlanStep).where(PlanStep.outbox_id.in_(ids)))
            if s.outbox_id is not None
        }
    for post in posts:
        step = steps_of_posts.get(post.id)
        detail = f"{step.plan.name}: {step.title}" if step is not None else ""
        found.append(post_entry(post, step.plan_id if step is not None else None, detail))
    found += _planned(session, start, end)
    found += _steps(session, start, end)
    found += _shifts(session, policy, start, end)
    kept = [e for e in found if filters.keeps(e)]
    return sorted(kept, key=lambda e: (e.starts_at, e.key))


def _planned(session: Session, start: datetime, end: datetime) -> Iterable[Entry]:
    query = select(PlannedEntry).where(
        PlannedEntry.starts_at >= start,
        PlannedEntry.starts_at < end,
        PlannedEntry.cancelled_at.is_(None),
    )
    for row in session.scalars(query):
        yield Entry(
            key=f"planned-{row.id}",
            kind=EntryKind.PLANNED,
            title=row.title,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            department=row.department,
            status="planned",
            url=f"/planned/{row.id}",
            category=row.category,
            campaign_id=row.campaign_id,
            detail="E-mail send" if row.kind == "email" else "Search content",
        )


def _steps(session: Session, start: datetime, end: datetime) -> Iterable[Entry]:
    query = (
        select(PlanStep)
        .join(CommunicationPlan, CommunicationPlan.id == PlanStep.plan_id)
        .where(
            PlanStep.due_at >= start,
            PlanStep.due_at < end,
            PlanStep.outbox_id.is_(None),
            CommunicationPlan.status != PlanStatus.CANCELLED,
        )
    )
    for step in session.scalars(query):
        yield Entry(
            key=f"step-{step.id}",
            kind=EntryKind.PLAN_STEP,
            title=step.title,
            starts_at=step.due_at,
            ends_at=None,
            department=step.owner_department,
            status="done" if step.done_at is not None else "planned",
            url=f"/plans/{step.plan_id}#step-{step.id}",
            channel=step.channel,
            category="statement" if step.statement else None,
            campaign_id=step.plan.campaign_id,
            plan_id=step.plan_id,
            detail=step.plan.name,
        )


def _shifts(session: Session, policy: Policy, start: datetime, end: datetime) -> Iterable[Entry]:
    query = select(Takeover).where(
        Takeover.starts_at < end, Takeover.ends_at > start, Takeover.cancelled_at.is_(None)
    )
    for shift in session.scalars(query):
        yield Entry(
            key=f"takeover-{shift.id}",
            kind=EntryKind.TAKEOVER,
            title=f"Takeover: {shift.user.name}",
            starts_at=shift.starts_at,
            ends_at=shift.ends_at,
            department=shift.user.department,
            status="shift",
            url="/takeovers",
            channel=shift.channel,
            detail=f"{shift.user.name} runs {shift.channel}",
        )


def campaign_names(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """The names of these campaigns, by id."""
    if not ids:
        return {}
    rows = session.execute(select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids)))
    return {row.id: row.name for row in rows}
