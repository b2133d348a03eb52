"""Crisis rooms: opened by the radar above a risk threshold or by hand; PR leads, the product's
QA owner, customer service (and legal, if the policy names one) join; an assessment checklist;
the detractor's journey. Every change is in the audit log. (Replies, and the rule that holds
public ones during a crisis, are in ``townhall.publishing.drafts``.)

Services never commit: the transaction belongs to the caller.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from townhall.audit import SYSTEM, record
from townhall.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from townhall.models import (
    AlertRecord,
    ChecklistEntry,
    CrisisRoom,
    CrisisStatus,
    Item,
    OutboxKind,
    OutboxPost,
    PostRecord,
    Role,
    User,
)
from townhall.org.policy import Policy, Product
from townhall.radar.alerts import Alert, rank
from townhall.understand.topics import topic_slug
from townhall.webhooks import events as webhook_events
from townhall.webhooks.outgoing import emit

MAX_TEXT = 10_000
"""Longest answer, statement, post-mortem or reply accepted, in characters."""

MAX_TIMELINE = 500
"""Most posts shown in a crisis room's timeline."""

OUTCOMES = ("detractor", "neutral", "advocate")
"""The author's stance when a crisis closes."""

OPEN = (CrisisStatus.WATCHING, CrisisStatus.ACTIVE)

NEXT_STATUS = {
    CrisisStatus.WATCHING: (CrisisStatus.ACTIVE, CrisisStatus.RESOLVED),
    CrisisStatus.ACTIVE: (CrisisStatus.RESOLVED,),
    CrisisStatus.RESOLVED: (),
}


def _audit(
    session: Session,
    room: CrisisRoom,
    actor: str,
    action: str,
    now: datetime,
    why: str,
    **details: object,
) -> None:
    record(
        session,
        at=now,
        actor=actor,
        action=action,
        subject_type="crisis",
        subject_id=room.id,
        why=why,
        details=dict(details),
    )


@dataclass(frozen=True)
class Members:
    """Who is in a crisis room: the lead, the departments that join, and who owns each question."""

    lead: str
    departments: list[str]
    qa_owner: str
    customer_contact: str


def product_of(policy: Policy, topic: str | None) -> Product | None:
    """The policy's product a ``product:<id>`` topic names (None for other topics)."""
    if not topic or not topic.startswith("product:"):
        return None
    product_id = topic.split(":", 1)[1]
    return next((p for p in policy.brand.products if p.id == product_id), None)


def members_for(policy: Policy, topic: str | None) -> Members:
    """PR (the lead of ``crisis_management``) leads; customer service, the product's QA owner
    and the policy's legal department join."""
    lead = policy.leads("crisis_management")[0]
    contact = policy.leads("customer_issues")[0]
    product = product_of(policy, topic)
    qa = product.qa_owner if product else contact
    joined = [lead, contact, qa]
    if policy.crisis.legal_department:
        joined.append(policy.crisis.legal_department)
    return Members(lead, list(dict.fromkeys(joined)), qa, contact)


def checklist_for(members: Members) -> list[tuple[str, str, str]]:
    """The assessment questions (key, question, owner department), in order."""
    return [
        ("true", "Is there any truth to the story? Is it an isolated case?", members.qa_owner),
        (
            "spread",
            "How widespread is it? Who has seen it, how far has it spread, and what is the "
            "chance it goes viral?",
            members.lead,
        ),
        (
            "qa",
            "Which quality-assurance protocols apply, when were they last checked, and did QA "
            "fail here?",
            members.qa_owner,
        ),
        ("contacted", "Has anyone contacted the person?", members.customer_contact),
        ("statement", "Is there an official statement?", members.lead),
    ]


def open_room(
    session: Session,
    policy: Policy,
    *,
    story: str,
    topic: str | None,
    title: str,
    now: datetime,
    by: str,
    risk: float = 0.0,
    risk_why: str = "",
    forecast: dict[str, object] | None = None,
    related: Sequence[str] = (),
) -> CrisisRoom:
    """Open a room for ``story`` (an original post's id) and the ``related`` stories of the same
    incident, and attach their items; raises ``ConflictError`` when the story already has an
    open room."""
    if find_open_room(session, story) is not None:
        raise ConflictError(f"The story {story} already has an open crisis room.")
    members = members_for(policy, topic)
    room = CrisisRoom(
        title=title[:300],
        story=story,
        topic=topic,
        status=CrisisStatus.WATCHING,
        lead_department=members.lead,
        departments=members.departments,
        risk=risk,
        risk_why=risk_why,
        forecast=dict(forecast or {}),
        related=[r for r in dict.fromkeys(related) if r != story],
        cooldown_minutes=policy.crisis.cooldown_minutes,
        opened_at=now,
        opened_by=by,
        updated_at=now,
    )
    session.add(room)
    session.flush()
    for position, (key, question, owner) in enumerate(checklist_for(members)):
        session.add(
            ChecklistEntry(
                room_id=room.id,
                position=position,
                key=key,
                question=question,
                owner_department=owner,
            )
        )
    session.flush()
    session.refresh(room)
    attached = attach_story_items(session, room)
    _audit(
        session,
        room,
        by,
        "crisis.opened",
        now,
        f"Crisis room opened for {story} ({topic or 'no topic'}): {members.lead} leads, "
        f"{', '.join(members.departments[1:])} join",
        story=story,
        topic=topic,
        risk=risk,
        items=attached,
    )
    emit(session, "crisis.opened", webhook_events.crisis(room), now)
    return room


def topic_name(policy: Policy, topic: str | None) -> str:
    """What people call a topic: ``product:airfry_5`` is "ACME AirFry 5", ``brand:acme`` is
    "ACME", ``competitor:fryco`` is "FryCo" (a slug the policy does not know, in words)."""
    if not topic:
        return ""
    kind, _, key = topic.partition(":")
    if kind == "product":
        product = product_of(policy, topic)
        if product:
            return product.name
    elif kind == "brand" and key == topic_slug(policy.brand.name):
        return policy.brand.name
    elif kind == "competitor":
        known = (c.name for c in policy.brand.competitors if topic_slug(c.name) == key)
        name = next(known, None)
        if name:
            return name
    return (key or kind).replace("_", " ")


TOPIC_SLUG = re.compile(r"\b(?:product|brand|competitor):[a-z0-9_]+")


def name_topics(policy: Policy, text: str) -> str:
    """``text`` with every topic slug in it (``product:airfry_5``) put as its name."""
    return TOPIC_SLUG.sub(lambda m: topic_name(policy, m.group(0)), text)


def name_departments(policy: Policy, text: str) -> str:
    """``text`` with the department ids that routing and assignment write into their reasons
    ("so customer_service leads with back_office supporting", "3 available in sales",
    "nobody in hr has a login", "Sofia approves for customer_service", "escalates to the
    approver of pr") put as names. Only in those places: ``it`` or ``search`` elsewhere
    in a sentence are words, not departments."""
    names = {d.id: d.name for d in policy.departments}
    one = "|".join(re.escape(d) for d in sorted(names, key=len, reverse=True))
    if not one:
        return text

    def name(match: re.Match[str]) -> str:
        return names.get(match.group(0), match.group(0))

    def listed(match: re.Match[str]) -> str:
        return re.sub(rf"\b(?:{one})\b", name, match.group(0))

    text = re.sub(rf"(?:(?<=\bso )|(?<=: ))(?:{one})(?= leads\b)", name, text)
    for before in ("available in ", "nobody in ", "approves for ", "the approver of "):
        text = re.sub(rf"(?<=\b{before})(?:{one})\b", name, text)
    text = re.sub(rf"^(?:{one})(?= has no approver in office)", name, text)
    return re.sub(
        rf"(?<=\bwith )(?:{one})(?:(?:, | and )(?:{one}))*(?= supporting\b)", listed, text
    )


def readable(policy: Policy, text: str) -> str:
    """``text`` as a person reads it: topics and departments by their names."""
    return name_departments(policy, name_topics(policy, text))


def possessive(name: str) -> str:
    """``Public relations'`` and ``Grace's``: an apostrophe alone after a final s."""
    return f"{name}'" if name.endswith(("s", "S")) else f"{name}'s"


def article(word: str) -> str:
    """ "an" before ``advocate``, "a" before ``detractor`` (by the word's first letter)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def room_title(session: Session, policy: Policy, story: str, topic: str | None) -> str:
    """``ACME AirFry 5: “Has anyone else had this happen?? My AirFry 5 basket…”``."""
    subject = topic_name(policy, topic) or "Story"
    text = session.scalar(select(PostRecord.text).where(PostRecord.post_id == story)) or story
    words = " ".join(text.split())
    quote = words if len(words) <= 70 else words[:69].rsplit(" ", 1)[0] + "…"
    return f"{subject}: “{quote}”"


def find_open_room(session: Session, story: str) -> CrisisRoom | None:
    """The watching or active room of ``story`` (its own, or one it joined), if any."""
    for room in open_rooms(session):
        if story == room.story or story in room.related:
            return room
    return None


def room_on_topic(session: Session, topic: str | None) -> CrisisRoom | None:
    """The newest open room about a product ``topic`` (brand-wide stories do not merge)."""
    if not topic or not topic.startswith("product:"):
        return None
    return next((r for r in open_rooms(session) if r.topic == topic), None)


def get_room(session: Session, room_id: int) -> CrisisRoom:
    """The room with ``room_id``; raises ``NotFoundError``."""
    room = session.get(CrisisRoom, room_id)
    if room is None:
        raise NotFoundError(f"There is no crisis room #{room_id}.")
    return room


def list_rooms(session: Session) -> list[CrisisRoom]:
    """Every room, open ones first, newest first."""
    rooms = session.scalars(select(CrisisRoom).order_by(CrisisRoom.id.desc()))
    return sorted(rooms, key=lambda r: r.status == CrisisStatus.RESOLVED)


def story_posts(session: Session, story: str, limit: int = MAX_TIMELINE) -> list[PostRecord]:
    """The original post and every reply and reshare below it, oldest first (at most
    ``limit``)."""
    found: dict[str, PostRecord] = {}
    root = session.scalar(select(PostRecord).where(PostRecord.post_id == story))
    if root is not None:
        found[root.post_id] = root
    frontier = [story]
    while frontier and len(found) < limit:
        rows = session.scalars(
            select(PostRecord)
            .where(or_(PostRecord.reply_to.in_(frontier), PostRecord.reshare_of.in_(frontier)))
            .limit(limit)
        )
        frontier = []
        for row in rows:
            if row.post_id not in found:
                found[row.post_id] = row
                frontier.append(row.post_id)
    return sorted(found.values(), key=lambda p: p.created_at)[:limit]


def room_posts(session: Session, room: CrisisRoom, limit: int = MAX_TIMELINE) -> list[PostRecord]:
    """The timeline: the posts of the room's story, of the stories that joined it, and of the
    items put in the room (a post of the same incident on another channel, say)."""
    posts: dict[int, PostRecord] = {}
    for story in [room.story, *room.related]:
        for post in story_posts(session, story, limit):
            posts[post.id] = post
    if room.id is not None:
        attached = session.scalars(
            select(PostRecord)
            .join(Item, Item.post_pk == PostRecord.id)
            .where(Item.crisis_id == room.id)
            .limit(limit)
        ).unique()
        for post in attached:
            posts[post.id] = post
    return sorted(posts.values(), key=lambda p: p.created_at)[:limit]


def attach_items(session: Session, room_id: int, post_pks: Sequence[int] | Select[Any]) -> int:
    """Put the items of these posts (row ids, or a query of them) in the room, unless they are
    in one already; how many were attached."""
    items = session.scalars(
        select(Item).where(Item.post_pk.in_(post_pks), Item.crisis_id.is_(None))
    ).unique()
    n = 0
    for item in items:
        item.crisis_id = room_id
        n += 1
    return n


def attach_story_items(session: Session, room: CrisisRoom) -> int:
    """Put the items of the room's posts in the room; how many were attached."""
    pks = [p.id for p in room_posts(session, room)]
    return attach_items(session, room.id, pks) if pks else 0


def attach_posts(session: Session, room: CrisisRoom, post_ids: Sequence[str]) -> int:
    """Put the items of these posts in the room; how many were attached."""
    if not post_ids:
        return 0
    pks = select(PostRecord.id).where(PostRecord.post_id.in_(list(post_ids)))
    return attach_items(session, room.id, pks)


def root_of(session: Session, post: PostRecord, depth: int = 20) -> str:
    """The id of the original post a reply or reshare belongs to (as far as stored)."""
    current = post
    for _ in range(depth):
        parent_id = current.reply_to or current.reshare_of
        if not parent_id:
            break
        parent = session.scalar(select(PostRecord).where(PostRecord.post_id == parent_id))
        if parent is None:
            return parent_id
        current = parent
    return current.post_id


def _incident_stories(alert: Alert) -> list[str]:
    """The stories (original posts' ids) of the alert's incident, its own first."""
    stories = alert.details.get("stories")
    others = [s for s in stories if isinstance(s, str)] if isinstance(stories, list) else []
    return list(dict.fromkeys([alert.story, *others]))


def _join_stories(
    session: Session, room: CrisisRoom, stories: Sequence[str], alert: Alert, now: datetime
) -> None:
    """Add the incident's stories that are not in the room yet, with their items."""
    new = [s for s in stories if s != room.story and s not in room.related]
    if not new:
        return
    room.related = [*room.related, *new]
    attach_story_items(session, room)
    _audit(
        session,
        room,
        SYSTEM,
        "crisis.story_joined",
        now,
        f"{', '.join(new)} {'is' if len(new) == 1 else 'are'} about the same incident "
        f"({alert.topic}), so {'it joins' if len(new) == 1 else 'they join'} the room",
        stories=new,
    )


def record_alerts(
    session: Session, policy: Policy, alerts: Sequence[Alert], now: datetime
) -> list[AlertRecord]:
    """Store the radar's alerts; a crisis alert at or above the policy's ``open_at`` opens a
    room for its story (or updates the open one's risk and forecast).

    An alert about an incident (``details["stories"]``: threads about one product and what went
    wrong with it, from any channel) brings every thread of it into the same room."""
    records = []
    threshold = policy.crisis.open_at
    for alert in alerts:
        row = AlertRecord(
            at=alert.at,
            raised_at=now,
            kind=alert.kind,
            topic=alert.topic,
            severity=alert.severity,
            story=alert.story,
            post_ids=list(alert.post_ids),
            why=alert.why,
            score=alert.score,
            details=dict(alert.details),
        )
        session.add(row)
        records.append(row)
        if alert.kind == "burst":
            incident = alert.details.get("incident")
            burst_room = (
                find_open_room(session, incident) if isinstance(incident, str) else None
            ) or room_on_topic(session, alert.topic)
            if burst_room is not None:
                # A surge of negative posts about the room's product: they belong on its timeline.
                row.crisis_id = burst_room.id
                attach_posts(session, burst_room, alert.post_ids)
            continue
        if alert.kind not in ("crisis", "viral_post") or not alert.story:
            continue
        stories = _incident_stories(alert)
        room = next((r for s in stories if (r := find_open_room(session, s)) is not None), None)
        if room is not None:
            _join_stories(session, room, stories, alert, now)
        if alert.kind != "crisis":
            if room is not None:
                row.crisis_id = room.id
            continue
        if room is None and (room := room_on_topic(session, alert.topic)) is not None:
            # Another story about the same product: the same crisis, one timeline.
            room.related = [*room.related, *(s for s in stories if s not in room.related)]
            attach_story_items(session, room)
            _audit(
                session,
                room,
                SYSTEM,
                "crisis.story_joined",
                now,
                f"{alert.story} is about {alert.topic} too, so it joins the room: {alert.why}",
                story=alert.story,
            )
        if room is None and threshold != "never" and rank(alert.severity) >= rank(threshold):
            room = open_room(
                session,
                policy,
                story=alert.story,
                topic=alert.topic,
                title=room_title(session, policy, alert.story, alert.topic),
                now=now,
                by=SYSTEM,
                risk=alert.score,
                risk_why=alert.why,
                forecast=dict(alert.details.get("forecast", {})),
                related=stories[1:],
            )
        elif room is not None and alert.story == room.story:
            room.risk, room.risk_why, room.updated_at = alert.score, alert.why, now
            if "forecast" in alert.details:
                room.forecast = dict(alert.details["forecast"])
        if room is not None:
            row.crisis_id = room.id
    session.flush()
    return records


def _require_lead(room: CrisisRoom, actor: User, what: str) -> None:
    if actor.role != Role.ADMIN and actor.department != room.lead_department:
        raise PermissionDeniedError(f"Only {room.lead_department} (who leads the room) can {what}.")


def set_room_status(
    session: Session,
    room_id: int,
    status: CrisisStatus,
    *,
    actor: User,
    now: datetime,
    postmortem: str = "",
    outcome: str | None = None,
) -> CrisisRoom:
    """Move a room watching → active → resolved; resolving needs a post-mortem and the
    author's stance (``OUTCOMES``)."""
    room = get_room(session, room_id)
    _require_lead(room, actor, "change the room's status")
    current = CrisisStatus(room.status)
    if status not in NEXT_STATUS[current]:
        raise ConflictError(
            f"Crisis room #{room.id} is {current.value}; it cannot become {status.value}."
        )
    if status is CrisisStatus.RESOLVED:
        postmortem = postmortem.strip()
        if not postmortem:
            raise InputError("Write the post-mortem before resolving the crisis.")
        if outcome not in OUTCOMES:
            raise InputError("Say where the author stands now: detractor, neutral or advocate.")
        room.postmortem, room.outcome, room.resolved_at = postmortem[:MAX_TEXT], outcome, now
    room.status = status
    room.updated_at = now
    _audit(
        session,
        room,
        actor.email,
        "crisis.status_changed",
        now,
        f"{actor.name} moved the crisis to {status.value}"
        + (f"; the author is now a {outcome}" if outcome else ""),
        previous=current.value,
        status=status.value,
        outcome=outcome,
    )
    emit(session, "crisis.changed", webhook_events.crisis(room, current.value), now)
    return room


def answer_question(
    session: Session, room_id: int, entry_id: int, answer: str, *, actor: User, now: datetime
) -> ChecklistEntry:
    """Answer (or correct) one checklist question; anyone of the room's departments may."""
    room = get_room(session, room_id)
    if actor.role != Role.ADMIN and actor.department not in room.departments:
        raise PermissionDeniedError("Only the departments in this crisis room can answer.")
    entry = next((e for e in room.checklist if e.id == entry_id), None)
    if entry is None:
        raise NotFoundError(f"Crisis room #{room.id} has no question #{entry_id}.")
    answer = answer.strip()
    if not answer or len(answer) > MAX_TEXT:
        raise InputError(f"An answer must have 1 to {MAX_TEXT:,} characters.")
    entry.answer, entry.answered_by, entry.answered_at = answer, actor.email, now
    room.updated_at = now
    _audit(
        session,
        room,
        actor.email,
        "crisis.answered",
        now,
        f"{actor.name} answered: {entry.question}",
        key=entry.key,
    )
    return entry


def set_holding_statement(
    session: Session, room_id: int, text: str, *, actor: User, now: datetime
) -> CrisisRoom:
    """Write the room's holding statement (what we say while we find out); the lead's job."""
    room = get_room(session, room_id)
    _require_lead(room, actor, "write the holding statement")
    room.holding_statement = text.strip()[:MAX_TEXT]
    room.updated_at = now
    _audit(
        session,
        room,
        actor.email,
        "crisis.holding_statement",
        now,
        f"{actor.name} updated the holding statement",
    )
    return room


STANCES = {"negative": "detractor", "neutral": "neutral", "positive": "advocate"}


@dataclass(frozen=True)
class JourneyStep:
    """One step of an author's journey: a post of theirs (with its stance) or our contact."""

    at: datetime
    what: str  # "post" | "contact" | "reply"
    stance: str | None
    text: str


def author_journey(session: Session, handle: str, limit: int = 100) -> list[JourneyStep]:
    """An author's posts (stance from sentiment) and our replies and contacts, in time order."""
    posts = list(
        session.scalars(
            select(PostRecord)
            .where(PostRecord.author_handle == handle)
            .order_by(PostRecord.created_at)
            .limit(limit)
        )
    )
    steps = [
        JourneyStep(p.created_at, "post", STANCES.get(p.sentiment_label or ""), p.text)
        for p in posts
    ]
    pks = [p.id for p in posts]
    if pks:
        replies = session.scalars(
            select(OutboxPost)
            .join(Item, Item.id == OutboxPost.item_id)
            .where(Item.post_pk.in_(pks))
        ).unique()
        for reply in replies:
            what = "contact" if reply.kind == OutboxKind.PRIVATE else "reply"
            steps.append(
                JourneyStep(
                    reply.created_at,
                    what,
                    None,
                    f"{reply.author.name} ({reply.status}): {reply.text}",
                )
            )
    return sorted(steps, key=lambda s: s.at)


def room_alerts(session: Session, room_id: int) -> list[AlertRecord]:
    """The alerts about a room's story, newest first."""
    query = select(AlertRecord).where(AlertRecord.crisis_id == room_id)
    return list(session.scalars(query.order_by(AlertRecord.id.desc())))


def recent_alerts(session: Session, limit: int = 100) -> list[AlertRecord]:
    """The latest alerts, newest first."""
    return list(session.scalars(select(AlertRecord).order_by(AlertRecord.id.desc()).limit(limit)))


def open_rooms(session: Session) -> list[CrisisRoom]:
    """Rooms watching or active, newest first."""
    query = select(CrisisRoom).where(CrisisRoom.status.in_(OPEN)).order_by(CrisisRoom.id.desc())
    return list(session.scalars(query))
