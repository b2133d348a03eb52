"""``/api/v1/audit``: the audit log, newest first, for those who may read it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from townhall.models import AuditEvent
from townhall.org.permissions import Action
from townhall.web.api.auth import api_allow
from townhall.web.api.errors import ERRORS, ApiRoute
from townhall.web.api.schemas import (
    DEFAULT_LIMIT,
    MAX_CURSOR,
    MAX_LIMIT,
    AuditOut,
    AuditPage,
    decode_cursor,
    encode_cursor,
)
from townhall.web.auth import DbSession
from townhall.web.params import EARLIEST, LATEST, FieldError

router = APIRouter(prefix="/audit", tags=["audit"], route_class=ApiRoute, responses=ERRORS)


@router.get("", response_model=AuditPage, dependencies=[api_allow(Action.AUDIT)])
def audit_log(
    session: DbSession,
    subject_type: Annotated[str | None, Query(max_length=32)] = None,
    subject_id: Annotated[str | None, Query(max_length=512)] = None,
    actor: Annotated[str | None, Query(max_length=320, description="An e-mail or system.")] = None,
    since: Annotated[datetime | None, Query(description="Events at or after (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None,
) -> AuditPage:
    """Audit events, newest first, filtered by subject, actor and time."""
    query = select(AuditEvent)
    if subject_type:
        query = query.where(AuditEvent.subject_type == subject_type)
    if subject_id:
        query = query.where(AuditEvent.subject_id == subject_id)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if since is not None:
        if since.tzinfo is None:
            raise FieldError("since", "give a time zone (2026-11-20T14:00:00Z).")
        if not EARLIEST <= since <= LATEST:
            raise FieldError("since", "must be between 1970 and 9000.")
        query = query.where(AuditEvent.at >= since)
    before = decode_cursor(cursor, "audit")
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    following = encode_cursor("audit", rows[-1].id) if more and rows else None
    return AuditPage(events=[AuditOut.of(e) for e in rows], next_cursor=following)
