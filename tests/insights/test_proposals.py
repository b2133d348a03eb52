"""Cards Townhall proposes: each pattern fires exactly at its threshold and not below, over
fixed counts; over a fixed data set in the database the right cards are proposed, once."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.insights import card_patterns, cards, proposals
from townhall.insights.card_patterns import (
    CAMPAIGN_FACTOR,
    CAMPAIGN_MIN_POSTS,
    COUNTRY_GAIN,
    COUNTRY_MIN_POSTS,
    NEGATIVE_JUMP,
    NEGATIVE_MIN_POSTS,
)
from townhall.insights.card_queries import OurPost, TopicCounts
from townhall.models import (
    AuditEvent,
    Campaign,
    CardStatus,
    InsightCard,
    OutboxKind,
    OutboxPost,
    OutboxStatus,
    PostRecord,
    Role,
    User,
)
from townhall.org.accounts import upsert_user
from townhall.org.policy import Policy

_serial = itertools.count(1)


# -- the pure patterns, at their thresholds ---------------------------------------------------
def _country_counts(us: int, others: int) -> dict[tuple[str, str], int]:
    return {("mastodon", "US"): us, ("mastodon", "GB"): others}


@pytest.mark.parametrize("gain_points", [10, 9])
def test_a_country_fires_from_a_gain_of_ten_points(gain_points: int) -> None:
    before = _country_counts(21, 79)  # 21% of 100
    now = _country_counts(21 + gain_points, 100 - 21 - gain_points)
    found = card_patterns.country_shifts(now, before)
    gained = Fraction(21 + gain_points, 100) - Fraction(21, 100)
    assert bool(found) == (gained >= COUNTRY_GAIN)
    if found:
        [shift] = found
        assert (shift.country, shift.posts, shift.total) == ("US", 21 + gain_points, 100)
        assert shift.share_before == Fraction(21, 100)


@pytest.mark.parametrize("posts", [COUNTRY_MIN_POSTS, COUNTRY_MIN_POSTS - 1])
def test_a_country_needs_enough_posts(posts: int) -> None:
    before = _country_counts(1, 99)
    now = _country_counts(posts, posts)  # half of the channel: far past the gain
    found = card_patterns.country_shifts(now, before)
    assert [s.country for s in found] == (["US"] if posts >= COUNTRY_MIN_POSTS else [])


def test_a_channel_heard_for_the_first_time_proposes_nothing() -> None:
    assert card_patterns.country_shifts(_country_counts(50, 50), {}) == []


@pytest.mark.parametrize("negative", [7, 6])
def test_a_topic_fires_from_a_jump_of_fifteen_points(negative: int) -> None:
    before = {"product:airfry_5": TopicCounts(negative=4, total=20)}  # 20%
    now = {"product:airfry_5": TopicCounts(negative=negative, total=20)}
    found = card_patterns.negative_jumps(now, before)
    jumped = Fraction(negative, 20) - Fraction(4, 20)
    assert bool(found) == (jumped >= NEGATIVE_JUMP)


@pytest.mark.parametrize("total", [NEGATIVE_MIN_POSTS, NEGATIVE_MIN_POSTS - 1])
def test_a_topic_needs_enough_posts(total: int) -> None:
    before = {"brand:acme": TopicCounts(negative=0, total=10)}
    now = {"brand:acme": TopicCounts(negative=total, total=total)}  # all negative
    found = card_patterns.negative_jumps(now, before)
    assert [j.topic for j in found] == (["brand:acme"] if total >= NEGATIVE_MIN_POSTS else [])


def _posts(campaign: int | None, replies: list[int]) -> list[OurPost]:
    return [OurPost(next(_serial), campaign, r) for r in replies]


@pytest.mark.parametrize("third_post_replies", [3, 2])
def test_a_campaign_fires_from_one_and_a_half_times_the_replies(third_post_replies: int) -> None:
    others = _posts(None, [2, 2, 2, 2])  # 2 replies per post
    ours = _posts(7, [3, 3, third_post_replies])
    found = card_patterns.outperformers(others + ours)
    rate = Fraction(6 + third_post_replies, 3)
    assert bool(found) == (rate >= CAMPAIGN_FACTOR * 2)
    if found:
        [best] = found
        assert (best.campaign_id, best.posts, best.other_posts) == (7, 3, 4)
        assert best.other_rate == 2


def test_a_campaign_needs_enough_posts_on_both_sides() -> None:
    few = _posts(7, [9] * (CAMPAIGN_MIN_POSTS - 1))
    assert card_patterns.outperformers(_posts(None, [1, 1, 1]) + few) == []
    enough = _posts(7, [9] * CAMPAIGN_MIN_POSTS)
    assert card_patterns.outperformers(_posts(None, [1] * (CAMPAIGN_MIN_POSTS - 1)) + enough) == []
    assert [b.campaign_id for b in card_patterns.outperformers(_posts(None, [1] * 3) + enough)] == [
        7
    ]


def test_country_names_read_as_people_say_them() -> None:
    assert proposals.country_name("US") == "United States"
    assert proposals.country_name("fr") == "France"
    assert proposals.country_name("ZZ") == "ZZ"


def test_the_periods_are_the_last_seven_days_and_the_seven_before(now: datetime) -> None:
    found = card_patterns.periods(now)
    assert found.end - found.start == found.start - found.before == timedelta(days=7)
    assert found.end == now
    assert found.label == f"{now.isocalendar()[0]}-W{now.isocalendar()[1]:02d}"


# -- over the database ------------------------------------------------------------------------
def _post(session: Session, at: datetime, **fields: object) -> PostRecord:
    n = next(_serial)
    values: dict[str, object] = {
        "post_id": f"mastodon:p{n}",
        "channel": "mastodon",
        "external_id": f"p{n}",
        "created_at": at,
        "ingested_at": at,
        "text": f"post {n}",
        "author_handle": f"@a{n}@example.social",
        "media": [],
        "extra": {},
        "topics": [],
    }
    values.update(fields)
    record = PostRecord(**values)
    session.add(record)
    return record


def _audience(session: Session, now: datetime) -> None:
    """Mastodon: the United States were 21 of 100 located posts, now 38 of 100 (and ten posts
    with no country, which do not count)."""
    before, lately = now - timedelta(days=8), now - timedelta(days=1)
    for country, count in [("US", 21), ("GB", 79)]:
        for _ in range(count):
            _post(session, before, country=country)
    for country, count in [("US", 38), ("GB", 62), (None, 10)]:
        for _ in range(count):
            _post(session, lately, country=country)


def _complaints(session: Session, now: datetime) -> None:
    """The AirFry 5: 2 of 20 posts negative, now 8 of 25 (5 of them also about ACME)."""
    before, lately = now - timedelta(days=8), now - timedelta(days=1)
    for i in range(20):
        label = "negative" if i < 2 else "neutral"
        _post(session, before, topics=["product:airfry_5"], sentiment_label=label)
    for i in range(20):
        label = "negative" if i < 8 else "positive"
        _post(session, lately, topics=["product:airfry_5"], sentiment_label=label)
    for _ in range(5):
        _post(session, lately, topics=["brand:acme", "product:airfry_5"], sentiment_label="neutral")


def _campaign(session: Session, now: datetime, name: str = "AirFry 5 launch") -> Campaign:
    """A campaign's 3 posts drew 3 replies each; our 3 other posts 1 each; a reply of ours
    drew 10 (replies to people are not posts of ours and are left out)."""
    author = upsert_user(
        session,
        email="maya@acme.example",
        name="Maya Patel",
        department="marketing",
        role=Role.MEMBER,
        password="secret",
        now=now,
    )
    campaign = Campaign(
        slug="airfry-5-launch",
        name=name,
        department="marketing",
        starts_at=now - timedelta(days=10),
        ends_at=now + timedelta(days=10),
        created_by_id=author.id,
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    published = now - timedelta(days=2)
    for campaign_id, kind, replies in [
        *[(campaign.id, OutboxKind.POST, 3)] * 3,
        *[(None, OutboxKind.POST, 1)] * 3,
        (None, OutboxKind.REPLY, 10),
    ]:
        _outbox(session, author, published, campaign_id, kind, replies)
    return campaign


def _outbox(
    session: Session,
    author: User,
    at: datetime,
    campaign_id: int | None,
    kind: OutboxKind,
    replies: int,
) -> None:
    n = next(_serial)
    session.add(
        OutboxPost(
            channel="mastodon",
            kind=kind,
            text=f"our post {n}",
            department="marketing",
            status=OutboxStatus.PUBLISHED,
            key=f"k{n}",
            author_id=author.id,
            remote_id=f"r{n}",
            published_at=at,
            campaign_id=campaign_id,
            created_at=at,
            updated_at=at,
        )
    )
    for _ in range(replies):
        _post(session, at + timedelta(hours=1), reply_to=f"mastodon:r{n}")


def _proposed(session: Session, kind: str) -> list[InsightCard]:
    return list(session.scalars(select(InsightCard).where(InsightCard.kind == kind)))


def test_a_country_whose_share_grew_is_proposed_once(
    session: Session, acme_policy: Policy, now: datetime
) -> None:
    _audience(session, now)
    made = proposals.propose(session, acme_policy, now)
    [card] = [c for c in made if c.kind == "audience_country"]
    assert card.title == "38% of our Mastodon audience is in the United States (up from 21%)"
    assert card.status == CardStatus.PROPOSED and card.created_by_id is None
    assert card.from_department == acme_policy.leads("platform_pages")[0]
    expected_for = acme_policy.leads("email_programmes") + [
        d for d in acme_policy.leads("campaigns") if d not in acme_policy.leads("email_programmes")
    ]
    assert card.for_departments == expected_for
    assert cards.figures_of(card)[0] == cards.Figure(
        "Mastodon posts from United States, last 7 days", "38"
    )
    assert card.link is not None and card.link.startswith("/insights?")
    assert "channel=mastodon" in card.link
    assert card.fingerprint == f"audience_country:mastodon/US:{card_patterns.periods(now).label}"
    event = session.scalar(
        select(AuditEvent).where(
            AuditEvent.subject_type == "card", AuditEvent.action == "card.propose"
        )
    )
    assert event is not None and event.subject_id == str(card.id)

    assert proposals.propose(session, acme_policy, now + timedelta(hours=1)) == []
    assert len(_proposed(session, "audience_country")) == 1


def test_a_topic_whose_negative_share_jumped_is_proposed_for_pr_and_qa(
    session: Session, acme_policy: Policy, now: datetime
) -> None:
    _complaints(session, now)
    made = proposals.propose(session, acme_policy, now)
    assert [c.kind for c in made] == ["negative_topic"]  # ACME's 5 posts are too few
    [card] = made
    before, lately = Fraction(2, 20), Fraction(8, 25)
    assert card.title == (
        f"Negative posts about ACME AirFry 5 jumped to {card_patterns.percent(lately)}% "
        f"(from {card_patterns.percent(before)}%)"
    )
    assert card.from_department == acme_policy.leads("customer_issues")[0]
    qa = next(p.qa_owner for p in acme_policy.brand.products if p.id == "airfry_5")
    assert card.for_departments == [*acme_policy.leads("crisis_management"), qa]
    assert cards.figures_of(card)[0].value == "25"


def test_a_campaign_that_outperformed_is_proposed_from_its_department(
    session: Session, acme_policy: Policy, now: datetime
) -> None:
    campaign = _campaign(session, now)
    made = proposals.propose(session, acme_policy, now)
    [card] = made
    assert card.kind == "campaign_outperformed"
    assert card.title == "AirFry 5 launch drew 3.0 replies per post, 3.0× our other posts"
    assert card.from_department == campaign.department
    assert card.link == f"/campaigns/{campaign.id}"
    assert proposals.propose(session, acme_policy, now) == []


def test_below_the_thresholds_nothing_is_proposed(
    session: Session, acme_policy: Policy, now: datetime
) -> None:
    before, lately = now - timedelta(days=8), now - timedelta(days=1)
    for country, count in [("US", 21), ("GB", 79)]:
        for _ in range(count):
            _post(session, before, country=country)
    for country, count in [("US", 30), ("GB", 70)]:  # 9 points up
        for _ in range(count):
            _post(session, lately, country=country)
    for i in range(20):
        # 20% → 30% negative: ten points, below the jump
        was, now_is = ("negative" if i < 4 else "neutral"), ("negative" if i < 6 else "neutral")
        _post(session, before, topics=["product:kettleone"], sentiment_label=was)
        _post(session, lately, topics=["product:kettleone"], sentiment_label=now_is)
    assert proposals.propose(session, acme_policy, now) == []


def test_a_dismissed_proposal_is_not_proposed_again_that_week(
    session: Session, acme_policy: Policy, now: datetime
) -> None:
    _complaints(session, now)
    [card] = proposals.propose(session, acme_policy, now)
    dan = upsert_user(
        session,
        email="dan@acme.example",
        name="Dan Murphy",
        department=card.from_department,
        role=Role.MEMBER,
        password="secret",
        now=now,
    )
    cards.dismiss(session, acme_policy, card, actor=dan, now=now)
    assert proposals.propose(session, acme_policy, now + timedelta(hours=3)) == []


def test_the_hourly_pass_proposes_once_an_hour(
    session: Session, acme_policy: Policy, now: datetime
) -> None:
    hourly = proposals.HourlyProposals()
    assert hourly.run(session, acme_policy, now) == []
    _complaints(session, now)
    assert hourly.run(session, acme_policy, now + timedelta(minutes=1)) == []  # same hour
    [card] = hourly.run(session, acme_policy, now + timedelta(hours=1))
    assert card.kind == "negative_topic"
