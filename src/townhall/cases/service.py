"""Working an inbox item: assignment, status changes and notes, each written to the audit log.

Services never commit: the transaction belongs to the caller (a web request, a task).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.cases import repository
from townhall.cases.schemas import MAX_NOTE_CHARS
from townhall.errors import ConflictError, InputError, PermissionDeniedError
from townhall.models import Item, ItemStatus, Note, Role, User

TRANSITIONS: dict[ItemStatus, frozenset[ItemStatus]] = {
    ItemStatus.NEW: frozenset({ItemStatus.IN_PROGRESS, ItemStatus.DONE}),
    ItemStatus.IN_PROGRESS: frozenset({ItemStatus.DONE, ItemStatus.NEW}),
    ItemStatus.DONE: frozenset({ItemStatus.IN_PROGRESS}),
}
"""The status changes a person may make; done → in progress is a reopen."""

STATUS_LABELS: dict[ItemStatus, str] = {
    ItemStatus.NEW: "New",
    ItemStatus.IN_PROGRESS: "In progress",
    ItemStatus.DONE: "Done",
}


def _audit(
    session: Session,
    item: Item,
    actor: User,
    action: str,
    now: datetime,
    why: str,
    **details: object,
) -> None:
    record(
        session,
        at=now,
        actor=actor.email,
        action=action,
        subject_type="item",
        subject_id=item.id,
        why=why,
        details=dict(details),
    )


def assign(
    session: Session,
    item_id: int,
    assignee_id: int | None,
    *,
    actor: User,
    now: datetime,
    why: str = "",
) -> Item:
    """Give the item to ``assignee_id`` (``None`` unassigns); raises on an inactive user."""
    item = repository.get_item(session, item_id, for_update=True)
    assignee = None if assignee_id is None else repository.get_user(session, assignee_id)
    if assignee is not None and not assignee.active:
        raise ConflictError(f"{assignee.name} is no longer active and cannot take items.")
    if item.assignee_id == assignee_id:
        who = assignee.name if assignee else "nobody"
        raise ConflictError(f"Item #{item.id} is already assigned to {who}.")
    previous = item.assignee.email if item.assignee else None
    item.assignee_id = assignee_id
    item.assignee = assignee
    # A person's choice, including "nobody", is never undone by automatic assignment.
    item.assigned_by = "manual"
    item.updated_at = now
    if assignee is None:
        _audit(
            session,
            item,
            actor,
            "item.unassigned",
            now,
            why or f"{actor.name} unassigned the item",
            previous=previous,
        )
    else:
        default = (
            f"{actor.name} took the item"
            if assignee.id == actor.id
            else f"{actor.name} assigned the item to {assignee.name}"
        )
        _audit(
            session,
            item,
            actor,
            "item.assigned",
            now,
            why or default,
            assignee=assignee.email,
            previous=previous,
        )
    return item


def set_status(
    session: Session, item_id: int, status: ItemStatus, *, actor: User, now: datetime, why: str = ""
) -> Item:
    """Move the item to ``status``; raises ``ConflictError`` for a change not in TRANSITIONS."""
    item = repository.get_item(session, item_id, for_update=True)
    current = ItemStatus(item.status)
    if status not in TRANSITIONS[current]:
        raise ConflictError(
            f"Item #{item.id} is {STATUS_LABELS[current].lower()}; "
            f"it cannot move to {STATUS_LABELS[status].lower()}."
        )
    item.status = status
    item.updated_at = now
    # SLA clocks: taking an item up is its first response; done stops the resolution clock.
    if item.first_responded_at is None and status is not ItemStatus.NEW:
        item.first_responded_at = now
    item.resolved_at = now if status is ItemStatus.DONE else None
    verb = (
        "reopened the item"
        if current is ItemStatus.DONE
        else (f"moved the item to {STATUS_LABELS[status].lower()}")
    )
    _audit(
        session,
        item,
        actor,
        "item.status_changed",
        now,
        why or f"{actor.name} {verb}",
        previous=current.value,
        status=status.value,
    )
    return item


def add_note(session: Session, item_id: int, text: str, *, actor: User, now: datetime) -> Note:
    """Add an internal note to the item; raises ``InputError`` when empty or too long."""
    text = text.strip()
    if not text:
        raise InputError("A note cannot be empty.")
    if len(text) > MAX_NOTE_CHARS:
        raise InputError(f"A note can be at most {MAX_NOTE_CHARS:,} characters.")
    item = repository.get_item(session, item_id)
    note = Note(item_id=item.id, author_id=actor.id, text=text, created_at=now)
    note.author = actor
    session.add(note)
    session.flush()
    item.updated_at = now
    _audit(
        session, item, actor, "item.note_added", now, f"{actor.name} added a note", note_id=note.id
    )
    return note


def set_out_of_office(
    session: Session, user_id: int, until: datetime | None, *, actor: User, now: datetime
) -> User:
    """Mark a person out of office until ``until`` (``None``: back now); only themselves or an
    admin may; raises ``InputError`` for a time in the past."""
    user = repository.get_user(session, user_id)
    if actor.id != user.id and actor.role != Role.ADMIN:
        raise PermissionDeniedError("Only an admin can set someone else's out of office.")
    if until is not None and until <= now:
        raise InputError("Out of office must end in the future.")
    user.out_of_office_until = until
    record(
        session,
        at=now,
        actor=actor.email,
        action="user.out_of_office",
        subject_type="user",
        subject_id=user.id,
        why=(
            f"{user.name} is out of office until {until:%Y-%m-%d %H:%M} UTC"
            if until
            else f"{user.name} is back in the office"
        ),
        details={"until": until.isoformat() if until else None},
    )
    return user
