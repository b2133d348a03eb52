"""PR communication plans: ordered steps, drafts written from them follow the statement chain,
a plan from a crisis room's holding statement, who may edit, and the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from townhall.cases import crisis
from townhall.errors import ConflictError, InputError, PermissionDeniedError
from townhall.models import (
    AuditEvent,
    Decision,
    OutboxStatus,
    PlanPurpose,
    PlanStatus,
    Role,
)
from townhall.publishing import drafts, plans

HOLDING = "We know about reports of AirFry 5 baskets melting and are looking into it now."


@pytest.fixture
def people(make_user):
    return {
        "grace": make_user("grace.lindqvist@acme.example", "pr", "Grace Lindqvist", "crisis_lead"),
        "omar": make_user("omar.haddad@acme.example", "pr", "Omar Haddad", "communications"),
        "maya": make_user("maya.patel@acme.example", "marketing", "Maya Patel", "social_lead"),
        "tom": make_user("tom.becker@acme.example", "marketing", "Tom Becker", Role.MEMBER),
        "dan": make_user("dan.murphy@acme.example", name="Dan Murphy"),
        "root": make_user("admin@acme.example", "it", "Ada Admin", Role.ADMIN),
    }


def _plan(session, policy, people, now, **extra):
    return plans.create(
        session, policy, name="AirFry 5 launch", purpose="launch", actor=people["grace"], now=now,
        **extra,
    )  # fmt: skip


def _actions(session, subject_type, subject_id):
    return session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == str(subject_id))
        .order_by(AuditEvent.id)
    ).all()


def test_a_plan_is_led_by_pr_and_keeps_its_steps_in_order(
    session, acme_policy, people, now
) -> None:
    plan = _plan(session, acme_policy, people, now)
    assert (plan.department, plan.purpose, plan.status) == ("pr", "launch", PlanStatus.OPEN)
    grace = people["grace"]
    titles = ["Press release", "Launch post", "Press conference"]
    for hours, title in enumerate(titles, start=1):
        plans.add_step(
            session, acme_policy, plan, title=title, due_at=now + timedelta(hours=hours),
            channel=None if title == "Press conference" else "mastodon", actor=grace, now=now,
        )  # fmt: skip
    assert [(s.position, s.title) for s in plan.steps] == list(enumerate(titles, start=1))
    last = plan.steps[2]
    plans.move_step(session, acme_policy, last, True, actor=grace, now=now)
    assert [s.title for s in plan.steps] == ["Press release", "Press conference", "Launch post"]
    first = plan.steps[0]
    plans.move_step(session, acme_policy, first, True, actor=grace, now=now)  # at the top
    assert [s.position for s in plan.steps] == [1, 2, 3]
    assert plan.steps[0] is first
    plans.move_step(session, acme_policy, first, False, actor=grace, now=now)
    assert [s.title for s in plan.steps] == ["Press conference", "Press release", "Launch post"]
    assert plans.progress(plan, {}).finished == 0
    assert plans.progress(plan, {}).next_step is plan.steps[1]  # the soonest due
    assert _actions(session, "plan", plan.id) == [
        "plan.created", *["plan.step_added"] * 3, *["plan.step_moved"] * 2,
    ]  # fmt: skip


def test_bad_steps_are_refused_naming_their_field(session, acme_policy, people, now) -> None:
    plan = _plan(session, acme_policy, people, now)
    grace, due = people["grace"], now + timedelta(days=1)
    with pytest.raises(InputError, match=r"^title:"):
        plans.add_step(session, acme_policy, plan, title="  ", due_at=due, actor=grace, now=now)
    with pytest.raises(InputError, match=r"^channel: unknown channel 'myspace'"):
        plans.add_step(
            session, acme_policy, plan, title="A", channel="myspace", due_at=due, actor=grace,
            now=now,
        )  # fmt: skip
    with pytest.raises(InputError, match=r"^owner_department: unknown department"):
        plans.add_step(
            session, acme_policy, plan, title="A", owner_department="nasa", due_at=due,
            actor=grace, now=now,
        )  # fmt: skip
    with pytest.raises(InputError, match=r"^due_at: needs a time zone"):
        plans.add_step(
            session, acme_policy, plan, title="A", due_at=due.replace(tzinfo=None), actor=grace,
            now=now,
        )  # fmt: skip
    with pytest.raises(InputError, match=r"^purpose:"):
        plans.create(session, acme_policy, name="X", purpose="party", actor=grace, now=now)
    assert plan.steps == []


def test_writing_a_statement_step_sends_its_draft_down_the_statement_chain(
    session, acme_policy, people, now
) -> None:
    plan = _plan(session, acme_policy, people, now)
    maya, grace = people["maya"], people["grace"]
    due = now + timedelta(days=2)
    step = plans.add_step(
        session, acme_policy, plan, title="Launch statement", channel="mastodon",
        text="The ACME AirFry 5 is here.", due_at=due, actor=grace, now=now,
    )  # fmt: skip
    assert plans.step_state(step, {}) == "not written"
    post = plans.write_draft(session, acme_policy, step, actor=maya, now=now)
    assert step.outbox_id == post.id
    assert (post.chain, post.statement, post.category) == ("statements", True, "statement")
    assert post.scheduled_at == due and post.status == OutboxStatus.DRAFT
    posts = plans.drafts_of(session, plan.steps)
    assert plans.step_state(step, posts) == "waiting for approval"
    with pytest.raises(ConflictError, match="already has its draft"):
        plans.write_draft(session, acme_policy, step, actor=maya, now=now)
    # PR approves statements: Grace, not the author.
    drafts.decide(session, acme_policy, post.id, Decision.APPROVED, actor=grace, now=now)
    assert plans.step_state(step, posts) == "scheduled"
    assert plans.status_of(plan, posts) is PlanStatus.OPEN
    post.status = OutboxStatus.PUBLISHED  # as the publisher leaves it
    assert plans.step_state(step, posts) == "published"
    assert plans.status_of(plan, posts) is PlanStatus.DONE
    assert plans.progress(plan, posts).finished == 1


def test_a_step_due_already_is_written_to_go_out_once_approved(
    session, acme_policy, people, now
) -> None:
    plan = _plan(session, acme_policy, people, now)
    step = plans.add_step(
        session, acme_policy, plan, title="Late", channel="bluesky", text="Hello",
        due_at=now - timedelta(hours=1), statement=False, actor=people["grace"], now=now,
    )  # fmt: skip
    post = plans.write_draft(session, acme_policy, step, actor=people["maya"], now=now)
    assert post.scheduled_at is None and post.statement is False and post.category is None


def test_a_step_without_words_or_channel_is_not_written(session, acme_policy, people, now) -> None:
    plan = _plan(session, acme_policy, people, now)
    grace, due = people["grace"], now + timedelta(hours=3)
    empty = plans.add_step(
        session, acme_policy, plan, title="To write", channel="mastodon", due_at=due,
        actor=grace, now=now,
    )  # fmt: skip
    with pytest.raises(InputError, match=r"^text:"):
        plans.write_draft(session, acme_policy, empty, actor=grace, now=now)
    spoken = plans.add_step(
        session, acme_policy, plan, title="Press conference", text="Q&A", due_at=due,
        actor=grace, now=now,
    )  # fmt: skip
    with pytest.raises(InputError, match=r"^channel:"):
        plans.write_draft(session, acme_policy, spoken, actor=grace, now=now)
    assert empty.outbox_id is None and spoken.outbox_id is None
    plans.mark_done(session, acme_policy, spoken, actor=grace, now=now)
    assert spoken.done_at == now and plans.step_state(spoken, {}) == "done"
    assert plan.status == PlanStatus.OPEN  # one step left
    with pytest.raises(ConflictError, match="already done"):
        plans.mark_done(session, acme_policy, spoken, actor=grace, now=now)
    plans.mark_done(session, acme_policy, empty, actor=grace, now=now)
    assert plan.status == PlanStatus.DONE


def test_who_may_edit_a_plan(session, acme_policy, people, now) -> None:
    # Omar (communications) runs crisis rooms but has no calendar right; Tom plans marketing's.
    for who in ("omar", "tom", "dan"):
        with pytest.raises(PermissionDeniedError, match="communication plans of Public relations"):
            plans.create(session, acme_policy, name="X", purpose="other", actor=people[who],
                         now=now)  # fmt: skip
    plan = _plan(session, acme_policy, people, now)
    with pytest.raises(PermissionDeniedError):
        plans.add_step(
            session, acme_policy, plan, title="A", due_at=now, actor=people["tom"], now=now
        )
    # Maya (social lead: calendar everywhere) and admins may.
    plans.add_step(session, acme_policy, plan, title="A", due_at=now, actor=people["maya"], now=now)
    ours = plans.create(
        session, acme_policy, name="Recipe week", purpose="other", department="marketing",
        actor=people["tom"], now=now,
    )  # fmt: skip
    step = plans.add_step(
        session, acme_policy, plan, title="Marketing's post", owner_department="marketing",
        channel="forum", text="Recipes!", due_at=now + timedelta(days=1), statement=False,
        actor=people["root"], now=now,
    )  # fmt: skip
    # The step's owner department writes its step in PR's plan.
    post = plans.write_draft(session, acme_policy, step, actor=people["tom"], now=now)
    assert post.channel == "forum" and ours.department == "marketing"


def test_a_cancelled_plan_changes_no_more(session, acme_policy, people, now) -> None:
    plan = _plan(session, acme_policy, people, now)
    step = plans.add_step(
        session, acme_policy, plan, title="A", due_at=now, actor=people["grace"], now=now
    )
    plans.cancel(session, acme_policy, plan, actor=people["grace"], now=now)
    with pytest.raises(ConflictError, match="cancelled"):
        plans.mark_done(session, acme_policy, step, actor=people["grace"], now=now)
    assert plans.status_of(plan, {}) is PlanStatus.CANCELLED


def _room(session, policy, now, statement=""):
    room = crisis.open_room(
        session, policy, story="forum:1", topic="product:airfry_5", title="Melted basket",
        now=now, by="radar",
    )  # fmt: skip
    room.holding_statement = statement
    return room


def test_a_crisis_room_starts_a_plan_from_its_holding_statement(
    session, acme_policy, people, now
) -> None:
    room = _room(session, acme_policy, now, HOLDING)
    plan = plans.from_crisis(session, acme_policy, room, actor=people["grace"], now=now)
    assert (plan.purpose, plan.department, plan.crisis_id) == (
        PlanPurpose.CRISIS, room.lead_department, room.id,
    )  # fmt: skip
    steps = [(s.position, s.title, s.text, s.due_at - now) for s in plan.steps]
    assert steps == [
        (1, "Holding statement", HOLDING, timedelta(minutes=15)),
        (2, "Update when the cause is known", "", timedelta(days=1)),
        (3, "Close-out statement", "", timedelta(days=3)),
    ]
    assert {s.owner_department for s in plan.steps} == {room.lead_department}
    assert "crisis.plan_started" in _actions(session, "crisis", room.id)
    # The holding statement is written at once and waits for PR.
    post = plans.write_draft(session, acme_policy, plan.steps[0], actor=people["maya"], now=now)
    assert post.text == HOLDING and post.chain == "statements"


def test_a_room_without_a_holding_statement_starts_no_plan(
    session, acme_policy, people, now
) -> None:
    room = _room(session, acme_policy, now, "   ")
    with pytest.raises(InputError, match="no holding statement yet"):
        plans.from_crisis(session, acme_policy, room, actor=people["grace"], now=now)
    room.holding_statement = HOLDING
    with pytest.raises(PermissionDeniedError):
        plans.from_crisis(session, acme_policy, room, actor=people["omar"], now=now)
    assert plans.list_plans(session) == []
