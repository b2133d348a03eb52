"""Recurring slots (policy ``planning.recurring``): drafts written ahead of time, e.g. "Tip of
the week, Tuesdays 10:00", each at its wall-clock time in the slot's zone (10:00 stays 10:00
local across a daylight-saving change).

A slot's draft for a day has a fixed idempotency key (``key_of``), so it is written exactly
once however many workers run the pass: the outbox's unique key is the guard. A draft that
cannot be written (the author has no login, a cap or the code of conduct refuses it) is
skipped with a warning, audited once per slot and day.

Services never commit: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townhall.audit import SYSTEM, record
from townhall.errors import TownhallError
from townhall.models import AuditEvent, OutboxPost, User
from townhall.org.fields import WEEKDAYS
from townhall.org.planning import MAX_AHEAD_DAYS, Recurring
from townhall.org.policy import Policy
from townhall.publishing import drafts, localtime

log = logging.getLogger(__name__)

SKIPPED = "recurring.skipped"
"""The audit action of a slot's day that could not be written."""


@dataclass(frozen=True)
class Written:
    """One draft of a recurring slot: written (``outbox_id``), or skipped (``warning``)."""

    slot: str
    day: date
    at: datetime
    """When the draft is due (UTC)."""
    outbox_id: int | None = None
    status: str = ""
    """The draft's outbox status, or ``skipped``."""
    warning: str = ""

    def as_json(self) -> dict[str, object]:
        """The JSON line ``townhall calendar recurring`` prints."""
        return {
            "slot": self.slot,
            "day": self.day.isoformat(),
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "id": self.outbox_id,
            "status": self.status,
            "warning": self.warning or None,
        }


def key_of(slot_id: str, day: date) -> str:
    """The idempotency key of ``slot_id``'s draft on ``day`` (64 hex characters)."""
    return hashlib.sha256(f"rec-{slot_id}-{day:%Y%m%d}".encode()).hexdigest()


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


def days_of(slot: Recurring, today: date, ahead: int) -> list[date]:
    """The days from ``today`` to ``today + ahead`` (inclusive) that ``slot`` writes for,
    within its ``starts`` and ``ends``."""
    first = max(today, _date(slot.starts) or today)
    last = today + timedelta(days=ahead)
    ends = _date(slot.ends)
    if ends is not None:
        last = min(last, ends)
    wanted = {WEEKDAYS.index(day) for day in slot.weekdays}
    count = (last - first).days + 1
    return [d for d in (first + timedelta(days=n) for n in range(count)) if d.weekday() in wanted]


def write_ahead(
    session: Session, policy: Policy, now: datetime, *, days: int | None = None
) -> list[Written]:
    """Write the drafts of every recurring slot due in the next ``days`` (default: each slot's
    ``ahead_days``; at most ``MAX_AHEAD_DAYS``) that are not written yet; returns what was
    written and what was skipped (with a warning), in slot and time order."""
    done: list[Written] = []
    for slot in policy.planning.recurring:
        where = localtime.zone(slot.timezone or policy.timezone)
        today = localtime.local(now, where).date()
        ahead = min(days if days is not None else slot.ahead_days, MAX_AHEAD_DAYS)
        clock = time.fromisoformat(slot.time)
        for day in days_of(slot, today, ahead):
            at = localtime.at_local(day, clock, where)
            if at <= now:
                continue  # its time has passed: a late tip is no tip
            written = _write(session, policy, slot, day, at, now)
            if written is not None:
                done.append(written)
    return done


def _exists(session: Session, key: str) -> bool:
    return session.scalar(select(OutboxPost.id).where(OutboxPost.key == key)) is not None


def _author(session: Session, email: str) -> User | None:
    user = session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    return user if user is not None and user.active else None


def _write(
    session: Session,
    policy: Policy,
    slot: Recurring,
    day: date,
    at: datetime,
    now: datetime,
) -> Written | None:
    key = key_of(slot.id, day)
    if _exists(session, key):
        return None
    author = _author(session, slot.author)
    if author is None:
        why = f"{slot.author} has no active login"
        return _skip(session, slot, day, at, now, why)
    try:
        with session.begin_nested():
            post = drafts.create_draft(
                session,
                policy,
                channel=slot.channel,
                text=slot.text,
                author=author,
                now=now,
                at=at,
                category=slot.category,
                recurring=slot.id,
                key=key,
            )
    except IntegrityError:
        return None  # another worker wrote it first: the unique key held
    except TownhallError as exc:
        return _skip(session, slot, day, at, now, exc.message)
    return Written(slot.id, day, at, post.id, str(post.status))


def _skip(
    session: Session, slot: Recurring, day: date, at: datetime, now: datetime, why: str
) -> Written:
    """A warning for ``slot`` on ``day``: logged and audited the first time only."""
    warning = f"{slot.label} on {day:%a %d %b %Y}: not written: {why}"
    subject = f"{slot.id}/{day.isoformat()}"
    seen = session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == SKIPPED,
            AuditEvent.subject_type == "recurring",
            AuditEvent.subject_id == subject,
        )
    )
    if seen is None:
        log.warning("%s", warning)
        record(
            session,
            at=now,
            actor=SYSTEM,
            action=SKIPPED,
            subject_type="recurring",
            subject_id=subject,
            why=warning,
            details={"slot": slot.id, "day": day.isoformat(), "at": at.isoformat()},
        )
    return Written(slot.id, day, at, None, "skipped", warning)


class HourlyPass:
    """Runs ``write_ahead`` at most once per hour of the clock (and again when the policy
    changes), so the publisher's loop can call it every few seconds."""

    def __init__(self) -> None:
        self._mark: tuple[int, datetime] | None = None

    def run(self, session: Session, policy: Policy, now: datetime) -> list[Written]:
        """``write_ahead`` when the hour or the policy changed since the last run, else
        nothing."""
        mark = (id(policy), now.replace(minute=0, second=0, microsecond=0))
        if mark == self._mark:
            return []
        written = write_ahead(session, policy, now)
        self._mark = mark
        return written
