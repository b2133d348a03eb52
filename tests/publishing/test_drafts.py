"""Drafts and replies in the outbox: who approves, crisis holds and the cool-down, private
contact."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from townhall.cases import crisis
from townhall.errors import (
    ConductBlockedError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)
from townhall.models import AuditEvent, Decision, OutboxKind, OutboxPost, OutboxStatus, Role
from townhall.publishing import drafts


@pytest.fixture
def people(make_user):
    return {
        "grace": make_user("grace.lindqvist@acme.example", "pr", "Grace Lindqvist", Role.APPROVER),
        "omar": make_user("omar.haddad@acme.example", "pr", "Omar Haddad"),
        "dan": make_user("dan.murphy@acme.example", name="Dan Murphy"),
        "ana": make_user("ana@acme.example", name="Ana Approver", role=Role.APPROVER),
        "ben": make_user("ben.carter@acme.example", "sales", "Ben Carter"),
        "root": make_user("admin@acme.example", "it", "Ada Admin", Role.ADMIN),
    }


def test_a_members_reply_waits_for_an_approver_of_the_items_department(
    session, acme_policy, make_item, people, now
) -> None:
    item = make_item("Where can I buy a KettleOne?")
    reply = drafts.write_reply(
        session, acme_policy, item.id, OutboxKind.REPLY, " At acme.example/shop ",
        actor=people["dan"], now=now,
    )  # fmt: skip
    assert (reply.status, reply.text, reply.department) == (
        OutboxStatus.DRAFT,
        "At acme.example/shop",
        "customer_service",
    )
    assert reply.reply_to == item.post.post_id and reply.reply_to_author == item.post.author_handle
    assert reply.crisis_id is None and reply.channel == "mastodon"
    with pytest.raises(PermissionDeniedError, match="waits for Customer service approvers"):
        drafts.decide(
            session, acme_policy, reply.id, Decision.APPROVED, actor=people["grace"], now=now
        )
    drafts.decide(session, acme_policy, reply.id, Decision.APPROVED, actor=people["ana"], now=now)
    assert reply.status == OutboxStatus.APPROVED and reply.decided_by == people["ana"]
    with pytest.raises(ConflictError, match="only drafts waiting for approval are decided"):
        drafts.decide(
            session, acme_policy, reply.id, Decision.REJECTED, actor=people["ana"], now=now
        )
    actions = session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.subject_type == "item", AuditEvent.subject_id == str(item.id)
        )
    ).all()
    assert actions == ["outbox.draft", "outbox.approved"]


def test_an_approvers_own_reply_is_approved_as_written(
    session, acme_policy, make_item, people, now
) -> None:
    item = make_item("Where can I buy a KettleOne?")
    mine = drafts.write_reply(
        session, acme_policy, item.id, OutboxKind.REPLY, "Here", actor=people["ana"], now=now
    )
    admins = drafts.write_reply(
        session, acme_policy, item.id, OutboxKind.REPLY, "There", actor=people["root"], now=now
    )
    assert mine.status == admins.status == OutboxStatus.APPROVED
    # An approver of another department is a member here.
    other = drafts.write_reply(
        session, acme_policy, item.id, OutboxKind.REPLY, "Hi", actor=people["grace"], now=now
    )
    assert other.status == OutboxStatus.DRAFT


def test_a_scheduled_post_waits_for_its_time(session, acme_policy, people, now) -> None:
    post = drafts.create_draft(
        session,
        acme_policy,
        channel="mastodon",
        text="Tip of the week",
        author=people["ana"],
        now=now,
        at=now + timedelta(hours=3),
    )
    assert post.status == OutboxStatus.SCHEDULED and post.kind == OutboxKind.POST
    assert post.department == "customer_service"  # the channel's default owner


def test_bad_drafts_are_refused_with_the_field_named(session, acme_policy, people, now) -> None:
    make = dict(author=people["dan"], now=now)
    with pytest.raises(InputError, match="text: a post must have 1 to 10,000 characters"):
        drafts.create_draft(session, acme_policy, channel="mastodon", text="  ", **make)
    with pytest.raises(InputError, match="channel: unknown channel 'myspace'"):
        drafts.create_draft(session, acme_policy, channel="myspace", text="hi", **make)
    with pytest.raises(NotFoundError, match="reply_to: there is no stored post"):
        drafts.create_draft(
            session, acme_policy, channel="mastodon", text="hi", reply_to="mastodon:nope", **make
        )
    with pytest.raises(InputError, match="reply_to: a reply or private message needs"):
        drafts.create_draft(
            session, acme_policy, channel="mastodon", text="hi", kind=OutboxKind.PRIVATE, **make
        )


def test_a_reply_goes_out_on_the_channel_of_the_post_it_answers(
    session, acme_policy, make_item, people, now
) -> None:
    item = make_item("hello", channel="forum")
    with pytest.raises(InputError, match="is on forum, not on mastodon"):
        drafts.create_draft(
            session,
            acme_policy,
            channel="mastodon",
            text="hi",
            reply_to=item.post.post_id,
            author=people["dan"],
            now=now,
        )


def test_in_a_crisis_public_replies_wait_for_pr_and_the_cool_down(
    session, acme_policy, make_item, people, now
) -> None:
    root = make_item("My AirFry 5 basket melted!", channel="forum", post_id="forum:1")
    crisis.open_room(
        session,
        acme_policy,
        story="forum:1",
        topic="product:airfry_5",
        title="Melted basket",
        now=now,
        by="system",
    )
    held = drafts.write_reply(
        session, acme_policy, root.id, OutboxKind.REPLY, "So sorry! DM us",
        actor=people["ana"], now=now,
    )  # fmt: skip
    private = drafts.write_reply(
        session, acme_policy, root.id, OutboxKind.PRIVATE, "Hi Dave, can we call?",
        actor=people["dan"], now=now,
    )  # fmt: skip

    # Even an approver of customer service cannot let a crisis reply out.
    assert held.status == OutboxStatus.DRAFT and held.not_before == now + timedelta(minutes=30)
    assert drafts.held_replies(session, held.crisis_id or 0) == [held]
    # The forum has no private messages: contact is logged, at once.
    assert private.status == OutboxStatus.LOGGED and private.crisis_id is None
    with pytest.raises(PermissionDeniedError, match="Nobody approves their own draft"):
        drafts.decide(
            session, acme_policy, held.id, Decision.APPROVED, actor=people["ana"], now=now
        )
    with pytest.raises(PermissionDeniedError, match="waits for Public relations approvers"):
        drafts.decide(
            session, acme_policy, held.id, Decision.APPROVED, actor=people["omar"], now=now
        )
    with pytest.raises(ConflictError, match="cool-down of this crisis ends at 14:30 UTC"):
        drafts.decide(
            session, acme_policy, held.id, Decision.APPROVED, actor=people["grace"], now=now
        )
    drafts.decide(
        session,
        acme_policy,
        held.id,
        Decision.APPROVED,
        actor=people["grace"],
        now=now + timedelta(minutes=31),
    )
    assert held.status == OutboxStatus.APPROVED and held.decided_by == people["grace"]


def test_a_rejected_draft_keeps_the_note(session, acme_policy, make_item, people, now) -> None:
    item = make_item("hello")
    reply = drafts.write_reply(
        session, acme_policy, item.id, OutboxKind.REPLY, "Nope", actor=people["dan"], now=now
    )
    drafts.decide(
        session,
        acme_policy,
        reply.id,
        Decision.REJECTED,
        actor=people["ana"],
        now=now,
        comment=" Tone ",
    )
    assert (reply.status, reply.decision_note) == (OutboxStatus.REJECTED, "Tone")
    assert drafts.waiting_for(session, acme_policy, people["ana"]) == []


def test_a_reply_too_long_for_its_network_never_reaches_the_outbox(
    session, acme_policy, make_item, people, now
) -> None:
    item = make_item("Where can I buy a KettleOne?")
    with pytest.raises(ConductBlockedError) as caught:
        drafts.write_reply(
            session, acme_policy, item.id, OutboxKind.REPLY, "x" * 501, actor=people["dan"], now=now
        )
    assert [f["rule"] for f in caught.value.findings] == ["length"]
    assert session.scalars(select(OutboxPost)).all() == []
