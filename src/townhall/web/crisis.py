"""Crisis rooms and alerts in the web app: the list, the room (assessment, forecast, timeline,
holding statement, held replies, the author's journey), and opening a room by hand."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.audit import SYSTEM
from townhall.cases import crisis, repository
from townhall.models import AlertRecord, CrisisRoom, CrisisStatus, Item, PostRecord, User
from townhall.org.permissions import Action, Scope
from townhall.org.policy import Policy
from townhall.publishing import approvals, drafts
from townhall.radar.render import KIND_LABELS
from townhall.web.access import PermitDep, allow, the_item, the_reply, the_room, the_room_lead
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import WebState, state
from townhall.web.csrf import require_csrf
from townhall.web.drafts import decide_or_refuse, safe_back
from townhall.web.params import FieldError, IdNumber

router = APIRouter()
csrf = [Depends(require_csrf)]

TEXT = Annotated[str, Form(max_length=crisis.MAX_TEXT + 1000)]


@dataclass(frozen=True)
class CrisisMarker:
    """What an item of an open crisis room says at its top: the room, who leads, and the
    cool-down end with the minutes left (``minutes_left`` 0 once it is over)."""

    room_id: int
    title: str
    lead: str
    cooldown_ends: datetime
    minutes_left: int

    @property
    def ends_clock(self) -> str:
        """The cool-down's end as ``14:30`` (UTC)."""
        return self.cooldown_ends.astimezone(UTC).strftime("%H:%M")


def crisis_marker(room: CrisisRoom | None, web: WebState) -> CrisisMarker | None:
    """The banner of an item in ``room`` (None when there is no room or it is resolved)."""
    if room is None or room.status == CrisisStatus.RESOLVED:
        return None
    ends = room.opened_at + timedelta(minutes=room.cooldown_minutes)
    left = max(0, math.ceil((ends - web.clock()).total_seconds() / 60))
    title = crisis.name_topics(web.policy, room.title)
    return CrisisMarker(room.id, title, web.department_name(room.lead_department), ends, left)


def people_names(session: Session) -> Callable[[str | None], str]:
    """A function that puts a person's name for the e-mail address stored as an actor
    ("the radar" for the system, the address itself for someone unknown)."""
    names = {email: name for email, name in session.execute(select(User.email, User.name))}

    def person(email: str | None) -> str:
        if not email or email == SYSTEM:
            return "the radar"
        return names.get(email) or email

    return person


def alert_label(alert: AlertRecord) -> str:
    """``Viral post (warning)``: the kind in words and the severity."""
    kind = KIND_LABELS.get(alert.kind, alert.kind.replace("_", " "))
    return f"{kind[:1].upper()}{kind[1:]} ({alert.severity})"


def alert_items(session: Session, alerts: Iterable[AlertRecord]) -> dict[int, int]:
    """Alert id → the id of the item of the post it is about (its story's post, else its
    first post), for alerts whose post has an item."""
    wanted = {a.id: a.story or next(iter(a.post_ids or []), "") for a in alerts}
    post_ids = {p for p in wanted.values() if p}
    if not post_ids:
        return {}
    rows = session.execute(
        select(PostRecord.post_id, Item.id)
        .join(Item, Item.post_pk == PostRecord.id)
        .where(PostRecord.post_id.in_(post_ids))
    )
    item_of = {post_id: item_id for post_id, item_id in rows}
    return {a: item_of[p] for a, p in wanted.items() if p in item_of}


def _wording(session: Session, policy: Policy, alerts: Iterable[AlertRecord]) -> dict[str, Any]:
    """What the crisis templates need to read as a person wrote them."""
    return {
        "topic_name": lambda topic: crisis.topic_name(policy, topic),
        "readable": lambda text: crisis.readable(policy, text),
        "person": people_names(session),
        "possessive": crisis.possessive,
        "article": crisis.article,
        "alert_label": alert_label,
        "alert_items": alert_items(session, alerts),
    }


def _room_url(room_id: int, anchor: str = "") -> Response:
    return RedirectResponse(f"/crises/{room_id}{anchor}", status_code=303)


@router.get("/crises", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def crises_page(
    request: Request, session: DbSession, user: CurrentUser, person: PermitDep
) -> Response:
    """Every crisis room (open first) and the latest radar alerts."""
    web = state(request)
    alerts = crisis.recent_alerts(session)
    context = {
        "user": user,
        "department_name": web.department_name,
        "rooms": [
            r for r in crisis.list_rooms(session) if person.sees(r.lead_department, r.departments)
        ],
        "alerts": alerts,
        **_wording(session, web.policy, alerts),
    }
    return web.templates.TemplateResponse(request, "crises.html", context)


@router.get("/crises/badge", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def crises_badge(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """The nav link's count of open rooms (htmx polls it: alerts live in every page)."""
    count = len(crisis.open_rooms(session))
    return state(request).templates.TemplateResponse(
        request, "_crisis_badge.html", {"count": count}
    )


@router.get(
    "/crises/{room_id}", response_class=HTMLResponse, dependencies=[allow(Action.VIEW, the_room)]
)
def room_page(
    request: Request, room_id: IdNumber, session: DbSession, user: CurrentUser, person: PermitDep
) -> Response:
    """One crisis room."""
    web = state(request)
    room = crisis.get_room(session, room_id)
    posts = crisis.room_posts(session, room)
    root = next((p for p in posts if p.post_id == room.story), None)
    held = drafts.held_replies(session, room.id)
    alerts = crisis.room_alerts(session, room.id)
    context = {
        "user": user,
        "department_name": web.department_name,
        "room": room,
        "posts": posts,
        "root": root,
        "journey": crisis.author_journey(session, root.author_handle) if root else [],
        "held": held,
        "may_decide": {r.id for r in held if approvals.may_decide(session, web.policy, r, user)},
        "alerts": alerts,
        **_wording(session, web.policy, alerts),
        "marker": crisis_marker(room, web),
        "next_status": crisis.NEXT_STATUS[CrisisStatus(room.status)],
        "outcomes": crisis.OUTCOMES,
        "is_lead": person.can(Action.CRISIS, Scope.of(room.lead_department)),
        "may_answer": {
            e.id
            for e in room.checklist
            if person.can(Action.CHECKLIST, Scope.of(e.owner_department))
        },
        "now": web.clock(),
    }
    return web.templates.TemplateResponse(request, "crisis.html", context)


@router.post(
    "/crises/{room_id}/status",
    dependencies=[*csrf, allow(Action.CRISIS, the_room_lead, "move on the crisis rooms")],
)
def room_status(
    request: Request,
    room_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    status: Annotated[str, Form(max_length=16)],
    postmortem: TEXT = "",
    outcome: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Move the room on (resolving asks for the post-mortem and the author's stance)."""
    try:
        target = CrisisStatus(status)
    except ValueError:
        raise FieldError("status", f"unknown crisis status {status!r}.") from None
    if outcome and outcome not in crisis.OUTCOMES:
        raise FieldError("outcome", f"must be one of {', '.join(crisis.OUTCOMES)} or empty.")
    crisis.set_room_status(
        session,
        room_id,
        target,
        actor=user,
        now=state(request).clock(),
        postmortem=postmortem,
        outcome=outcome or None,
    )
    return _room_url(room_id)


@router.post(
    "/crises/{room_id}/answers/{entry_id}", dependencies=[*csrf, allow(Action.VIEW, the_room)]
)
def room_answer(
    request: Request,
    room_id: IdNumber,
    entry_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    answer: TEXT,
    person: PermitDep,
) -> Response:
    """Answer one assessment question (the question's owner department answers it)."""
    room = crisis.get_room(session, room_id)
    entry = next((e for e in room.checklist if e.id == entry_id), None)
    if entry is not None:
        person.require(Action.CHECKLIST, Scope.of(entry.owner_department), "answer this question")
    crisis.answer_question(
        session, room_id, entry_id, answer, actor=user, now=state(request).clock()
    )
    return _room_url(room_id, "#checklist")


@router.post(
    "/crises/{room_id}/statement",
    dependencies=[
        *csrf,
        allow(Action.REPLY, the_room, "write the holding statement"),
    ],
)
def room_statement(
    request: Request, room_id: IdNumber, session: DbSession, user: CurrentUser, text: TEXT
) -> Response:
    """Save the holding statement."""
    crisis.set_holding_statement(session, room_id, text, actor=user, now=state(request).clock())
    return _room_url(room_id, "#statement")


@router.post(
    "/replies/{reply_id}/decide",
    dependencies=[*csrf, allow(Action.VIEW, the_reply), allow(Action.APPROVE)],
)
def decide(
    request: Request,
    reply_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    decision: Annotated[str, Form(max_length=8)],
    note: TEXT = "",
    comment: TEXT = "",
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Approve or reject a draft reply (or ask for changes, with a comment). A refusal the
    approver can act on, such as the crisis cool-down, is shown on the draft's page with the
    time it ends (409), never as a bare error page."""
    reply = decide_or_refuse(request, session, user, reply_id, decision, comment, note)
    if isinstance(reply, Response):
        return reply
    default = f"/items/{reply.item_id}#replies" if reply.item_id else f"/drafts/{reply.id}"
    return RedirectResponse(safe_back(back, default), status_code=303)


@router.post(
    "/items/{item_id}/crisis",
    dependencies=[*csrf, allow(Action.CRISIS, the_item, "open a crisis room on items")],
)
def open_by_hand(
    request: Request, item_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """Raise the alarm on an item's story: open its crisis room now."""
    web = state(request)
    item = repository.get_item(session, item_id)
    story = crisis.root_of(session, item.post)
    room = crisis.find_open_room(session, story)
    if room is None:
        topics = item.post.topics or []
        topic = next((t for t in topics if t.startswith("product:")), topics[0] if topics else None)
        room = crisis.open_room(
            session,
            web.policy,
            story=story,
            topic=topic,
            title=crisis.room_title(session, web.policy, story, topic),
            now=web.clock(),
            by=user.email,
        )
    return _room_url(room.id)
