"""Triage order read from its indexes (migration 0023): page by page, the same order as sorting
every matching item by open crisis, priority, SLA due time and age; old "Load more" links
still work; and the first page is read from an index, not by sorting every match."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from townhall.cases import repository
from townhall.cases.schemas import OPEN_STATUSES, InboxFilter
from townhall.models import CrisisRoom, CrisisStatus, Item, ItemStatus, User

NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SERIAL = itertools.count(1)

HOURS = st.integers(-2, 2).map(lambda hours: NOW + timedelta(hours=hours))
TIMES = st.one_of(HOURS, HOURS, st.none())
ITEMS = st.fixed_dictionaries(
    {
        "priority": st.sampled_from(["urgent", "high", "normal", "low", "whenever"]),
        "status": st.sampled_from(list(ItemStatus)),
        "crisis": st.sampled_from([None, "open", "resolved"]),
        "first_due": TIMES,
        "resolution_due": TIMES,
        "responded": st.booleans(),
        "age": st.integers(0, 2),  # few ages: ties are broken by the id
        "department": st.sampled_from(["customer_service", "pr"]),
        "channel": st.sampled_from(["mastodon", "bluesky"]),
        "mine": st.booleans(),
    }
)
FILTERS = st.fixed_dictionaries(
    {
        "statuses": st.sampled_from([(), (), OPEN_STATUSES, (ItemStatus.DONE,)]),
        "department": st.sampled_from([None, "customer_service"]),
        "channel": st.sampled_from([None, "bluesky"]),
        "mine": st.booleans(),
        "visible": st.booleans(),
    }
)


def _expected_key(item: Item, fields: dict[str, Any]) -> tuple[Any, ...]:
    """Triage order as the inbox documents it, written out independently of the repository."""
    crisis = 0 if fields["crisis"] == "open" else 1
    rank = {"urgent": 0, "high": 1, "normal": 2, "low": 3}.get(fields["priority"], 2)
    first_clock = not fields["responded"] and fields["first_due"] is not None
    due = fields["first_due"] if first_clock else fields["resolution_due"]
    return (crisis, rank, due is None, due or EPOCH, item.created_at, item.id)


def _pages(session: Session, flt: InboxFilter, size: int) -> list[int]:
    """Every page of the view by the "after" position of each page's last row."""
    rooms = repository.open_room_ids(session)
    seen: list[int] = []
    after: str | None = None
    for _ in range(100):
        page = repository.list_items(session, flt, limit=size, sort="triage", after=after)
        seen += [item.id for item in page]
        if len(page) < size:
            return seen
        after = repository.position_of(page[-1], "triage", rooms)
    raise AssertionError("paging did not end")


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=st.lists(ITEMS, max_size=12), view=FILTERS, size=st.integers(1, 5))
def test_pages_follow_triage_order_over_every_match(
    session: Session,
    make_item: Callable[..., Item],
    make_user: Callable[..., User],
    items: list[dict[str, Any]],
    view: dict[str, Any],
    size: int,
) -> None:
    savepoint = session.begin_nested()
    try:
        person = make_user(f"triage{next(SERIAL)}@acme.example", department="customer_service")
        rooms = {}
        for status in ("open", "resolved"):
            room = CrisisRoom(
                title="Melted basket",
                story=f"melted-basket-{status}",
                status=CrisisStatus.ACTIVE if status == "open" else CrisisStatus.RESOLVED,
                lead_department="pr",
                opened_at=NOW,
                opened_by="radar",
                updated_at=NOW,
            )
            session.add(room)
            session.flush()
            rooms[status] = room.id
        made: list[tuple[Item, dict[str, Any]]] = []
        for fields in items:
            item = make_item(
                department=fields["department"],
                channel=fields["channel"],
                status=fields["status"],
            )
            item.priority = fields["priority"]
            item.crisis_id = rooms.get(fields["crisis"] or "")
            item.first_response_due_at = fields["first_due"]
            item.resolution_due_at = fields["resolution_due"]
            item.first_responded_at = NOW if fields["responded"] else None
            item.created_at = NOW - timedelta(hours=fields["age"])
            item.assignee_id = person.id if fields["mine"] else None
            made.append((item, fields))
        session.flush()
        flt = InboxFilter(
            department=view["department"],
            channel=view["channel"],
            statuses=view["statuses"],
            assignee_id=person.id if view["mine"] else None,
            visible=(frozenset({"customer_service"}), None) if view["visible"] else None,
        )
        wanted = [
            (item, fields)
            for item, fields in made
            if (flt.department is None or item.department == flt.department)
            and (flt.channel is None or fields["channel"] == flt.channel)
            and (not flt.statuses or item.status in flt.statuses)
            and (flt.assignee_id is None or item.assignee_id == flt.assignee_id)
            and (flt.visible is None or item.department == "customer_service")
        ]
        expected = [item.id for item, fields in sorted(wanted, key=lambda w: _expected_key(*w))]
        assert _pages(session, flt, size) == expected
        # An old link's row number still finds the same rows.
        start = min(size, len(expected))
        by_offset = repository.list_items(session, flt, limit=size, sort="triage", offset=start)
        assert [item.id for item in by_offset] == expected[start : start + size]
    finally:
        savepoint.rollback()


def test_statuses_read_apart_interleave_by_due_time(
    session: Session, make_item: Callable[..., Item]
) -> None:
    """Each status is read from the index on its own; the merge orders by the due time, not
    by age alone."""
    older = make_item("later due, older", status=ItemStatus.NEW)
    newer = make_item("sooner due, newer", status=ItemStatus.IN_PROGRESS)
    older.first_response_due_at, older.created_at = (
        NOW + timedelta(hours=2),
        NOW - timedelta(hours=2),
    )
    newer.first_response_due_at, newer.created_at = NOW - timedelta(hours=1), NOW
    session.flush()
    for flt in (InboxFilter(), InboxFilter(statuses=OPEN_STATUSES)):
        found = repository.list_items(session, flt, sort="triage")
        assert [item.id for item in found] == [newer.id, older.id]


def test_a_position_from_before_the_triage_keys_still_pages(
    session: Session, make_item: Callable[..., Item]
) -> None:
    first, second, third = (make_item(f"kettle {n}") for n in range(3))
    for item, hours in ((first, 1), (second, 2), (third, 3)):
        item.first_response_due_at = NOW + timedelta(hours=hours)
    session.flush()
    flt = InboxFilter(department="customer_service")
    # Crisis flag, priority rank, "no due time" flag, due time, age, id: the six numbers of a
    # link written before migration 0023.
    micros = (first.first_response_due_at - EPOCH) // timedelta(microseconds=1)
    created = (first.created_at - EPOCH) // timedelta(microseconds=1)
    old = f"1.2.0.{micros}.{created}.{first.id}"
    page = repository.list_items(session, flt, sort="triage", after=old)
    assert [item.id for item in page] == [second.id, third.id]
    new = repository.position_of(first, "triage", frozenset())
    assert repository.position_values("triage", new) == repository.position_values("triage", old)
    with pytest.raises(Exception, match="after"):
        repository.position_values("triage", "1.2.0.1")


def test_the_first_page_of_every_department_is_read_in_order_from_an_index(
    session: Session,
) -> None:
    """The unified view at any status walks ``ix_items_status_triage``, one status at a time,
    rather than sorting all items (the plan says no temporary sort)."""
    query = (
        repository._filtered(
            repository.select(Item.id), InboxFilter(visible=(frozenset({"pr", "it"}), "pr"))
        )
        .where(Item.status == ItemStatus.DONE)
        .order_by(*repository._order("triage"))
        .limit(50)
    )
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if session.get_bind().dialect.name == "sqlite":
        plan = " ".join(
            str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
        assert "ix_items_status_triage" in plan and "TEMP B-TREE" not in plan, plan
    else:
        # Whether the index can give the order at all (a tiny table may be cheaper sorted).
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_sort = off"))
        plan = " ".join(session.scalars(text(f"EXPLAIN {compiled}")))
        assert "ix_items_status_triage" in plan and "Sort" not in plan.replace("Sort Key", ""), plan
