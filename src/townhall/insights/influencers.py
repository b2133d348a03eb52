"""Influencer relationships: the voices Townhall hears, ranked, and the people we track.

Figures are read from posts about us (``brand:`` or ``product:`` topics) and aggregated in SQL,
one row per author handle (``townhall.insights.influence`` says what each figure means and holds
the new-voice rule). Tracked influencers are ``Influencer`` rows, edited by the departments
leading ``influencer_relationships`` in the ownership matrix (and admins); every change is
audited with subject type ``influencer``. Services flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, func, or_, select, union
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Subquery

from townhall import audit
from townhall.errors import InputError, NotFoundError
from townhall.insights import influence
from townhall.models import (
    Campaign,
    Influencer,
    InfluencerNote,
    PostRecord,
    RelationshipStage,
    Role,
    User,
)
from townhall.org.permissions import Action, Scope
from townhall.org.policy import Policy

ACTIVITY = "influencer_relationships"
SUBJECT = "influencer"
PAGE_SIZE = 50


class Tab(StrEnum):
    """The list's tabs."""

    TRACKED = "tracked"
    VOICES = "voices"
    NEW = "new"


class Sort(StrEnum):
    """What the list is sorted by (largest first)."""

    REACH = "reach"
    ENGAGEMENT = "engagement"
    SENTIMENT = "sentiment"


@dataclass(frozen=True)
class VoiceQuery:
    """Which voices to list: the period [start, end), a channel, a stage, a tab, an order."""

    start: datetime
    end: datetime
    tab: Tab = Tab.VOICES
    sort: Sort = Sort.REACH
    ascending: bool = False
    channel: str | None = None
    stage: RelationshipStage | None = None
    page: int = 1

    @property
    def previous_start(self) -> datetime:
        """The start of the previous period of the same length."""
        return self.start - (self.end - self.start)


@dataclass(frozen=True)
class Voice:
    """One author's figures over the period (reach in followers, sentiment −1..1)."""

    handle: str
    name: str
    reach: int
    verified: bool
    posts: int
    drawn: int
    engagement: int
    sentiment: float | None
    influencer_id: int | None
    stage: RelationshipStage | None
    previous: influence.Figures | None = None

    @property
    def why_new(self) -> str:
        """Why this is a new voice (empty outside the New voices tab)."""
        if self.previous is None:
            return ""
        return influence.why_new(influence.Figures(self.reach, self.engagement), self.previous)


@dataclass(frozen=True)
class VoicePage:
    """One page of the list and how many rows there are in all."""

    voices: list[Voice]
    total: int
    page: int
    pages: int


# -- queries ----------------------------------------------------------------------------------
def about_us(post: type[PostRecord] | Any = PostRecord) -> ColumnElement[bool]:
    """Posts whose topics include one of ours (the JSON list read as text: both backends)."""
    text = cast(post.topics, String)
    return or_(*(text.like(f'%"{kind}:%') for kind in influence.OUR_TOPIC_KINDS))


def figures(start: datetime, end: datetime, channel: str | None) -> Subquery:
    """Per author handle: name, reach, verified, posts about us, responses drawn, sentiment."""
    where = [PostRecord.created_at >= start, PostRecord.created_at < end, about_us()]
    if channel:
        where.append(PostRecord.channel == channel)
    own = (
        select(
            PostRecord.author_handle.label("handle"),
            func.max(PostRecord.author_name).label("name"),
            func.max(PostRecord.author_followers).label("reach"),
            func.max(case((PostRecord.author_verified, 1), else_=0)).label("verified"),
            func.count(PostRecord.id).label("posts"),
            func.avg(PostRecord.sentiment_score).label("sentiment"),
        )
        .where(*where)
        .group_by(PostRecord.author_handle)
        .subquery()
    )
    # Replies and reshares by other people, in the period, to the author's posts about us.
    response, target = aliased(PostRecord), aliased(PostRecord)

    def drawn_by(link: Any) -> Any:
        conditions = [
            response.created_at >= start,
            response.created_at < end,
            response.author_handle != target.author_handle,
            about_us(target),
        ]
        if channel:
            conditions.append(target.channel == channel)
        return (
            select(target.author_handle.label("handle"), response.id.label("response"))
            .join(target, link == target.post_id)
            .where(*conditions)
        )

    responses = union(drawn_by(response.reply_to), drawn_by(response.reshare_of)).subquery()
    drawn = (
        select(responses.c.handle, func.count().label("drawn"))
        .group_by(responses.c.handle)
        .subquery()
    )
    drawn_count = func.coalesce(drawn.c.drawn, 0)
    return (
        select(
            own.c.handle,
            own.c.name,
            own.c.reach,
            own.c.verified,
            own.c.posts,
            own.c.sentiment,
            drawn_count.label("drawn"),
            (own.c.posts + drawn_count).label("engagement"),
        )
        .outerjoin(drawn, drawn.c.handle == own.c.handle)
        .subquery()
    )


def _select(query: VoiceQuery) -> tuple[Select[Any], Subquery | None]:
    now = figures(query.start, query.end, query.channel)
    before: Subquery | None = None
    columns: list[Any] = [
        func.coalesce(now.c.handle, Influencer.handle).label("handle"),
        func.coalesce(func.nullif(Influencer.name, ""), now.c.name).label("name"),
        func.coalesce(now.c.reach, 0).label("reach"),
        func.coalesce(now.c.verified, 0).label("verified"),
        func.coalesce(now.c.posts, 0).label("posts"),
        func.coalesce(now.c.drawn, 0).label("drawn"),
        func.coalesce(now.c.engagement, 0).label("engagement"),
        now.c.sentiment.label("sentiment"),
        Influencer.id.label("influencer_id"),
        Influencer.stage.label("stage"),
    ]
    if query.tab is Tab.TRACKED:
        statement = (
            select(*columns)
            .select_from(Influencer)
            .outerjoin(now, now.c.handle == Influencer.handle)
        )
        if query.channel:
            statement = statement.where(now.c.handle.is_not(None))
    else:
        statement = (
            select(*columns)
            .select_from(now)
            .outerjoin(Influencer, Influencer.handle == now.c.handle)
        )
        voice = or_(now.c.reach >= influence.MIN_REACH, now.c.verified == 1)
        statement = statement.where(voice)
        if query.tab is Tab.NEW:
            # The rule of ``influence.is_new_voice``, in SQL (the tests hold them together).
            before = figures(query.previous_start, query.start, query.channel)
            was_reach = func.coalesce(before.c.reach, 0)
            was_engaged = func.coalesce(before.c.engagement, 0)
            statement = (
                statement.add_columns(
                    was_reach.label("was_reach"), was_engaged.label("was_engagement")
                )
                .outerjoin(before, before.c.handle == now.c.handle)
                .where(
                    or_(
                        and_(now.c.reach > 0, now.c.reach >= influence.REACH_GROWTH * was_reach),
                        and_(
                            now.c.engagement >= influence.MIN_ENGAGEMENT,
                            now.c.engagement >= influence.ENGAGEMENT_GROWTH * was_engaged,
                        ),
                    )
                )
            )
    if query.stage is not None:
        statement = statement.where(Influencer.stage == query.stage.value)
    return statement, before


def list_voices(session: Session, query: VoiceQuery) -> VoicePage:
    """One page (``PAGE_SIZE`` rows) of the voices ``query`` asks for, in its order."""
    statement, before = _select(query)
    rows = statement.subquery()
    key = rows.c[query.sort.value]
    ordered = key.asc() if query.ascending else key.desc()

    def page_of(page: int) -> list[Any]:
        # The total rides along as a window count: one pass over the figures, not two.
        return list(
            session.execute(
                select(rows, func.count().over().label("total"))
                .order_by(ordered.nulls_last(), rows.c.handle)
                .limit(PAGE_SIZE)
                .offset((page - 1) * PAGE_SIZE)
            ).mappings()
        )

    page = max(1, query.page)
    found = page_of(page)
    if not found and page > 1:  # past the end: the last page
        total = session.scalar(select(func.count()).select_from(rows)) or 0
        page = max(1, -(-total // PAGE_SIZE))
        found = page_of(page)
    total = int(found[0]["total"]) if found else 0
    pages = max(1, -(-total // PAGE_SIZE))
    voices = []
    for row in found:
        previous = None
        if before is not None:
            previous = influence.Figures(int(row["was_reach"]), int(row["was_engagement"]))
        voices.append(
            Voice(
                handle=row["handle"],
                name=row["name"] or "",
                reach=int(row["reach"]),
                verified=bool(row["verified"]),
                posts=int(row["posts"]),
                drawn=int(row["drawn"]),
                engagement=int(row["engagement"]),
                sentiment=None if row["sentiment"] is None else float(row["sentiment"]),
                influencer_id=row["influencer_id"],
                stage=None if row["stage"] is None else RelationshipStage(row["stage"]),
                previous=previous,
            )
        )
    return VoicePage(voices, total, page, pages)


# -- who may edit -----------------------------------------------------------------------------
def may_edit(policy: Policy, can: Any, role: str) -> bool:
    """Whether a person (``can(action, scope)``, e.g. ``Permit.can``, and their role) may edit
    influencers: campaigns or notes on a department leading the activity, or an admin."""
    try:
        leads = policy.leads(ACTIVITY)
    except KeyError:
        leads = []
    return (
        any(
            can(action, Scope.of(department))
            for department in leads
            for action in (Action.CAMPAIGNS, Action.NOTE)
        )
        or role == Role.ADMIN
    )


def owner_department(policy: Policy, user: User) -> str:
    """The leading department a new influencer belongs to: the person's own if it leads."""
    try:
        leads = policy.leads(ACTIVITY)
    except KeyError:
        leads = []
    if user.department in leads or not leads:
        return user.department
    return leads[0]


# -- changes (each audited) -------------------------------------------------------------------
def get(session: Session, influencer_id: int) -> Influencer:
    """The tracked influencer ``influencer_id``; raises ``NotFoundError``."""
    found = session.get(Influencer, influencer_id)
    if found is None:
        raise NotFoundError(f"There is no tracked influencer #{influencer_id}.")
    return found


def by_handle(session: Session, handle: str) -> Influencer | None:
    """The tracked influencer with this handle, if any."""
    return session.scalar(select(Influencer).where(Influencer.handle == handle))


def _record(
    session: Session, user: User, now: datetime, action: str, who: Influencer, **details: Any
) -> None:
    audit.record(
        session,
        at=now,
        actor=user.email,
        action=action,
        subject_type=SUBJECT,
        subject_id=who.id,
        details={"handle": who.handle, **details},
    )


def track(session: Session, policy: Policy, handle: str, user: User, now: datetime) -> Influencer:
    """Start tracking the author ``handle`` (heard in some post); returns the influencer."""
    existing = by_handle(session, handle)
    if existing is not None:
        return existing
    seen = session.execute(
        select(func.max(PostRecord.author_followers), func.max(PostRecord.author_name)).where(
            PostRecord.author_handle == handle
        )
    ).first()
    if seen is None or seen[0] is None:
        raise NotFoundError("Townhall has heard no post by that author.")
    who = Influencer(
        handle=handle,
        name=seen[1] or "",
        stage=RelationshipStage.SPOTTED,
        owner_department=owner_department(policy, user),
        campaign_ids=[],
        followers=int(seen[0]),
        created_by_id=user.id,
        created_at=now,
        updated_at=now,
    )
    session.add(who)
    session.flush()
    _record(session, user, now, "influencer.tracked", who, department=who.owner_department)
    return who


def untrack(session: Session, who: Influencer, user: User, now: datetime) -> None:
    """Stop tracking ``who`` (their notes go with them; the audit log keeps the record)."""
    notes = list(
        session.scalars(select(InfluencerNote).where(InfluencerNote.influencer_id == who.id))
    )
    _record(session, user, now, "influencer.untracked", who, stage=str(who.stage), notes=len(notes))
    for note in notes:
        session.delete(note)
    session.flush()  # no ORM relationship orders these deletes: the notes go first
    session.delete(who)
    session.flush()


def set_stage(
    session: Session, who: Influencer, stage: RelationshipStage, user: User, now: datetime
) -> None:
    """Move the relationship with ``who`` to ``stage``."""
    if stage == who.stage:
        return
    _record(session, user, now, "influencer.stage", who, before=str(who.stage), after=str(stage))
    who.stage = stage
    who.updated_at = now
    session.flush()


def add_note(
    session: Session, who: Influencer, text: str, user: User, now: datetime
) -> InfluencerNote:
    """Write a note about ``who``."""
    text = text.strip()
    if not text:
        raise InputError("The note is empty.")
    note = InfluencerNote(influencer_id=who.id, user_id=user.id, text=text, at=now)
    session.add(note)
    who.updated_at = now
    session.flush()
    _record(session, user, now, "influencer.note", who, note=note.id)
    return note


def set_campaigns(
    session: Session, who: Influencer, campaign_ids: list[int], user: User, now: datetime
) -> None:
    """Link ``who`` to exactly these campaigns (ids of existing campaigns)."""
    wanted = sorted(set(campaign_ids))
    known = (
        set(session.scalars(select(Campaign.id).where(Campaign.id.in_(wanted))))
        if wanted
        else set()
    )
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise InputError(f"There is no campaign #{unknown[0]}.")
    if wanted == sorted(who.campaign_ids or []):
        return
    _record(
        session,
        user,
        now,
        "influencer.campaigns",
        who,
        before=list(who.campaign_ids or []),
        after=wanted,
    )
    who.campaign_ids = wanted
    who.updated_at = now
    session.flush()


def default_period(now: datetime, days: int = 30) -> tuple[datetime, datetime]:
    """The last ``days`` days up to ``now``."""
    return now - timedelta(days=days), now
