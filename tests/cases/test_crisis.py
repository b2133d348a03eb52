"""Crisis rooms: opened by a radar alert or by hand, the checklist, no knee-jerk replies, the
author's journey."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from townhall.cases import crisis
from townhall.errors import ConflictError, InputError, PermissionDeniedError
from townhall.models import AuditEvent, CrisisStatus, OutboxKind, Role
from townhall.publishing import drafts
from townhall.radar.alerts import Alert


@pytest.fixture
def people(make_user):
    return {
        "grace": make_user("grace.lindqvist@acme.example", "pr", "Grace Lindqvist", Role.APPROVER),
        "omar": make_user("omar.haddad@acme.example", "pr", "Omar Haddad"),
        "dan": make_user("dan.murphy@acme.example", name="Dan Murphy"),
        "ben": make_user("ben.carter@acme.example", "sales", "Ben Carter"),
    }


@pytest.fixture
def story(make_item):
    """The owners' club post, a reply and a reshare, each with an item."""
    root = make_item(
        "My AirFry 5 basket melted!",
        channel="forum",
        post_id="forum:1",
        handle="@dave",
        sentiment_label="negative",
    )
    reply = make_item("Same here", channel="forum", post_id="forum:2", reply_to="forum:1")
    quote = make_item("Look at this", post_id="mastodon:3", reshare_of="forum:1")
    return root, reply, quote


def alert(story_id: str = "forum:1", severity: str = "watch", kind: str = "crisis", **kw):
    return Alert(
        at=datetime(2026, 11, 20, 9, 45, tzinfo=UTC),
        kind=kind,  # type: ignore[arg-type]
        topic=kw.pop("topic", "product:airfry_5"),
        severity=severity,  # type: ignore[arg-type]
        post_ids=kw.pop("post_ids", (story_id,)),
        why="4 of 7 posts negative",
        story=story_id,
        score=0.42,
        details={"forecast": {"predicted_final": 80.0, "lo": 20.0, "hi": 300.0, "p_viral": 0.6}},
    )


def test_a_crisis_alert_opens_a_room_with_pr_leading_and_its_checklist(
    session, acme_policy, story, now
) -> None:
    records = crisis.record_alerts(session, acme_policy, [alert()], now)

    room = crisis.find_open_room(session, "forum:1")
    assert room is not None and records[0].crisis_id == room.id
    assert (room.lead_department, room.departments) == (
        "pr",
        ["pr", "customer_service", "back_office"],
    )
    assert room.status == CrisisStatus.WATCHING and room.risk == 0.42
    assert room.forecast["p_viral"] == 0.6
    assert [(e.key, e.owner_department) for e in room.checklist] == [
        ("true", "back_office"),
        ("spread", "pr"),
        ("qa", "back_office"),
        ("contacted", "customer_service"),
        ("statement", "pr"),
    ]
    assert {i.crisis_id for i in story} == {room.id}
    # A second alert on the same story updates the room instead of opening another.
    crisis.record_alerts(session, acme_policy, [alert(severity="warning")], now)
    assert len(crisis.open_rooms(session)) == 1


def test_below_the_policy_threshold_no_room_opens(session, acme_policy, story, now) -> None:
    strict = acme_policy.model_copy(
        update={"crisis": acme_policy.crisis.model_copy(update={"open_at": "warning"})}
    )
    crisis.record_alerts(session, strict, [alert(severity="watch")], now)
    assert crisis.open_rooms(session) == []
    crisis.record_alerts(session, strict, [alert(severity="warning")], now)
    assert len(crisis.open_rooms(session)) == 1


def test_another_story_on_the_same_product_joins_the_room(
    session, acme_policy, story, make_item, now
) -> None:
    press = make_item("Reporter here: melting baskets?", post_id="mastodon:9")
    crisis.record_alerts(session, acme_policy, [alert()], now)
    crisis.record_alerts(session, acme_policy, [alert("mastodon:9")], now)

    [room] = crisis.open_rooms(session)
    assert room.related == ["mastodon:9"] and press.crisis_id == room.id
    # make_item dates each new post a minute earlier, so the press post is the oldest.
    assert [p.post_id for p in crisis.room_posts(session, room)] == [
        "mastodon:9",
        "mastodon:3",
        "forum:2",
        "forum:1",
    ]


def test_status_answers_and_resolution_need_the_right_people(
    session, acme_policy, story, people, now
) -> None:
    room = crisis.open_room(
        session,
        acme_policy,
        story="forum:1",
        topic="product:airfry_5",
        title="Melted basket",
        now=now,
        by=people["dan"].email,
    )
    with pytest.raises(PermissionDeniedError, match="Only pr"):
        crisis.set_room_status(session, room.id, CrisisStatus.ACTIVE, actor=people["dan"], now=now)
    crisis.set_room_status(session, room.id, CrisisStatus.ACTIVE, actor=people["omar"], now=now)

    contacted = room.checklist[3]
    crisis.answer_question(
        session, room.id, contacted.id, "Dan called Dave at 10:05", actor=people["dan"], now=now
    )
    assert (contacted.answer, contacted.answered_by) == (
        "Dan called Dave at 10:05",
        "dan.murphy@acme.example",
    )
    with pytest.raises(PermissionDeniedError):
        crisis.answer_question(session, room.id, contacted.id, "x", actor=people["ben"], now=now)

    with pytest.raises(InputError, match="post-mortem"):
        crisis.set_room_status(
            session,
            room.id,
            CrisisStatus.RESOLVED,
            actor=people["grace"],
            now=now,
            outcome="advocate",
        )
    with pytest.raises(InputError, match="detractor, neutral or advocate"):
        crisis.set_room_status(
            session,
            room.id,
            CrisisStatus.RESOLVED,
            actor=people["grace"],
            now=now,
            postmortem="QA missed a supplier change.",
        )
    crisis.set_room_status(
        session,
        room.id,
        CrisisStatus.RESOLVED,
        actor=people["grace"],
        now=now,
        postmortem="QA missed a supplier change.",
        outcome="advocate",
    )
    assert (room.status, room.outcome, room.resolved_at) == ("resolved", "advocate", now)
    with pytest.raises(ConflictError):
        crisis.set_room_status(
            session, room.id, CrisisStatus.ACTIVE, actor=people["grace"], now=now
        )
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "crisis"))
    assert list(actions) == [
        "crisis.opened",
        "crisis.status_changed",
        "crisis.answered",
        "crisis.status_changed",
    ]


def test_the_authors_journey_shows_stances_and_our_contact(
    session, acme_policy, story, make_item, people, now
) -> None:
    root = story[0]
    drafts.write_reply(
        session,
        acme_policy,
        root.id,
        OutboxKind.PRIVATE,
        "Can we call you?",
        actor=people["dan"],
        now=now,
    )
    make_item("ACME fixed it in a day, impressed", handle="@dave", sentiment_label="positive")

    journey = crisis.author_journey(session, "@dave")

    assert [(s.what, s.stance) for s in journey] == [
        ("post", "advocate"),  # make_item dates each new post a minute earlier
        ("post", "detractor"),
        ("contact", None),
    ]
    assert any(s.text == "Dan Murphy (logged): Can we call you?" for s in journey)


def test_a_room_opens_by_hand_only_once_per_story(session, acme_policy, story, now) -> None:
    crisis.open_room(
        session, acme_policy, story="forum:1", topic=None, title="t", now=now, by="someone"
    )
    with pytest.raises(ConflictError, match="already has an open crisis room"):
        crisis.open_room(
            session, acme_policy, story="forum:1", topic=None, title="t", now=now, by="someone"
        )
    assert crisis.root_of(session, story[1].post) == "forum:1"
