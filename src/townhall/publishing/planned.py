"""The e-mail and search teams' planned entries: sends and content pieces Townhall does not
publish, kept on the one calendar so every team sees the others' dates (and frequency caps
can keep social posts away from a newsletter, through the entry's category).

Adding, changing or cancelling an entry needs ``calendar`` on its department. Services never
commit. Every change is audited (subject ``planned``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from townhall.models import PlannedEntry, PlannedKind, User
from townhall.org.permissions import Action, Actor, Scope
from townhall.org.policy import Policy
from townhall.publishing import campaigns

MAX_TITLE = 200
"""Longest title, in characters."""

MAX_NOTES = 5_000
"""Longest notes, in characters."""

KIND_LABELS = {PlannedKind.EMAIL: "E-mail send", PlannedKind.SEARCH: "Search content"}
"""How each kind reads on a page."""


def get(session: Session, entry_id: int) -> PlannedEntry:
    """The planned entry ``entry_id``; raises ``NotFoundError``."""
    entry = session.get(PlannedEntry, entry_id)
    if entry is None:
        raise NotFoundError(f"There is no planned entry #{entry_id}.")
    return entry


def between(
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    cancelled: bool = False,
    limit: int = 1000,
) -> list[PlannedEntry]:
    """Planned entries starting in ``start`` .. ``end`` (either open), soonest first; the
    cancelled ones too when ``cancelled``."""
    query = select(PlannedEntry)
    if start is not None:
        query = query.where(PlannedEntry.starts_at >= start)
    if end is not None:
        query = query.where(PlannedEntry.starts_at < end)
    if not cancelled:
        query = query.where(PlannedEntry.cancelled_at.is_(None))
    query = query.order_by(PlannedEntry.starts_at, PlannedEntry.id).limit(limit)
    return list(session.scalars(query).unique())


def _name(policy: Policy, department: str) -> str:
    try:
        return policy.department(department).name
    except KeyError:
        return department


def may_edit(policy: Policy, actor: User, department: str) -> bool:
    """Whether ``actor`` has ``calendar`` on ``department`` (plans its entries)."""
    return policy.permissions.can(Actor.of(actor), Action.CALENDAR, Scope.of(department))


def _require(policy: Policy, actor: User, department: str) -> None:
    if may_edit(policy, actor, department):
        return
    who = policy.permissions.who_can(
        Action.CALENDAR, Scope.of(department), lambda d: _name(policy, d)
    )
    also = f" Who can: {', '.join(who)}." if who else ""
    raise PermissionDeniedError(f"You may not plan entries for {_name(policy, department)}.{also}")


def _fields(
    session: Session,
    policy: Policy,
    *,
    kind: PlannedKind | str,
    title: str,
    department: str,
    category: str | None,
    starts_at: datetime,
    ends_at: datetime | None,
    notes: str,
    campaign_id: int | None,
) -> dict[str, object]:
    try:
        kind = PlannedKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in PlannedKind)
        raise InputError(f"kind: {kind!r} is not one of {known}") from None
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise InputError(f"title: must have 1 to {MAX_TITLE} characters.")
    notes = notes.strip()
    if len(notes) > MAX_NOTES:
        raise InputError(f"notes: at most {MAX_NOTES:,} characters.")
    if department not in policy.department_ids:
        known = ", ".join(policy.department_ids)
        raise InputError(f"department: unknown department {department!r} (the policy has {known})")
    category = (category or "").strip() or None
    if category is not None and policy.planning.category(category) is None:
        known = ", ".join(c.id for c in policy.planning.categories) or "none"
        raise InputError(f"category: unknown category {category!r} (the policy has {known})")
    for field, moment in (("starts_at", starts_at), ("ends_at", ends_at)):
        if moment is not None and moment.tzinfo is None:
            raise InputError(f"{field}: needs a time zone, e.g. 2026-12-01T09:00:00Z")
    if ends_at is not None and ends_at <= starts_at:
        raise InputError("ends_at: must be after the start.")
    if campaign_id is not None:
        campaigns.get(session, campaign_id)
    return {
        "kind": kind,
        "title": title,
        "department": department,
        "category": category,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "notes": notes,
        "campaign_id": campaign_id,
    }


def _audit(
    session: Session, entry: PlannedEntry, actor: User, action: str, now: datetime, why: str
) -> None:
    record(
        session,
        at=now,
        actor=actor.email,
        action=f"planned.{action}",
        subject_type="planned",
        subject_id=entry.id,
        why=why,
        details={"kind": str(entry.kind), "department": entry.department},
    )


def add(
    session: Session,
    policy: Policy,
    *,
    kind: PlannedKind | str,
    title: str,
    starts_at: datetime,
    actor: User,
    now: datetime,
    department: str | None = None,
    category: str | None = None,
    ends_at: datetime | None = None,
    notes: str = "",
    campaign_id: int | None = None,
) -> PlannedEntry:
    """A new planned e-mail send or search content piece of ``department`` (default: the
    actor's); times aware, stored UTC."""
    values = _fields(
        session,
        policy,
        kind=kind,
        title=title,
        department=department or actor.department,
        category=category,
        starts_at=starts_at,
        ends_at=ends_at,
        notes=notes,
        campaign_id=campaign_id,
    )
    _require(policy, actor, str(values["department"]))
    entry = PlannedEntry(**values, created_by_id=actor.id, created_at=now)
    entry.created_by = actor
    session.add(entry)
    session.flush()
    _audit(
        session,
        entry,
        actor,
        "added",
        now,
        f"{actor.name} planned {KIND_LABELS[PlannedKind(entry.kind)].lower()} “{entry.title}”",
    )
    return entry


def update(
    session: Session,
    policy: Policy,
    entry: PlannedEntry,
    *,
    kind: PlannedKind | str,
    title: str,
    starts_at: datetime,
    actor: User,
    now: datetime,
    department: str | None = None,
    category: str | None = None,
    ends_at: datetime | None = None,
    notes: str = "",
    campaign_id: int | None = None,
) -> PlannedEntry:
    """Change a planned entry that is not cancelled (moving it to another department needs
    ``calendar`` on both)."""
    _require(policy, actor, entry.department)
    if entry.cancelled_at is not None:
        raise ConflictError(f"Planned entry #{entry.id} is cancelled.")
    values = _fields(
        session,
        policy,
        kind=kind,
        title=title,
        department=department or entry.department,
        category=category,
        starts_at=starts_at,
        ends_at=ends_at,
        notes=notes,
        campaign_id=campaign_id,
    )
    _require(policy, actor, str(values["department"]))
    for name, value in values.items():
        setattr(entry, name, value)
    _audit(session, entry, actor, "changed", now, f"{actor.name} changed “{entry.title}”")
    return entry


def cancel(
    session: Session, policy: Policy, entry: PlannedEntry, *, actor: User, now: datetime
) -> PlannedEntry:
    """Cancel a planned entry (it leaves the calendar; its row stays for the history)."""
    _require(policy, actor, entry.department)
    if entry.cancelled_at is not None:
        raise ConflictError(f"Planned entry #{entry.id} is already cancelled.")
    entry.cancelled_at = now
    _audit(session, entry, actor, "cancelled", now, f"{actor.name} cancelled “{entry.title}”")
    return entry
