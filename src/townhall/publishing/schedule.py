"""Scheduling against the frequency caps (placeholder: the planning work fills this in)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from townhall.org.policy import Policy


def check_slot(
    session: Session,
    policy: Policy,
    *,
    channel: str,
    category: str | None,
    at: datetime,
    ignore_outbox_id: int | None = None,
) -> list[dict[str, object]]:
    """The warnings of the caps a post at ``at`` would break; raises ``CapBlockedError``."""
    return []


def reschedule(
    session: Session, policy: Policy, post: object, at: datetime, actor: object, now: datetime
) -> object:
    """Placeholder: move an outbox post to ``at``."""
    raise NotImplementedError
