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
    details = {"forecast": {"predicted_final": 80.0, "lo": 20.0, "hi": 300.0, "p_viral": 0.6}}
    if "stories" in kw:
        details["stories"] = kw.pop("stories")
    return Alert(
        at=datetime(2026, 11, 20, 9, 45, tzinfo=UTC),
        kind=kind,  # type: ignore[arg-type]
        topic=kw.pop("topic", "product:airfry_5"),
        severity=severity,  # type: ignore[arg-type]
        post_ids=kw.pop("post_ids", (story_id,)),
        why="4 of 7 posts negative",
        story=story_id,
        score=0.42,
        details=details,
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


def test_an_incident_alert_brings_its_threads_from_other_channels_into_one_room(
    session, acme_policy, story, make_item, now
) -> None:
    dutch = make_item("Smeltende mandjes bij de ACME AirFry 5?", channel="bluesky")
    dutch_reply = make_item("Die van mij ook", channel="bluesky", reply_to=dutch.post.post_id)
    news = make_item("Melting baskets: what's going on?", channel="rss", post_id="rss:article")
    incident = [dutch.post.post_id]
    crisis.record_alerts(session, acme_policy, [alert(stories=["forum:1", *incident])], now)

    [room] = crisis.open_rooms(session)
    assert room.story == "forum:1" and room.related == incident
    assert dutch.crisis_id == room.id and dutch_reply.crisis_id == room.id
    assert news.crisis_id is None
    # The news article joins the incident later: a higher-severity alert lists it.
    later = alert(severity="warning", stories=["forum:1", *incident, "rss:article"])
    [row] = crisis.record_alerts(session, acme_policy, [later], now)
    assert row.crisis_id == room.id and len(crisis.open_rooms(session)) == 1
    assert room.related == [*incident, "rss:article"] and news.crisis_id == room.id
    joined = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "crisis.story_joined")
    ).all()
    assert len(joined) == 1 and "rss:article" in joined[0].why  # the others came at opening
    # A viral_post alert about the incident lands in the same room; it opens none of its own.
    [viral] = crisis.record_alerts(
        session, acme_policy, [alert(dutch.post.post_id, kind="viral_post", stories=incident)], now
    )
    assert viral.crisis_id == room.id and len(crisis.open_rooms(session)) == 1


def test_the_timeline_shows_posts_put_in_the_room_from_outside_its_threads(
    session, acme_policy, story, make_item, now
) -> None:
    crisis.record_alerts(session, acme_policy, [alert()], now)
    [room] = crisis.open_rooms(session)
    other = make_item("Des paniers d'AirFry 5 qui fondent ?", channel="mastodon")
    assert other.post.post_id not in {p.post_id for p in crisis.room_posts(session, room)}
    crisis.attach_items(session, room.id, [other.post_pk])  # what the pipeline does
    assert other.post.post_id in {p.post_id for p in crisis.room_posts(session, room)}


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
