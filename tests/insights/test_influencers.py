"""Influencer figures on a fixed data set (ranks, filters, paging and new voices as the data
says, computed here by a plain reference), the profile, and audited changes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from factories import make_item, make_user
from townhall.cases import crisis
from townhall.errors import InputError, NotFoundError
from townhall.insights import influence
from townhall.insights import influencer_profile as profiles
from townhall.insights import influencers as service
from townhall.models import (
    AuditEvent,
    Campaign,
    Influencer,
    InfluencerNote,
    PostRecord,
    RelationshipStage,
    Role,
    User,
)
from townhall.org.policy import Policy

__all__ = ["make_item", "make_user"]

DAY = timedelta(days=1)
_serial = itertools.count(1)


@dataclass
class Spec:
    """One post of the fixed data set (``age`` in days before now; ``to`` the handle whose
    latest post it answers, ``how`` reply or reshare)."""

    handle: str
    age: float
    followers: int
    topics: list[str] = field(default_factory=lambda: ["product:airfry_5"])
    score: float | None = 0.0
    channel: str = "mastodon"
    verified: bool = False
    to: str | None = None
    how: str = "reply"
    name: str | None = None


DATA = [
    # Alice: three posts about us now (one answered twice, reshared once, and by herself).
    Spec("@alice@x.social", 40, 4_800, score=0.2),
    Spec("@r0@x.social", 39, 10, topics=[], to="@alice@x.social"),
    Spec("@alice@x.social", 20, 4_000, score=0.5),
    Spec("@alice@x.social", 10, 5_000, score=0.1),
    Spec("@alice@x.social", 5, 4_500, score=-0.3),
    Spec("@r1@x.social", 4, 10, topics=[], to="@alice@x.social"),
    Spec("@r2@x.social", 3, 12, topics=[], to="@alice@x.social"),
    Spec("@r3@x.social", 3, 15, topics=[], to="@alice@x.social", how="reshare"),
    Spec("@alice@x.social", 2, 4_500, topics=[], to="@alice@x.social"),
    # Bob doubled his followers; one angry post.
    Spec("@bob@x.social", 45, 10_000, topics=["brand:acme"], score=-0.2),
    Spec("@bob@x.social", 8, 20_000, topics=["brand:acme"], score=-0.8),
    # Carol is small but verified, and new.
    Spec("@carol@x.social", 6, 800, verified=True, score=0.9),
    Spec("@carol@x.social", 1, 800, verified=True, score=0.7),
    # Dave is below the minimum reach; Erin only talks about a competitor.
    Spec("@dave@x.social", 7, 900, score=0.4),
    Spec("@erin@x.social", 7, 50_000, topics=["competitor:fryco"], score=0.3),
    Spec("@erin@x.social", 9, 50_000, topics=["competitor:fryco"], score=0.3),
    # Fay, on Bluesky, steady; her post carries no sentiment score.
    Spec("@fay@x.social", 50, 3_000, channel="bluesky", score=None),
    Spec("@fay@x.social", 12, 3_000, channel="bluesky", score=None),
]


def store(session: Session, now: datetime, data: list[Spec]) -> dict[str, list[PostRecord]]:
    """The data set as stored posts, by handle (oldest first)."""
    by_handle: dict[str, list[PostRecord]] = {}
    for spec in sorted(data, key=lambda s: -s.age):
        n = next(_serial)
        target = by_handle[spec.to][-1].post_id if spec.to else None
        record = PostRecord(
            post_id=f"{spec.channel}:i{n}",
            channel=spec.channel,
            external_id=f"i{n}",
            created_at=now - spec.age * DAY,
            ingested_at=now,
            text=f"post {n}",
            author_handle=spec.handle,
            author_name=spec.name or spec.handle.split("@")[1].title(),
            author_followers=spec.followers,
            author_verified=spec.verified,
            reply_to=target if spec.how == "reply" else None,
            reshare_of=target if spec.how == "reshare" else None,
            media=[],
            extra={},
            sentiment_score=spec.score,
            topics=spec.topics,
        )
        session.add(record)
        by_handle.setdefault(spec.handle, []).append(record)
    session.flush()
    return by_handle


@dataclass
class Expected:
    reach: int
    posts: int
    engagement: int
    sentiment: float | None
    verified: bool


def reference(
    data: list[Spec], start: float, end: float, channel: str | None = None
) -> dict[str, Expected]:
    """The figures by the module's definitions, in plain Python (ages in days: start > end)."""

    def ours(spec: Spec) -> bool:
        return any(influence.is_our_topic(t) for t in spec.topics)

    def within(spec: Spec) -> bool:
        return end < spec.age <= start

    # Which post each response answers: the target's latest post older than the response.
    def answered(response: Spec) -> Spec:
        older = [s for s in data if s.handle == response.to and s.age > response.age]
        return min(older, key=lambda s: s.age)

    figures: dict[str, Expected] = {}
    for handle in {s.handle for s in data}:
        posts = [
            s
            for s in data
            if s.handle == handle and ours(s) and within(s) and channel in (None, s.channel)
        ]
        if not posts:
            continue
        drawn = [
            r
            for r in data
            if r.to == handle
            and r.handle != handle
            and within(r)
            and ours(answered(r))
            and channel in (None, answered(r).channel)
        ]
        scores = [s.score for s in posts if s.score is not None]
        figures[handle] = Expected(
            reach=max(s.followers for s in posts),
            posts=len(posts),
            engagement=len(posts) + len(drawn),
            sentiment=sum(scores) / len(scores) if scores else None,
            verified=any(s.verified for s in posts),
        )
    return figures


def ranked(figures: dict[str, Expected], key: str) -> list[str]:
    """Handles, largest first (no value last, ties by handle)."""

    def order(handle: str) -> tuple[bool, float, str]:
        value = getattr(figures[handle], key)
        return (value is None, -(value or 0), handle)

    return sorted(figures, key=order)


@pytest.fixture
def heard(session: Session, now: datetime) -> dict[str, list[PostRecord]]:
    return store(session, now, DATA)


@pytest.fixture
def maya(make_user: Callable[..., User]) -> User:
    return make_user("maya.patel@acme.example", department="marketing", role="social_lead")


def query(now: datetime, **more: Any) -> service.VoiceQuery:
    return service.VoiceQuery(start=now - 30 * DAY, end=now, **more)


def voices(figures: dict[str, Expected]) -> dict[str, Expected]:
    return {h: f for h, f in figures.items() if influence.is_voice(f.reach, f.verified)}


@pytest.mark.parametrize("sort", list(service.Sort))
def test_all_voices_rank_as_the_data_says(
    session: Session, now: datetime, heard: Any, sort: service.Sort
) -> None:
    expected = voices(reference(DATA, 30, 0))
    page = service.list_voices(session, query(now, sort=sort))
    assert [v.handle for v in page.voices] == ranked(expected, sort.value)
    assert page.total == len(expected)
    for voice in page.voices:
        want = expected[voice.handle]
        assert (voice.reach, voice.posts, voice.engagement) == (
            want.reach,
            want.posts,
            want.engagement,
        )
        assert voice.sentiment == pytest.approx(want.sentiment)
    # Below the minimum reach, and about a competitor only: not voices.
    assert "@dave@x.social" not in expected and "@erin@x.social" not in expected
    ascending = service.list_voices(session, query(now, sort=service.Sort.REACH, ascending=True))
    assert [v.handle for v in ascending.voices] == list(reversed(ranked(expected, "reach")))


def test_engagement_counts_responses_from_others_in_the_period(
    session: Session, now: datetime, heard: Any
) -> None:
    page = service.list_voices(session, query(now))
    alice = next(v for v in page.voices if v.handle == "@alice@x.social")
    # Two replies and a reshare by others; her own reply and the old reply do not count.
    assert (alice.posts, alice.drawn) == (3, 3)


def test_channel_filter(session: Session, now: datetime, heard: Any) -> None:
    expected = voices(reference(DATA, 30, 0, channel="bluesky"))
    page = service.list_voices(session, query(now, channel="bluesky"))
    assert [v.handle for v in page.voices] == ranked(expected, "reach") == ["@fay@x.social"]


def test_new_voices_are_those_whose_reach_or_engagement_rose(
    session: Session, now: datetime, heard: Any
) -> None:
    current, previous = reference(DATA, 30, 0), reference(DATA, 60, 30)
    none = Expected(0, 0, 0, None, False)
    expected = [
        handle
        for handle in ranked(current, "reach")
        if influence.is_new_voice(
            influence.Figures(current[handle].reach, current[handle].engagement),
            influence.Figures(
                previous.get(handle, none).reach, previous.get(handle, none).engagement
            ),
            current[handle].verified,
        )
    ]
    page = service.list_voices(session, query(now, tab=service.Tab.NEW))
    assert [v.handle for v in page.voices] == expected
    # Bob by reach, Alice by engagement, Carol as a verified author not heard before; Fay is
    # steady, so she is not new.
    assert set(expected) == {"@alice@x.social", "@bob@x.social", "@carol@x.social"}
    why = {v.handle: v.why_new for v in page.voices}
    assert why["@bob@x.social"] == "Followers 10,000 → 20,000"
    assert "engagement 2 → 6" in why["@alice@x.social"].lower()
    assert why["@carol@x.social"] == "Not heard in the previous period"


def test_pages(session: Session, now: datetime, heard: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(service, "PAGE_SIZE", 2)
    order = ranked(voices(reference(DATA, 30, 0)), "reach")
    first = service.list_voices(session, query(now))
    second = service.list_voices(session, query(now, page=2))
    assert (first.pages, first.total) == (2, len(order))
    assert [v.handle for v in first.voices + second.voices] == order
    beyond = service.list_voices(session, query(now, page=99))
    assert (beyond.page, [v.handle for v in beyond.voices]) == (2, order[2:])


def test_tracked_tab_and_stage_filter(
    session: Session, now: datetime, heard: Any, maya: User, acme_policy: Policy
) -> None:
    dave = service.track(session, acme_policy, "@dave@x.social", maya, now)
    alice = service.track(session, acme_policy, "@alice@x.social", maya, now)
    service.set_stage(session, alice, RelationshipStage.ENGAGED, maya, now)
    tracked = service.list_voices(session, query(now, tab=service.Tab.TRACKED))
    # Dave is below the minimum reach, but tracked people are always listed.
    assert [v.handle for v in tracked.voices] == ["@alice@x.social", "@dave@x.social"]
    assert [v.influencer_id for v in tracked.voices] == [alice.id, dave.id]
    engaged = service.list_voices(
        session, query(now, tab=service.Tab.TRACKED, stage=RelationshipStage.ENGAGED)
    )
    assert [v.handle for v in engaged.voices] == ["@alice@x.social"]
    voices_engaged = service.list_voices(session, query(now, stage=RelationshipStage.ENGAGED))
    assert [v.handle for v in voices_engaged.voices] == ["@alice@x.social"]
    assert voices_engaged.voices[0].stage is RelationshipStage.ENGAGED


def test_changes_are_audited(
    session: Session, now: datetime, heard: Any, maya: User, acme_policy: Policy
) -> None:
    campaign = Campaign(
        slug="airfry-5",
        name="AirFry 5 launch",
        department="marketing",
        starts_at=now,
        ends_at=now + 7 * DAY,
        created_by_id=maya.id,
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    who = service.track(session, acme_policy, "@bob@x.social", maya, now)
    assert (who.followers, who.owner_department, who.stage) == (
        20_000,
        "marketing",
        RelationshipStage.SPOTTED,
    )
    service.set_stage(session, who, RelationshipStage.CONTACTED, maya, now)
    service.add_note(session, who, "Wrote to him about the basket.", maya, now)
    service.set_campaigns(session, who, [campaign.id], maya, now)
    with pytest.raises(InputError):
        service.set_campaigns(session, who, [campaign.id + 1000], maya, now)
    with pytest.raises(InputError):
        service.add_note(session, who, "   ", maya, now)
    assert who.campaign_ids == [campaign.id]
    service.untrack(session, who, maya, now)
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_type == "influencer")
            .order_by(AuditEvent.id)
        )
    )
    assert [e.action for e in events] == [
        "influencer.tracked",
        "influencer.stage",
        "influencer.note",
        "influencer.campaigns",
        "influencer.untracked",
    ]
    assert {e.actor for e in events} == {maya.email}
    assert events[1].details["after"] == "contacted"
    assert session.scalar(select(Influencer).where(Influencer.handle == "@bob@x.social")) is None
    assert session.scalars(select(InfluencerNote)).all() == []


def test_tracking_someone_never_heard_is_refused(
    session: Session, now: datetime, maya: User, acme_policy: Policy
) -> None:
    with pytest.raises(NotFoundError):
        service.track(session, acme_policy, "@nobody@x.social", maya, now)


def test_who_may_edit(acme_policy: Policy) -> None:
    policy = acme_policy
    from townhall.org.permissions import Actor

    def can_for(department: str, role: str) -> bool:
        actor = Actor(department, role)
        return service.may_edit(
            policy,
            lambda action, scope: policy.permissions.can(actor, action, scope),
            role,
        )

    assert can_for("marketing", Role.MEMBER)
    assert can_for("pr", "communications")
    assert can_for("it", Role.ADMIN)
    assert not can_for("customer_service", Role.MEMBER)
    assert not can_for("sales", Role.MEMBER)


def test_profile(
    session: Session,
    now: datetime,
    heard: dict[str, list[PostRecord]],
    acme_policy: Policy,
    make_item: Callable[..., Any],
) -> None:
    item = make_item(
        "My AirFry 5 basket cracked",
        handle="@alice@x.social",
        topics=["product:airfry_5"],
        sentiment_score=-0.6,
        author_followers=10,  # fewer than her other posts' (the factory's default grows)
    )
    room = crisis.open_room(
        session,
        acme_policy,
        story=item.post.post_id,
        topic="product:airfry_5",
        title="Baskets",
        now=now,
        by="system",
    )
    found = profiles.profile(session, "@alice@x.social", now)
    assert found is not None
    posts = heard["@alice@x.social"]
    assert found.posts_total == len(posts) + 1
    assert found.reach == max(p.author_followers for p in posts)
    newest_first = sorted([*posts, item.post], key=lambda p: p.created_at, reverse=True)
    assert [h.post.post_id for h in found.posts] == [p.post_id for p in newest_first]
    assert [h.item_id for h in found.posts if h.item_id] == [item.id]
    assert [c.id for c in found.crises] == [room.id]
    about_us = [p for p in posts if p.topics] + [item.post]
    assert found.topics == [("product:airfry_5", len(about_us))]
    weeks = {w.starts: w for w in found.weeks if w.posts}
    assert sum(w.posts for w in weeks.values()) == len(about_us)
    start = influence.week_start(now) - (profiles.PROFILE_WEEKS - 1) * influence.WEEK
    for week in weeks.values():
        inside = [
            p.sentiment_score
            for p in about_us
            if week.starts <= p.created_at < week.starts + influence.WEEK
            and p.sentiment_score is not None
        ]
        assert week.mean == pytest.approx(sum(inside) / len(inside))
        assert week.starts >= start and week.starts.weekday() == 0
    assert profiles.profile(session, "@nobody@x.social", now) is None


def test_weekly_sentiment_buckets(now: datetime) -> None:
    start = now - 2 * influence.WEEK
    scores = [
        (start + timedelta(hours=1), 0.5),
        (start + timedelta(days=6), -0.1),
        (start + timedelta(days=8), None),
        (start - timedelta(days=1), 1.0),  # before the window
    ]
    weeks = influence.weekly_sentiment(scores, start, 2)
    assert [(w.starts, w.posts) for w in weeks] == [(start + influence.WEEK, 1), (start, 2)]
    assert weeks[0].mean is None
    assert weeks[1].mean == pytest.approx(0.2)


def test_weeks_start_on_monday(now: datetime) -> None:
    monday = influence.week_start(now)  # now is Friday 20 Nov 2026, 14:00 UTC
    assert monday == datetime(2026, 11, 16, tzinfo=now.tzinfo)
    assert influence.week_start(monday) == monday
