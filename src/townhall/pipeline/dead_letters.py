"""Dead letters: the posts that failed inside the pipeline, listed and run through it again
(by ``townhall dead-letters`` and the admins' Dead letters page).

A replayed post that goes through is marked ``replayed_at``; one that fails again replaces its
dead letter with a new one carrying the new error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from townhall.errors import PostFormatError
from townhall.models import DeadLetter
from townhall.pipeline.runner import Pipeline
from townhall.posts import parse_post


@dataclass
class Replayed:
    """How a replay went: how many went through, how many failed, and why each failed."""

    replayed: int = 0
    failed: int = 0
    errors: dict[int, str] = field(default_factory=dict)
    """Dead letter id → why it failed again."""


def pending(
    session: Session, *, include_replayed: bool = False, limit: int = 500
) -> list[DeadLetter]:
    """Dead letters oldest first (only those not replayed yet, unless ``include_replayed``)."""
    query = select(DeadLetter).order_by(DeadLetter.id).limit(limit)
    if not include_replayed:
        query = query.where(DeadLetter.replayed_at.is_(None))
    return list(session.scalars(query))


def count_pending(session: Session) -> int:
    """How many dead letters wait for a replay."""
    return (
        session.scalar(
            select(func.count()).select_from(DeadLetter).where(DeadLetter.replayed_at.is_(None))
        )
        or 0
    )


def replay(
    sessions: sessionmaker[Session],
    pipeline: Pipeline,
    ids: Iterable[int] | None,
    now: datetime,
) -> Replayed:
    """Run these dead letters (default: every pending one) through ``pipeline`` again, each in
    its own transaction."""
    with sessions() as session:
        query = select(DeadLetter).where(DeadLetter.replayed_at.is_(None))
        wanted = list(ids) if ids is not None else None
        if wanted is not None:
            query = query.where(DeadLetter.id.in_(wanted))
        letters = list(session.scalars(query.order_by(DeadLetter.id)))
    outcome = Replayed()
    for dead in letters:
        try:
            post = parse_post(dead.post)
        except PostFormatError as exc:
            outcome.failed += 1
            outcome.errors[dead.id] = exc.message
            continue
        result = pipeline.process_batch([post], now, source=dead.source)
        with sessions() as session, session.begin():
            row = session.get(DeadLetter, dead.id)
            if row is not None and result.dead:
                session.delete(row)  # the new dead letter carries the new error
            elif row is not None:
                row.replayed_at = now
        if result.dead:
            outcome.failed += 1
            outcome.errors[dead.id] = "failed again (see the new dead letter for the error)"
        else:
            outcome.replayed += 1
    return outcome
