"""Write decisions to the append-only audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from townhall.models import AuditEvent

SYSTEM = "system"
"""The actor name for decisions Townhall takes by itself (routing, ingestion)."""


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    why: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the session's transaction (committed with the decision)."""
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        why=why,
        details=details or {},
    )
    session.add(event)
    return event
