"""Approval chains from the policy: which chain a draft follows, who decides each step, and the
properties that must hold for any chain (nobody approves their own draft, ``all`` needs
everyone, a draft past its time expires)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from networks import ACME_POLICY as ROOT_POLICY
from townhall.cases import crisis
from townhall.errors import ConflictError, InputError, PermissionDeniedError
from townhall.models import (
    CrisisStatus,
    Decision,
    OutboxDecision,
    OutboxKind,
    OutboxStatus,
    Role,
)
from townhall.org.approvals import Chain, DraftKind, Need, Risk, Step
from townhall.org.loader import parse_policy
from townhall.publishing import approvals, drafts

CLEAN = "Thanks for telling us. We are looking into it and will reply here today."


@pytest.fixture
def people(make_user):
    return {
        "sofia": make_user(
            "sofia.rossi@acme.example", "customer_service", "Sofia Rossi", Role.APPROVER
        ),
        "sam": make_user("sam.lee@acme.example", "customer_service", "Sam Lee", Role.APPROVER),
        "aiko": make_user("aiko.tanaka@acme.example", "customer_service", "Aiko Tanaka"),
        "dan": make_user("dan.murphy@acme.example", "customer_service", "Dan Murphy"),
        "grace": make_user("grace.lindqvist@acme.example", "pr", "Grace Lindqvist", Role.APPROVER),
        "omar": make_user("omar.haddad@acme.example", "pr", "Omar Haddad"),
        "maya": make_user("maya.patel@acme.example", "marketing", "Maya Patel", Role.APPROVER),
        "root": make_user("jonas.weber@acme.example", "it", "Jonas Weber", Role.ADMIN),
    }


def facts(**kw) -> approvals.Facts:
    base = {"kind": DraftKind.REPLY, "department": "customer_service", "channel": "mastodon"}
    return approvals.Facts(**{**base, **kw})


@pytest.mark.parametrize(
    ("case", "chain"),
    [
        ({"crisis": True}, "crisis"),
        ({"crisis": True, "kind": DraftKind.PRIVATE}, None),
        ({"intent": "press_inquiry"}, "press"),
        ({"activity": "media_relations", "department": "pr"}, "media"),
        ({"statement": True, "kind": DraftKind.POST}, "statements"),
        ({"kind": DraftKind.TAKEOVER}, "takeover"),
        ({"paid": True, "kind": DraftKind.POST, "department": "marketing"}, "campaign"),
        ({"risk": Risk.HIGH, "activity": "customer_issues"}, "risky"),
        ({"activity": "customer_issues"}, "customer_replies"),
        ({"activity": "customer_issues", "kind": DraftKind.POST}, "department"),
        ({"kind": DraftKind.PRIVATE}, None),
        ({"department": "sales", "activity": "referrals_and_leads"}, "department"),
    ],
)
def test_acme_drafts_follow_the_first_chain_that_matches(acme_policy, case, chain) -> None:
    found = approvals.chain_for(acme_policy, facts(**case))
    assert (found.id if found else None) == chain


def test_a_policy_without_a_crisis_chain_still_holds_crisis_replies(acme_policy) -> None:
    policy = acme_policy.model_copy(
        update={"approvals": [Chain(id="all", steps=[Step(role=Role.ADMIN)])]}
    )
    assert approvals.chain_for(policy, facts(crisis=True)).id == "crisis"
    assert approvals.chain_for(policy, facts()).id == "all"


@pytest.mark.parametrize(
    ("levels", "priority", "in_crisis", "risk"),
    [
        ([], "normal", False, Risk.LOW),
        (["warn"], "normal", False, Risk.MEDIUM),
        ([], "high", False, Risk.MEDIUM),
        (["warn", "needs_approval"], "normal", False, Risk.HIGH),
        ([], "urgent", False, Risk.HIGH),
        ([], "normal", True, Risk.HIGH),
    ],
)
def test_risk_comes_from_findings_priority_and_crisis(
    make_item, levels, priority, in_crisis, risk
) -> None:
    item = make_item()
    item.priority = priority
    assert approvals.risk_of([{"level": lv} for lv in levels], item, in_crisis) is risk


def test_policy_check_names_the_line_of_a_bad_chain(acme_policy) -> None:
    from townhall.errors import PolicyError

    text = (ROOT_POLICY.read_text() + "\n").replace(
        "    steps: [{department: pr}]\n  - id: media",
        "    steps: [{department: legal, need: most}]\n  - id: media",
    )
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    problems = "\n".join(caught.value.problems)
    assert "approvals[1].steps[0].need: invalid value 'most'" in problems
    assert "approvals[1].steps[0].department: unknown department 'legal'" in problems
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "need: most" in t)
    assert f"p.yaml:{line}: approvals[1].steps[0]" in problems


def test_a_step_names_exactly_one_kind_of_decider() -> None:
    with pytest.raises(ValueError, match="exactly one of department, role or people"):
        Step(department="pr", role=Role.ADMIN)
    with pytest.raises(ValueError, match="exactly one"):
        Step()


# -- the chain in the database ------------------------------------------------------------------


def test_a_publish_right_sends_low_risk_customer_replies_directly(
    session, acme_policy, make_item, people, now
) -> None:
    item = make_item("Where can I buy a KettleOne?")
    item.activity = "customer_issues"
    direct = drafts.write_reply(
        session, acme_policy, item.id, OutboxKind.REPLY, CLEAN, actor=people["dan"], now=now
    )
    assert (direct.status, direct.chain, direct.risk) == (
        OutboxStatus.APPROVED,
        "customer_replies",
        "low",
    )
    # Aiko has no publish right: hers waits, and not for herself.
    waiting = drafts.write_reply(
        session, acme_policy, item.id, OutboxKind.REPLY, CLEAN, actor=people["aiko"], now=now
    )
    assert waiting.status == OutboxStatus.DRAFT
    steps = approvals.progress(session, acme_policy, waiting)
    assert [(s.label, s.state) for s in steps] == [("Customer service approvers", "current")]
    assert set(steps[0].deciders) == {"Sofia Rossi", "Sam Lee"}
    assert approvals.waiting_for(session, acme_policy, people["sofia"]) == [waiting]
    assert approvals.waiting_for(session, acme_policy, people["grace"]) == []


def test_nobody_approves_their_own_draft(session, acme_policy, make_item, people, now) -> None:
    item = make_item("Is the AirFry 5 dishwasher safe?")
    item.priority = "urgent"  # high risk: no direct publishing, and PR is a second step
    item.activity = "customer_issues"
    own = drafts.write_reply(
        session, acme_policy, item.id, OutboxKind.REPLY, CLEAN, actor=people["sofia"], now=now
    )
    assert (own.status, own.chain) == (OutboxStatus.DRAFT, "risky")
    with pytest.raises(PermissionDeniedError, match="own draft"):
        drafts.decide(
            session, acme_policy, own.id, Decision.APPROVED, actor=people["sofia"], now=now
        )
    with pytest.raises(PermissionDeniedError, match="Customer service approvers"):
        drafts.decide(
            session, acme_policy, own.id, Decision.APPROVED, actor=people["grace"], now=now
        )
    drafts.decide(session, acme_policy, own.id, Decision.APPROVED, actor=people["sam"], now=now)
    assert (own.status, own.step) == (OutboxStatus.DRAFT, 1)
    drafts.decide(session, acme_policy, own.id, Decision.APPROVED, actor=people["grace"], now=now)
    assert own.status == OutboxStatus.APPROVED
    assert [s.state for s in approvals.progress(session, acme_policy, own)] == ["done", "done"]


def test_changes_requested_send_the_draft_back_and_the_chain_starts_again(
    session, acme_policy, make_item, people, now
) -> None:
    item = make_item("My kettle leaks")
    item.priority = "urgent"
    draft = drafts.write_reply(
        session, acme_policy, item.id, OutboxKind.REPLY, CLEAN, actor=people["aiko"], now=now
    )
    drafts.decide(session, acme_policy, draft.id, Decision.APPROVED, actor=people["sofia"], now=now)
    assert draft.step == 1
    with pytest.raises(InputError, match="comment"):
        drafts.decide(
            session, acme_policy, draft.id, Decision.CHANGES, actor=people["grace"], now=now
        )
    drafts.decide(
        session, acme_policy, draft.id, Decision.CHANGES, actor=people["grace"], now=now,
        comment="Say when we will reply.", note="Tone is fine otherwise.",
    )  # fmt: skip
    assert draft.status == OutboxStatus.CHANGES
    with pytest.raises(PermissionDeniedError, match="Only its author"):
        drafts.revise(session, acme_policy, draft.id, "x", actor=people["sofia"], now=now)
    drafts.revise(
        session, acme_policy, draft.id, CLEAN + " We reply by 5pm.", actor=people["aiko"], now=now
    )
    assert (draft.status, draft.step, draft.revision) == (OutboxStatus.DRAFT, 0, 2)
    # Sofia's approval of revision 1 does not count for revision 2.
    assert approvals.may_decide(session, acme_policy, draft, people["sofia"])
    assert [s.approved_by for s in approvals.progress(session, acme_policy, draft)] == [[], []]
    # The private note stays among the reviewers.
    assert approvals.may_review(session, acme_policy, draft, people["grace"])
    assert not approvals.may_review(session, acme_policy, draft, people["aiko"])


def test_a_draft_not_approved_before_its_time_expires(
    session, acme_policy, make_user, people, now
) -> None:
    tom = make_user("tom.becker@acme.example", "marketing", "Tom Becker")
    at = now + timedelta(hours=2)
    post = drafts.create_draft(
        session, acme_policy, channel="forum", text=CLEAN, author=tom, now=now, at=at
    )
    assert post.status == OutboxStatus.DRAFT and post.scheduled_at == at
    assert drafts.expire(session, at - timedelta(seconds=1)) == []
    assert drafts.expire(session, at) == [post]
    assert post.status == OutboxStatus.EXPIRED and "not approved before its time" in post.error
    with pytest.raises(ConflictError, match="expired before approval"):
        drafts.decide(
            session, acme_policy, post.id, Decision.APPROVED, actor=people["maya"], now=at
        )


def test_a_held_crisis_reply_goes_back_to_normal_approval_when_the_room_is_resolved(
    session, acme_policy, make_item, people, now
) -> None:
    item = make_item("The AirFry 5 melted on my counter", post_id="mastodon:melted")
    room = crisis.open_room(
        session, acme_policy, story="mastodon:melted", topic="product:airfry_5",
        title="Melted basket", now=now, by="system",
    )  # fmt: skip
    held = drafts.write_reply(
        session, acme_policy, item.id, OutboxKind.REPLY, CLEAN, actor=people["dan"], now=now
    )
    assert (held.chain, held.crisis_id) == ("crisis", room.id)
    with pytest.raises(ConflictError, match="cool-down"):
        drafts.decide(
            session, acme_policy, held.id, Decision.APPROVED, actor=people["grace"], now=now
        )
    room.status = CrisisStatus.RESOLVED
    later = now + timedelta(minutes=5)
    drafts.decide(
        session, acme_policy, held.id, Decision.APPROVED, actor=people["sofia"], now=later
    )
    assert held.crisis_id is None and held.chain != "crisis"
    assert held.status in (OutboxStatus.APPROVED, OutboxStatus.DRAFT)


# -- properties over random chains ----------------------------------------------------------------

POOL = ["sofia", "sam", "aiko", "dan", "grace", "omar", "maya", "root"]
EMAILS = {
    "sofia": "sofia.rossi@acme.example",
    "sam": "sam.lee@acme.example",
    "aiko": "aiko.tanaka@acme.example",
    "dan": "dan.murphy@acme.example",
    "grace": "grace.lindqvist@acme.example",
    "omar": "omar.haddad@acme.example",
    "maya": "maya.patel@acme.example",
    "root": "jonas.weber@acme.example",
}

steps_strategy = st.one_of(
    st.builds(
        lambda d, n: Step(department=d, need=n),
        st.sampled_from(["customer_service", "pr", "marketing", "owner"]),
        st.sampled_from(list(Need)),
    ),
    st.builds(
        lambda names, n: Step(people=[EMAILS[p] for p in names], need=n),
        st.lists(st.sampled_from(POOL), min_size=1, max_size=3, unique=True),
        st.sampled_from(list(Need)),
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(steps_strategy, min_size=1, max_size=3),
    author=st.sampled_from(["sofia", "aiko", "grace", "root"]),
    attempts=st.lists(st.sampled_from(POOL), max_size=10),
)
def test_any_chain_never_lets_an_author_approve_and_all_needs_everyone(
    session, acme_policy, make_item, people, now, steps, author, attempts
) -> None:
    policy = acme_policy.model_copy(update={"approvals": [Chain(id="random", steps=steps)]})
    nested = session.begin_nested()
    try:
        item = make_item("Is the KettleOne warranty two years?")
        draft = drafts.write_reply(
            session, policy, item.id, OutboxKind.REPLY, CLEAN, actor=people[author], now=now
        )
        assert draft.chain == "random" and draft.status == OutboxStatus.DRAFT
        for name in attempts:
            user = people[name]
            allowed = approvals.may_decide(session, policy, draft, user)
            if user.id == draft.author_id:
                assert not allowed
            if not allowed:
                with pytest.raises((PermissionDeniedError, ConflictError)):
                    drafts.decide(session, policy, draft.id, Decision.APPROVED, actor=user, now=now)
                continue
            drafts.decide(session, policy, draft.id, Decision.APPROVED, actor=user, now=now)
        approved = session.scalars(
            select(OutboxDecision).where(
                OutboxDecision.outbox_id == draft.id, OutboxDecision.decision == Decision.APPROVED
            )
        ).all()
        assert all(d.user_id != draft.author_id for d in approved)
        done = 0
        for index, step in enumerate(steps):
            by = {d.user_id for d in approved if d.step == index}
            deciders = {u.id for u in approvals.required(session, policy, step, draft, None)}
            satisfied = bool(by) and (step.need is Need.ANY or deciders <= by)
            if not satisfied:
                break
            done += 1
        assert draft.step == done
        released = draft.status == OutboxStatus.APPROVED
        assert released == (done == len(steps))
    finally:
        nested.rollback()


def test_only_people_some_chain_names_are_looked_up_as_deciders(acme_policy, people) -> None:
    assert approvals.could_ever_decide(acme_policy, people["sofia"])  # an approver
    assert approvals.could_ever_decide(acme_policy, people["root"])  # an admin
    assert not approvals.could_ever_decide(acme_policy, people["aiko"])  # a member
    named = acme_policy.model_copy(
        update={"approvals": [Chain(id="aiko", steps=[Step(people=["aiko.tanaka@acme.example"])])]}
    )
    assert approvals.could_ever_decide(named, people["aiko"])
