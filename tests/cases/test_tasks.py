"""The queue worker with an injected clock: automatic assignment, SLA breaches, escalation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.cases import repository, service
from townhall.cases.tasks import QueuePass, work_queues
from townhall.models import AuditEvent, Item, ItemStatus, Role, SlaBreach, User
from townhall.routing.sla import due_at


@pytest.fixture
def team(make_user) -> dict[str, User]:
    """ACME's customer service people, and the marketing and pr approvers (policy e-mails)."""
    return {
        "sofia": make_user("sofia.rossi@acme.example", name="Sofia Rossi", role=Role.APPROVER),
        "dan": make_user("dan.murphy@acme.example", name="Dan Murphy"),
        "aiko": make_user("aiko.tanaka@acme.example", name="Aiko Tanaka"),
        "maya": make_user(
            "maya.patel@acme.example", "marketing", name="Maya Patel", role=Role.APPROVER
        ),
        "grace": make_user(
            "grace.lindqvist@acme.example", "pr", name="Grace Lindqvist", role=Role.APPROVER
        ),
    }


@pytest.fixture
def sla_item(make_item, now: datetime):
    """An item with first-response and resolution clocks of the given minutes."""

    def make(first: int = 60, resolution: int = 480, **kw: object) -> Item:
        item: Item = make_item(**kw)
        item.sla_first_response_minutes, item.sla_resolution_minutes = first, resolution
        item.first_response_due_at = due_at(now, first)
        item.resolution_due_at = due_at(now, resolution)
        return item

    return make


def actions(session: Session, item: Item) -> list[tuple[str, str]]:
    return [(e.action, e.why) for e in repository.history_of(session, item.id)]


def test_waiting_items_go_to_the_least_loaded_person_on_shift(
    session, acme_policy, team, sla_item, now
) -> None:
    items = [sla_item() for _ in range(4)]

    result = work_queues(session, acme_policy, now)

    assert result == QueuePass(assigned=4)
    owners = [i.assignee.name for i in items if i.assignee]
    assert sorted(owners) == ["Aiko Tanaka", "Dan Murphy", "Sofia Rossi", "Sofia Rossi"]
    assert {i.assigned_by for i in items} == {"auto"}
    assert actions(session, items[0]) == [
        (
            "item.assigned",
            f"{owners[0]} has the fewest open items (0) of the 3 available in customer_service",
        )
    ]
    # A second pass leaves them where they are.
    assert work_queues(session, acme_policy, now) == QueuePass()


def test_out_of_office_and_off_shift_people_get_nothing(
    session, acme_policy, team, sla_item, now
) -> None:
    service.set_out_of_office(
        session, team["dan"].id, now + timedelta(days=2), actor=team["dan"], now=now
    )
    items = [sla_item() for _ in range(2)]
    work_queues(session, acme_policy, now)
    assert {i.assignee.name for i in items if i.assignee} == {"Sofia Rossi", "Aiko Tanaka"}

    late = sla_item(first=600, resolution=1440)  # not overdue by the night
    night = now.replace(hour=21)  # customer service works 08:00-18:00 London time
    assert work_queues(session, acme_policy, night).assigned == 0
    assert late.assignee is None


def test_a_manual_choice_is_never_undone(session, acme_policy, team, sla_item, now) -> None:
    item = sla_item()
    service.assign(session, item.id, team["aiko"].id, actor=team["sofia"], now=now)
    service.assign(session, item.id, None, actor=team["sofia"], now=now)

    assert work_queues(session, acme_policy, now).assigned == 0
    assert item.assignee is None and item.assigned_by == "manual"


def test_a_breach_escalates_to_the_approver_then_to_the_activity_lead(
    session, acme_policy, team, sla_item, now
) -> None:
    item = sla_item(first=60, resolution=480, department="marketing")
    item.activity = "influencer_relationships"  # led by marketing and pr together
    work_queues(session, acme_policy, now)
    assert item.assignee is not None and item.assignee.name == "Maya Patel"
    service.assign(session, item.id, None, actor=team["maya"], now=now)

    assert work_queues(session, acme_policy, now + timedelta(minutes=59)) == QueuePass()
    first = work_queues(session, acme_policy, now + timedelta(minutes=61))
    assert first == QueuePass(breaches=1, escalated=1, assigned=0)
    assert (item.department, item.escalation_level, item.assignee.name) == (
        "marketing",
        1,
        "Maya Patel",
    )
    assert item.assigned_by == "escalation"

    # Taking it up stops the first-response clock, not the resolution clock.
    service.set_status(session, item.id, ItemStatus.IN_PROGRESS, actor=team["maya"], now=now)
    second = work_queues(session, acme_policy, now + timedelta(minutes=481))
    assert second == QueuePass(breaches=1, escalated=1, assigned=0)
    assert (item.department, item.escalation_level, item.assignee.name) == (
        "pr",
        2,
        "Grace Lindqvist",
    )
    assert item.supporting == ["marketing"]

    history = actions(session, item)
    assert history[-3][0] == "item.status_changed"
    assert history[-2] == (
        "item.escalated",
        "The resolution SLA ran out (22:00 UTC), so it escalates to pr leads "
        "influencer_relationships in the ownership matrix: Grace Lindqvist approves for pr "
        "(off shift, but it is overdue)",
    )
    assert history[-1][0] == "item.assigned"
    breaches = session.scalars(select(SlaBreach).where(SlaBreach.item_id == item.id)).all()
    assert [(b.department, b.clock, b.escalated_to_id) for b in breaches] == [
        ("marketing", "first_response", team["maya"].id),
        ("marketing", "resolution", team["grace"].id),
    ]
    assert repository.breach_counts(session, now) == {
        "marketing": {"first_response": 1, "resolution": 1}
    }


def test_at_the_top_of_the_chain_a_breach_is_only_recorded(
    session, acme_policy, team, sla_item, now
) -> None:
    item = sla_item(first=30, resolution=60)
    item.activity = "customer_issues"  # led by customer service itself: one step only

    result = work_queues(session, acme_policy, now + timedelta(hours=2))

    assert result == QueuePass(breaches=2, escalated=1, assigned=0)
    assert item.escalation_level == 1 and item.assignee.name == "Sofia Rossi"
    assert actions(session, item)[-1] == (
        "item.sla_breached",
        "The resolution SLA ran out (15:00 UTC); it is already at the top of its escalation chain",
    )
    assert work_queues(session, acme_policy, now + timedelta(hours=3)) == QueuePass()


def test_done_in_time_never_breaches(session, acme_policy, team, sla_item, now) -> None:
    item = sla_item(first=30, resolution=60)
    service.set_status(session, item.id, ItemStatus.DONE, actor=team["dan"], now=now)

    assert work_queues(session, acme_policy, now + timedelta(days=3)).breaches == 0
    assert (item.first_responded_at, item.resolved_at) == (now, now)


def test_an_escalate_rule_starts_with_the_approver(
    session, acme_policy, team, sla_item, now
) -> None:
    item = sla_item()
    item.escalation_level = 1

    work_queues(session, acme_policy, now)

    assert item.assignee.name == "Sofia Rossi" and item.assigned_by == "escalation"


def test_queue_counts_per_department(session, acme_policy, team, sla_item, now) -> None:
    sla_item(first=10)
    sla_item(first=10)
    sla_item(department="sales")
    service.set_status(session, sla_item().id, ItemStatus.DONE, actor=team["dan"], now=now)
    work_queues(session, acme_policy, now + timedelta(minutes=20))

    counts = repository.queue_counts(session, acme_policy.department_ids)

    assert counts["customer_service"] == {"open": 2, "unassigned": 0, "breached": 2}
    assert counts["sales"] == {"open": 1, "unassigned": 1, "breached": 0}  # no sales login
    events = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("item.%")))
    assert "item.escalated" in set(events)
