"""What the API takes and answers (pydantic), and its opaque pagination cursors."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from townhall.cases import repository
from townhall.cases.schemas import MAX_NOTE_CHARS
from townhall.errors import InputError
from townhall.models import (
    AuditEvent,
    ChecklistEntry,
    CrisisRoom,
    Item,
    Note,
    OutboxDecision,
    OutboxPost,
    PostRecord,
    User,
)
from townhall.publishing import drafts
from townhall.web.api.errors import FieldProblem

MAX_LIMIT = 100
"""Most rows one page of a list holds."""
DEFAULT_LIMIT = 50
MAX_CURSOR = 200
"""Longest cursor accepted, in characters."""


def _has_nul(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > 40:
        return False
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


class In(BaseModel):
    """A request body: unknown fields are refused, so that a typo is not silently ignored,
    and so is a NUL character anywhere (PostgreSQL text cannot hold one; nobody types it)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data


# -- cursors ----------------------------------------------------------------------------------
def encode_cursor(kind: str, value: int) -> str:
    """An opaque cursor: ``kind`` ("after" an id, or "offset") and its number."""
    return base64.urlsafe_b64encode(orjson.dumps({"k": kind, "v": value})).decode().rstrip("=")


_NOT_A_CURSOR = (
    "cursor: not a cursor of this list; pass the next_cursor of the previous page "
    "with the same filters and sort."
)


def _cursor_data(cursor: str) -> Any:
    """What a cursor of this API holds (None for anything that is not one)."""
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None


def encode_position(position: str) -> str:
    """An opaque cursor of a place in an order (``repository.position_of``)."""
    return base64.urlsafe_b64encode(orjson.dumps({"k": "at", "p": position})).decode().rstrip("=")


def decode_position(cursor: str | None, sort: str) -> str | None:
    """The position in a cursor of ``encode_position`` (None without a cursor); ``InputError``
    for a cursor this API did not give for this order."""
    if not cursor:
        return None
    data = _cursor_data(cursor)
    position = data.get("p") if isinstance(data, dict) and data.get("k") == "at" else None
    if not isinstance(position, str):
        raise InputError(_NOT_A_CURSOR)
    try:
        repository.position_values(sort, position)
    except InputError:
        raise InputError(_NOT_A_CURSOR) from None
    return position


def decode_cursor(cursor: str | None, kind: str) -> int | None:
    """The number in a cursor of ``kind`` (None without a cursor); ``InputError`` for a
    cursor this API did not give for this list."""
    if not cursor:
        return None
    data = _cursor_data(cursor)
    if (
        not isinstance(data, dict)
        or data.get("k") != kind
        or not isinstance(data.get("v"), int)
        or isinstance(data.get("v"), bool)
        or not 0 <= data["v"] <= 2**31 - 1
    ):
        raise InputError(_NOT_A_CURSOR)
    value: int = data["v"]
    return value


# -- posts ------------------------------------------------------------------------------------
class AuthorOut(BaseModel):
    """Who wrote a post."""

    handle: str
    name: str | None
    followers: int
    location: str | None
    verified: bool


class SentimentOut(BaseModel):
    """How a post sounds: positive, neutral or negative, with a score from -1 to 1."""

    label: str
    score: float | None


class PostOut(BaseModel):
    """A stored post with what Townhall understood of it."""

    id: str
    channel: str
    created_at: datetime
    ingested_at: datetime
    text: str
    url: str | None
    lang: str | None
    author: AuthorOut
    reply_to: str | None
    reshare_of: str | None
    group: str | None
    sentiment: SentimentOut | None
    intent: str | None
    actionable: bool | None
    toxicity: float | None
    language: str | None
    country: str | None
    reach: str | None
    topics: list[str]
    item_id: int | None = None

    @classmethod
    def of(cls, post: PostRecord, item_id: int | None = None) -> PostOut:
        """The answer for ``post``."""
        return cls(
            id=post.post_id,
            channel=post.channel,
            created_at=post.created_at,
            ingested_at=post.ingested_at,
            text=post.text,
            url=post.url,
            lang=post.lang,
            author=AuthorOut(
                handle=post.author_handle,
                name=post.author_name,
                followers=post.author_followers,
                location=post.author_location,
                verified=post.author_verified,
            ),
            reply_to=post.reply_to,
            reshare_of=post.reshare_of,
            group=post.group_name,
            sentiment=(
                SentimentOut(label=post.sentiment_label, score=post.sentiment_score)
                if post.sentiment_label
                else None
            ),
            intent=post.intent,
            actionable=post.actionable,
            toxicity=post.toxicity,
            language=post.language,
            country=post.country,
            reach=post.reach,
            topics=list(post.topics or []),
            item_id=item_id,
        )


MAX_BATCH = 1000
"""Most posts one ``POST /posts`` takes."""


class PostBatchIn(In):
    """Posts to ingest: Post JSON objects as ``townhall ingest`` reads them (docs/formats.md)."""

    posts: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class PostBatchOut(BaseModel):
    """What an ingest did; ``errors`` names each refused object by index and field."""

    detail: str
    received: int
    accepted: int
    stored: int
    duplicates: int
    items: int
    dead_letters: int
    rejected: int
    errors: list[FieldProblem]


# -- people, items ----------------------------------------------------------------------------
class PersonOut(BaseModel):
    """A person, as others see them."""

    id: int
    name: str
    email: str
    department: str

    @classmethod
    def of(cls, user: User) -> PersonOut:
        """The answer for ``user``."""
        return cls(id=user.id, name=user.name, email=user.email, department=user.department)


class NoteOut(BaseModel):
    """An internal note on an item."""

    id: int
    text: str
    author: PersonOut
    created_at: datetime

    @classmethod
    def of(cls, note: Note) -> NoteOut:
        """The answer for ``note``."""
        return cls(
            id=note.id, text=note.text, author=PersonOut.of(note.author), created_at=note.created_at
        )


class SlaOut(BaseModel):
    """An item's SLA clocks."""

    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    breached: bool


class ItemOut(BaseModel):
    """An inbox item: a post in a department's queue, who works it and why it is there."""

    id: int
    department: str
    supporting: list[str]
    status: Literal["new", "in_progress", "done"]
    priority: str
    assignee: PersonOut | None
    rule: str
    why: str
    crisis_id: int | None
    sla: SlaOut
    created_at: datetime
    updated_at: datetime
    post: PostOut

    @classmethod
    def of(cls, item: Item) -> ItemOut:
        """The answer for ``item``."""
        return cls(
            id=item.id,
            department=item.department,
            supporting=list(item.supporting or []),
            status=item.status,
            priority=item.priority,
            assignee=PersonOut.of(item.assignee) if item.assignee is not None else None,
            rule=item.rule,
            why=item.why,
            crisis_id=item.crisis_id,
            sla=SlaOut(
                first_response_due_at=item.first_response_due_at,
                resolution_due_at=item.resolution_due_at,
                first_responded_at=item.first_responded_at,
                resolved_at=item.resolved_at,
                breached=bool(item.first_response_breached_at or item.resolution_breached_at),
            ),
            created_at=item.created_at,
            updated_at=item.updated_at,
            post=PostOut.of(item.post, item.id),
        )


class ItemDetailOut(ItemOut):
    """An item with its internal notes."""

    notes: list[NoteOut]


class ItemPage(BaseModel):
    """One page of items; ``next_cursor`` is null on the last page."""

    items: list[ItemOut]
    next_cursor: str | None


class AssignIn(In):
    """Who works the item: a person's id, ``"me"``, or null to unassign."""

    assignee: Annotated[int, Field(ge=1, le=2**31 - 1)] | Literal["me"] | None = Field(
        description='A person\'s id, "me", or null to unassign.'
    )


class StatusIn(In):
    """The item's new status."""

    status: Literal["new", "in_progress", "done"]


class NoteIn(In):
    """An internal note (never published)."""

    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


# -- drafts -----------------------------------------------------------------------------------
class FindingOut(BaseModel):
    """One rule of the code of conduct broken (or to look at), at ``text[start:end]``."""

    rule: str
    level: str
    message: str
    why: str
    start: int
    end: int


class ConductIn(In):
    """A text to check: a reply on an item (``item_id``), a revision of a draft
    (``outbox_id``) or a new post on ``channel``."""

    text: str = Field(max_length=drafts.MAX_TEXT)
    channel: str | None = Field(default=None, max_length=64)
    item_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    outbox_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    kind: Literal["public", "private"] = "public"
    paid: bool = False


class ConductOut(BaseModel):
    """The code of conduct's findings; ``blocked``: a block rule stops the text."""

    findings: list[FindingOut]
    blocked: bool
    needs_approval: bool


class DraftIn(In):
    """A new post on ``channel``, or a reply (public or private) on an item."""

    text: str = Field(min_length=1, max_length=drafts.MAX_TEXT)
    channel: str | None = Field(default=None, max_length=64, description="For a new post.")
    item_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="For a reply on an item."
    )
    kind: Literal["public", "private"] = Field(
        default="public", description="For a reply: public, or private contact."
    )
    at: datetime | None = Field(default=None, description="When to publish a new post (UTC).")
    paid: bool = False
    statement: bool = False


class DecisionOut(BaseModel):
    """One approver's decision on a draft."""

    decision: str
    by: PersonOut
    comment: str
    step: int
    revision: int
    at: datetime

    @classmethod
    def of(cls, decision: OutboxDecision) -> DecisionOut:
        """The answer for ``decision``."""
        return cls(
            decision=decision.decision,
            by=PersonOut.of(decision.user),
            comment=decision.comment,
            step=decision.step,
            revision=decision.revision,
            at=decision.at,
        )


class DraftOut(BaseModel):
    """A post, reply or private message in the outbox, with where its approval stands."""

    id: int
    kind: str
    status: str
    channel: str
    department: str
    text: str
    item_id: int | None
    reply_to: str | None
    crisis_id: int | None
    chain: str | None
    step: int
    risk: str
    findings: list[FindingOut]
    author: PersonOut
    scheduled_at: datetime | None
    not_before: datetime | None
    published_at: datetime | None
    remote_url: str | None
    created_at: datetime
    updated_at: datetime
    decisions: list[DecisionOut] = []

    @classmethod
    def of(cls, post: OutboxPost, decisions: list[OutboxDecision] | None = None) -> DraftOut:
        """The answer for ``post`` (reviewer notes are never included)."""
        return cls(
            id=post.id,
            kind=post.kind,
            status=post.status,
            channel=post.channel,
            department=post.department,
            text=post.text,
            item_id=post.item_id,
            reply_to=post.reply_to,
            crisis_id=post.crisis_id,
            chain=post.chain,
            step=post.step,
            risk=post.risk,
            findings=[FindingOut.model_validate(f) for f in post.findings or []],
            author=PersonOut.of(post.author),
            scheduled_at=post.scheduled_at,
            not_before=post.not_before,
            published_at=post.published_at,
            remote_url=post.remote_url,
            created_at=post.created_at,
            updated_at=post.updated_at,
            decisions=[DecisionOut.of(d) for d in decisions or [] if d.decision != "note"],
        )


class DecideIn(In):
    """An approver's decision; ``changes`` needs a comment for the author."""

    decision: Literal["approve", "reject", "changes"]
    comment: str = Field(default="", max_length=drafts.MAX_NOTE)
    note: str = Field(default="", max_length=drafts.MAX_NOTE, description="For reviewers only.")


# -- crisis rooms -----------------------------------------------------------------------------
class ChecklistOut(BaseModel):
    """One assessment question of a crisis room and its answer."""

    id: int
    key: str
    question: str
    owner_department: str
    answer: str
    answered_by: str | None
    answered_at: datetime | None

    @classmethod
    def of(cls, entry: ChecklistEntry) -> ChecklistOut:
        """The answer for ``entry``."""
        return cls(
            id=entry.id,
            key=entry.key,
            question=entry.question,
            owner_department=entry.owner_department,
            answer=entry.answer,
            answered_by=entry.answered_by,
            answered_at=entry.answered_at,
        )


class CrisisOut(BaseModel):
    """A crisis room: the story, who leads, how risky, where it stands."""

    id: int
    title: str
    story: str
    topic: str | None
    status: Literal["watching", "active", "resolved"]
    lead_department: str
    departments: list[str]
    risk: float
    risk_why: str
    cooldown_minutes: int
    holding_statement: str
    outcome: str | None
    opened_at: datetime
    resolved_at: datetime | None
    updated_at: datetime

    @classmethod
    def fields_of(cls, room: CrisisRoom) -> dict[str, Any]:
        """The room's fields of this answer."""
        return {
            "id": room.id,
            "title": room.title,
            "story": room.story,
            "topic": room.topic,
            "status": room.status,
            "lead_department": room.lead_department,
            "departments": list(room.departments or []),
            "risk": room.risk,
            "risk_why": room.risk_why,
            "cooldown_minutes": room.cooldown_minutes,
            "holding_statement": room.holding_statement,
            "outcome": room.outcome,
            "opened_at": room.opened_at,
            "resolved_at": room.resolved_at,
            "updated_at": room.updated_at,
        }

    @classmethod
    def of(cls, room: CrisisRoom) -> CrisisOut:
        """The answer for ``room``."""
        return cls(**cls.fields_of(room))


class CrisisDetailOut(CrisisOut):
    """A crisis room with its checklist and post-mortem."""

    checklist: list[ChecklistOut]
    postmortem: str
    forecast: dict[str, Any]

    @classmethod
    def of(cls, room: CrisisRoom) -> CrisisDetailOut:
        """The answer for ``room``."""
        return cls(
            **cls.fields_of(room),
            checklist=[ChecklistOut.of(e) for e in room.checklist],
            postmortem=room.postmortem,
            forecast=dict(room.forecast or {}),
        )


class CrisisList(BaseModel):
    """The crisis rooms the token's person may see, newest first."""

    crises: list[CrisisOut]


class AnswerIn(In):
    """An answer to one checklist question."""

    answer: str = Field(min_length=1, max_length=10_000)


class CrisisStatusIn(In):
    """A crisis room's next status; resolving needs the post-mortem and the author's stance."""

    status: Literal["watching", "active", "resolved"]
    postmortem: str = Field(default="", max_length=10_000)
    outcome: Literal["detractor", "neutral", "advocate"] | None = None


# -- the audit log ----------------------------------------------------------------------------
class AuditOut(BaseModel):
    """One audit event: who decided what, when and why."""

    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    why: str
    details: dict[str, Any]
    hash: str

    @classmethod
    def of(cls, event: AuditEvent) -> AuditOut:
        """The answer for ``event``."""
        return cls(
            id=event.id,
            at=event.at,
            actor=event.actor,
            action=event.action,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            why=event.why,
            details=dict(event.details or {}),
            hash=event.hash,
        )


class AuditPage(BaseModel):
    """One page of the audit log, newest first; ``next_cursor`` is null on the last page."""

    events: list[AuditOut]
    next_cursor: str | None


# -- tokens -----------------------------------------------------------------------------------
class TokenOut(BaseModel):
    """The token the request came with (never the token itself)."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    person: PersonOut
