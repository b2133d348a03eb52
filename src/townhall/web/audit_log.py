"""The audit log in the browser (``audit``) and the inbox as CSV (``export``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import select

from townhall.cases import repository
from townhall.models import AuditEvent, User
from townhall.org.permissions import Action
from townhall.web.access import allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.inbox import View
from townhall.web.params import IdNumber

PAGE = 100
"""Audit events per page."""

MAX_EXPORT = 10_000
"""Most items one CSV export holds (narrow the filters for more)."""

SUBJECT_LINKS = {"item": "/items/{}", "crisis": "/crises/{}", "outbox": "/drafts/{}"}
"""Where an event's subject has a page."""

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse, dependencies=[allow(Action.AUDIT)])
def audit_page(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    actor: Annotated[str, Query(max_length=320)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    subject_type: Annotated[str, Query(max_length=32)] = "",
    subject_id: Annotated[str, Query(max_length=512)] = "",
    before: Annotated[IdNumber | None, Query()] = None,
) -> Response:
    """The newest audit events, filtered by who, what and which subject."""
    web = state(request)
    query = select(AuditEvent)
    if actor:
        query = query.where(AuditEvent.actor == actor.strip().lower())
    if action:
        query = query.where(AuditEvent.action.startswith(action.strip(), autoescape=True))
    if subject_type:
        query = query.where(AuditEvent.subject_type == subject_type.strip())
    if subject_id:
        query = query.where(AuditEvent.subject_id == subject_id.strip())
    if before is not None:
        query = query.where(AuditEvent.id < before)
    events = list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(PAGE)))
    emails = {e.actor for e in events}
    rows = session.execute(select(User.email, User.name).where(User.email.in_(emails)))
    names = {email: name for email, name in rows}
    context = {
        "user": user,
        "department_name": web.department_name,
        "events": events,
        "names": names,
        "links": SUBJECT_LINKS,
        "filters": {
            "actor": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
        },
        "older": events[-1].id if len(events) == PAGE else None,
    }
    return web.templates.TemplateResponse(request, "audit.html", context)


CSV_COLUMNS = (
    "item",
    "department",
    "status",
    "priority",
    "assignee",
    "channel",
    "post_id",
    "posted_at",
    "author",
    "sentiment",
    "intent",
    "text",
    "url",
)


def csv_cell(value: object) -> str:
    """A value for a spreadsheet: text that a spreadsheet would run as a formula (``=``,
    ``+``, ``-``, ``@``, tab or carriage return first) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/inbox/export.csv", dependencies=[allow(Action.EXPORT)])
def export_csv(request: Request, session: DbSession, view: View) -> Response:
    """The inbox view's items (only those the person sees) as CSV, at most ``MAX_EXPORT``."""
    web = state(request)
    items = repository.list_items(session, view.filter, limit=MAX_EXPORT, sort=view.sort)
    rows = [
        [
            item.id,
            web.department_name(item.department),
            item.status,
            item.priority,
            item.assignee.name if item.assignee else "",
            item.post.channel,
            item.post.post_id,
            item.post.created_at.isoformat(),
            item.post.author_handle,
            item.post.sentiment_label or "",
            item.post.intent or "",
            item.post.text,
            item.post.url or "",
        ]
        for item in items
    ]

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow([csv_cell(v) for v in row])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="townhall-inbox.csv"'},
    )
