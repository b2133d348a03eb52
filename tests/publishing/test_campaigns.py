"""Campaigns: creating and changing them (slugs, owner department, permission, audit), spend,
their posts (UTM links, the paid rule) and the summary of the replies they drew."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from townhall.errors import ConductBlockedError, InputError, PermissionDeniedError
from townhall.models import AuditEvent, OutboxStatus, PostRecord
from townhall.publishing import campaigns, drafts

START = datetime.fromisoformat("2026-11-23T08:00:00+00:00")
END = START + timedelta(days=14)


@pytest.fixture
def maya(make_user):
    """Maya Patel, ACME's social media lead (campaigns everywhere)."""
    return make_user("maya.patel@acme.example", "marketing", "Maya Patel", "social_lead")


@pytest.fixture
def tom(make_user):
    """Tom Becker, a member of marketing (no campaigns right)."""
    return make_user("tom.becker@acme.example", "marketing", "Tom Becker")


def launch(session, policy, actor, now, **extra):
    values = {
        "name": "AirFry 5 launch",
        "starts_at": START,
        "ends_at": END,
        "channels": ["mastodon"],
        "budget_cents": 150_000,
        "category": "promotional",
        "objective": "Launch the AirFry 5",
        "target_metric": "replies",
        "target": 200,
    }
    values.update(extra)
    return campaigns.create(session, policy, actor=actor, now=now, **values)


def test_a_new_campaign_gets_a_slug_from_its_name_and_belongs_to_the_lead_of_campaigns(
    session, acme_policy, maya, now
) -> None:
    campaign = launch(session, acme_policy, maya, now, name="  AirFry 5 — Läunch!  ")
    assert campaign.slug == "airfry-5-launch"
    assert campaign.name == "AirFry 5 — Läunch!"
    assert campaign.department == acme_policy.leads("campaigns")[0] == "marketing"
    assert campaign.channels == ["mastodon"]
    event = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "campaign")).one()
    assert (event.action, event.subject_id, event.actor) == (
        "campaign.created",
        str(campaign.id),
        "maya.patel@acme.example",
    )


def test_a_slug_that_clashes_is_refused_naming_the_other_campaign(
    session, acme_policy, maya, now
) -> None:
    launch(session, acme_policy, maya, now)
    with pytest.raises(InputError, match=r"^slug: 'airfry-5-launch' is already .*AirFry 5 launch"):
        launch(session, acme_policy, maya, now, name="AirFry 5 Launch")
    other = launch(session, acme_policy, maya, now, name="AirFry 5 Launch", slug="airfry-5-b")
    assert other.slug == "airfry-5-b"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"ends_at": START}, "ends_at"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"name": "!!!"}, "slug"),
        ({"name": " "}, "name"),
        ({"department": "nowhere"}, "department"),
        ({"channels": ["myspace"]}, "channels"),
        ({"category": "spam"}, "category"),
        ({"currency": "euro"}, "currency"),
        ({"budget_cents": -1}, "budget"),
        ({"starts_at": datetime(2026, 11, 23, 8, 0)}, "starts_at"),
    ],
)
def test_a_value_that_will_not_do_is_refused_naming_its_field(
    session, acme_policy, maya, now, extra, field
) -> None:
    with pytest.raises(InputError, match=rf"^{field}: "):
        launch(session, acme_policy, maya, now, **extra)


def test_only_those_with_the_campaigns_right_on_the_department_manage_its_campaigns(
    session, acme_policy, maya, tom, now
) -> None:
    with pytest.raises(PermissionDeniedError, match="manage campaigns of Marketing"):
        launch(session, acme_policy, tom, now)
    campaign = launch(session, acme_policy, maya, now)
    with pytest.raises(PermissionDeniedError):
        campaigns.record_spend(
            session,
            acme_policy,
            campaign,
            amount_cents=100,
            spent_on=date(2026, 11, 24),
            actor=tom,
            now=now,
        )
    with pytest.raises(PermissionDeniedError):
        campaigns.archive(session, acme_policy, campaign, actor=tom, now=now)


def test_an_update_is_audited_with_what_changed(session, acme_policy, maya, now) -> None:
    campaign = launch(session, acme_policy, maya, now)
    fields = campaigns.CampaignFields(
        name="AirFry 5 launch",
        starts_at=START,
        ends_at=END + timedelta(days=7),
        slug="airfry-5-launch",
        channels=("mastodon",),
        budget_cents=200_000,
        category="promotional",
        objective="Launch the AirFry 5",
        target_metric="replies",
        target=200,
    )
    campaigns.update(session, acme_policy, campaign, fields, actor=maya, now=now)
    assert campaign.budget_cents == 200_000
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "campaign.updated")).one()
    assert set(event.details["changes"]) == {"ends_at", "budget_cents"}
    assert event.details["changes"]["budget_cents"] == [150_000, 200_000]
    # Saving the same values again records nothing.
    campaigns.update(session, acme_policy, campaign, fields, actor=maya, now=now)
    assert (
        len(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "campaign.updated")).all()
        )
        == 1
    )


def test_spend_is_positive_and_the_summary_flags_going_over_budget(
    session, acme_policy, maya, now
) -> None:
    campaign = launch(session, acme_policy, maya, now, budget_cents=10_000)
    with pytest.raises(InputError, match=r"^amount: "):
        campaigns.record_spend(
            session,
            acme_policy,
            campaign,
            amount_cents=0,
            spent_on=date(2026, 11, 24),
            actor=maya,
            now=now,
        )
    spend = campaigns.record_spend(
        session,
        acme_policy,
        campaign,
        amount_cents=7_500,
        spent_on=date(2026, 11, 24),
        note="Boosted launch post",
        actor=maya,
        now=now,
    )
    # The day, at midnight in the company's zone (Europe/London: UTC in November).
    assert campaigns.aware(spend.spent_on) == datetime.fromisoformat("2026-11-24T00:00:00+00:00")
    got = campaigns.summary(session, acme_policy, campaign, now)
    assert (got.spent_cents, got.remaining_cents, got.over_budget) == (7_500, 2_500, False)
    campaigns.record_spend(
        session,
        acme_policy,
        campaign,
        amount_cents=5_000,
        spent_on=date(2026, 11, 25),
        actor=maya,
        now=now,
    )
    got = campaigns.summary(session, acme_policy, campaign, now)
    assert (got.spent_cents, got.remaining_cents, got.over_budget) == (12_500, -2_500, True)
    assert got.spent_share == 1.0
    assert [s.amount_cents for s in campaigns.spend_of(session, campaign)] == [5_000, 7_500]


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("1500", 150_000), ("1,500.00", 150_000), (" 0.5 ", 50), ("12.34", 1_234)],
)
def test_money_is_read_as_a_decimal(typed: str, cents: int) -> None:
    assert campaigns.parse_money("budget", typed) == cents


@pytest.mark.parametrize("typed", ["abc", "-5", "1.005", "nan", "1e30", ""])
def test_money_that_is_not_an_amount_is_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(InputError, match=r"^budget: "):
        campaigns.parse_money("budget", typed)


def test_money_is_shown_with_its_currency() -> None:
    assert campaigns.format_money(150_000, "EUR") == "EUR 1,500.00"
    assert campaigns.format_money(5, "GBP") == "GBP 0.05"
    assert campaigns.format_money(-2_500, "EUR") == "-EUR 25.00"


def test_the_state_follows_the_dates(session, acme_policy, maya, now) -> None:
    campaign = launch(session, acme_policy, maya, now)
    assert campaigns.state_of(campaign, START - timedelta(seconds=1)) == "upcoming"
    assert campaigns.state_of(campaign, START) == "running"
    assert campaigns.state_of(campaign, END) == "ended"
    campaigns.archive(session, acme_policy, campaign, actor=maya, now=now)
    assert campaigns.state_of(campaign, START) == "archived"
    assert campaigns.list_campaigns(session) == []
    assert campaigns.list_campaigns(session, archived=True) == [campaign]


def test_open_campaigns_for_a_channel_are_running_or_upcoming_ones_on_it(
    session, acme_policy, maya, now
) -> None:
    on_mastodon = launch(session, acme_policy, maya, now)
    anywhere = launch(session, acme_policy, maya, now, name="Winter", slug="winter", channels=[])
    launch(session, acme_policy, maya, now, name="Bluesky only", channels=["bluesky"])
    launch(
        session,
        acme_policy,
        maya,
        now,
        name="Over",
        starts_at=now - timedelta(days=9),
        ends_at=now - timedelta(days=1),
    )
    assert campaigns.open_for(session, now, "mastodon") == [on_mastodon, anywhere]


def test_a_campaign_post_gets_utm_links_and_the_campaigns_category(
    session, acme_policy, maya, now
) -> None:
    campaign = launch(session, acme_policy, maya, now)
    post = drafts.create_draft(
        session,
        acme_policy,
        channel="mastodon",
        author=maya,
        now=now,
        text="The AirFry 5 is here: https://acme.example/airfry-5.",
        campaign_id=campaign.id,
    )
    assert post.text == (
        "The AirFry 5 is here: https://acme.example/airfry-5?utm_source=mastodon"
        "&utm_medium=social&utm_campaign=airfry-5-launch."
    )
    assert (post.category, post.campaign_id, post.paid) == ("promotional", campaign.id, False)
    assert campaigns.posts_of(session, campaign) == [post]
    if post.status == "draft":  # a revision's new links are tagged too
        revised = drafts.revise(
            session,
            acme_policy,
            post.id,
            "Now also https://acme.example/recipes",
            actor=maya,
            now=now,
        )
        assert revised.text == (
            "Now also https://acme.example/recipes?utm_source=mastodon&utm_medium=social"
            "&utm_campaign=airfry-5-launch"
        )


def test_a_paid_campaigns_post_needs_the_disclosure(session, acme_policy, maya, now) -> None:
    campaign = launch(session, acme_policy, maya, now, paid=True, name="Sponsored AirFry")
    with pytest.raises(ConductBlockedError, match="#ad"):
        drafts.create_draft(
            session,
            acme_policy,
            channel="mastodon",
            author=maya,
            now=now,
            text="Crispy chips in 12 minutes with the AirFry 5!",
            campaign_id=campaign.id,
        )
    post = drafts.create_draft(
        session,
        acme_policy,
        channel="mastodon",
        author=maya,
        now=now,
        text="Crispy chips in 12 minutes with the AirFry 5! #ad",
        campaign_id=campaign.id,
    )
    assert post.paid is True


def reply(session, now, n, to, sentiment):
    record = PostRecord(
        post_id=f"mastodon:reply-{n}",
        channel="mastodon",
        external_id=f"reply-{n}",
        created_at=now + timedelta(minutes=n),
        ingested_at=now + timedelta(minutes=n),
        text=f"Reply number {n}",
        author_handle=f"@fan{n}@example.social",
        reply_to=to,
        sentiment_label=sentiment,
    )
    session.add(record)
    session.flush()
    return record


def test_the_summary_counts_the_replies_published_posts_drew_and_their_sentiment(
    session, acme_policy, maya, now
) -> None:
    campaign = launch(session, acme_policy, maya, now)
    out = drafts.create_draft(
        session,
        acme_policy,
        channel="mastodon",
        author=maya,
        now=now,
        text="Meet the AirFry 5",
        campaign_id=campaign.id,
    )
    waiting = drafts.create_draft(
        session,
        acme_policy,
        channel="mastodon",
        author=maya,
        now=now,
        text="More about the AirFry 5 soon",
        campaign_id=campaign.id,
    )
    out.status, out.remote_id, out.published_at = OutboxStatus.PUBLISHED, "111", now
    waiting.status, waiting.remote_id = OutboxStatus.DRAFT, "222"  # not out: not counted
    session.flush()
    for n, sentiment in enumerate(["positive", "positive", "negative", "neutral", None]):
        reply(session, now, n, "mastodon:111", sentiment)
    reply(session, now, 9, "mastodon:222", "negative")
    reply(session, now, 10, "bluesky:111", "negative")  # the same number on another network
    got = campaigns.summary(session, acme_policy, campaign, now)
    assert got.replies == 5
    assert got.sentiment == {"positive": 2, "neutral": 1, "negative": 1}
    assert [r.post_id for r in got.latest_replies] == [
        f"mastodon:reply-{n}" for n in (4, 3, 2, 1, 0)
    ]
    assert got.posts == 2
    assert got.posts_by_state == {
        "published": 1,
        drafts.STATUS_LABELS[OutboxStatus(waiting.status)]: 1,
    }
