"""Working items: assignment, status changes, notes, each with its audit event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.cases import repository, service
from townhall.errors import ConflictError, InputError, NotFoundError
from townhall.models import AuditEvent, Item, ItemStatus, User

MakeItem = Callable[..., Item]
MakeUser = Callable[..., User]


def _events(session: Session, item: Item) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_type == "item", AuditEvent.subject_id == str(item.id))
            .order_by(AuditEvent.id)
        )
    )


def test_assign_to_colleague_and_self_is_audited(
    session: Session, now: datetime, make_item: MakeItem, make_user: MakeUser
) -> None:
    sofia = make_user("sofia@acme.example", name="Sofia Rossi")
    dan = make_user("dan@acme.example", name="Dan Murphy")
    item = make_item()

    service.assign(session, item.id, dan.id, actor=sofia, now=now)
    assert item.assignee_id == dan.id
    service.assign(session, item.id, sofia.id, actor=sofia, now=now, why="I know this customer")

    events = _events(session, item)
    assert [e.action for e in events] == ["item.assigned", "item.assigned"]
    assert events[0].actor == "sofia@acme.example"
    assert events[0].why == "Sofia Rossi assigned the item to Dan Murphy"
    assert events[0].details == {"assignee": "dan@acme.example", "previous": None}
    assert events[1].why == "I know this customer"
    assert events[1].details["previous"] == "dan@acme.example"


def test_unassign_and_assign_twice(
    session: Session, now: datetime, make_item: MakeItem, make_user: MakeUser
) -> None:
    sofia = make_user("sofia2@acme.example")
    item = make_item()
    with pytest.raises(ConflictError, match="already assigned to nobody"):
        service.assign(session, item.id, None, actor=sofia, now=now)
    service.assign(session, item.id, sofia.id, actor=sofia, now=now)
    with pytest.raises(ConflictError, match="already assigned"):
        service.assign(session, item.id, sofia.id, actor=sofia, now=now)
    service.assign(session, item.id, None, actor=sofia, now=now)
    assert item.assignee_id is None
    assert _events(session, item)[-1].action == "item.unassigned"


def test_assign_to_inactive_or_unknown_user_fails(
    session: Session, now: datetime, make_item: MakeItem, make_user: MakeUser
) -> None:
    sofia = make_user("sofia3@acme.example")
    gone = make_user("gone@acme.example", active=False)
    item = make_item()
    with pytest.raises(ConflictError, match="no longer active"):
        service.assign(session, item.id, gone.id, actor=sofia, now=now)
    with pytest.raises(NotFoundError):
        service.assign(session, item.id, 999_999, actor=sofia, now=now)
    with pytest.raises(NotFoundError, match="no item #999999"):
        service.assign(session, 999_999, sofia.id, actor=sofia, now=now)


def test_status_life_new_in_progress_done_reopen(
    session: Session, now: datetime, make_item: MakeItem, make_user: MakeUser
) -> None:
    dan = make_user("dan2@acme.example", name="Dan")
    item = make_item()
    service.set_status(session, item.id, ItemStatus.IN_PROGRESS, actor=dan, now=now)
    service.set_status(session, item.id, ItemStatus.DONE, actor=dan, now=now)
    service.set_status(session, item.id, ItemStatus.IN_PROGRESS, actor=dan, now=now)
    assert item.status == ItemStatus.IN_PROGRESS
    events = _events(session, item)
    assert [e.details["status"] for e in events] == ["in_progress", "done", "in_progress"]
    assert events[-1].why == "Dan reopened the item"
    assert all(e.actor == "dan2@acme.example" for e in events)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (ItemStatus.NEW, ItemStatus.NEW),
        (ItemStatus.IN_PROGRESS, ItemStatus.IN_PROGRESS),
        (ItemStatus.DONE, ItemStatus.DONE),
        (ItemStatus.DONE, ItemStatus.NEW),
    ],
)
def test_invalid_status_changes_conflict(
    session: Session,
    now: datetime,
    make_item: MakeItem,
    make_user: MakeUser,
    start: ItemStatus,
    target: ItemStatus,
) -> None:
    user = make_user(f"x-{start}-{target}@acme.example")
    item = make_item(status=start)
    with pytest.raises(ConflictError) as error:
        service.set_status(session, item.id, target, actor=user, now=now)
    assert error.value.status_code == 409
    assert item.status == start
    assert _events(session, item) == []


def test_notes_are_added_listed_and_audited(
    session: Session, now: datetime, make_item: MakeItem, make_user: MakeUser
) -> None:
    aiko = make_user("aiko@acme.example", name="Aiko")
    item = make_item()
    service.add_note(
        session, item.id, "  Called the customer; replacement sent.  ", actor=aiko, now=now
    )
    service.add_note(session, item.id, "<b>not html</b>", actor=aiko, now=now)
    notes = repository.notes_of(session, item.id)
    assert [n.text for n in notes] == ["Called the customer; replacement sent.", "<b>not html</b>"]
    assert notes[0].author.email == "aiko@acme.example"
    events = _events(session, item)
    assert [e.action for e in events] == ["item.note_added"] * 2
    assert events[0].details == {"note_id": notes[0].id}


def test_empty_or_huge_notes_are_refused(
    session: Session, now: datetime, make_item: MakeItem, make_user: MakeUser
) -> None:
    user = make_user("n@acme.example")
    item = make_item()
    with pytest.raises(InputError, match="empty"):
        service.add_note(session, item.id, "   ", actor=user, now=now)
    with pytest.raises(InputError, match="at most"):
        service.add_note(session, item.id, "x" * 10_001, actor=user, now=now)
    assert repository.notes_of(session, item.id) == []
