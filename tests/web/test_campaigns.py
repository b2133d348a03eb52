"""The Campaigns pages and the composer's campaign parts: create, edit and record spend (with
the right, and refused without it), the campaign page's timeline, budget and replies, the
composer's prefill, tagged-link preview, the paid rule and the frequency caps."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from townhall.db import session_factory, transaction
from townhall.models import (
    AuditEvent,
    Campaign,
    OutboxPost,
    OutboxStatus,
    PlannedEntry,
    PlannedKind,
    PostRecord,
    Role,
    User,
)
from townhall.org.accounts import upsert_user
from web.conftest import PASSWORD

MAYA = "maya.patel@acme.example"
TOM = "tom.becker@acme.example"
UTM = "utm_source=mastodon&amp;utm_medium=social&amp;utm_campaign=airfry-5-launch"


@pytest.fixture
def marketing(site: Any) -> None:
    """Maya Patel (social media lead: campaigns everywhere) and Tom Becker (a member)."""
    with transaction(session_factory(site.engine)) as session:
        for email, name, role in [
            (MAYA, "Maya Patel", "social_lead"),
            (TOM, "Tom Becker", Role.MEMBER),
        ]:
            upsert_user(
                session,
                email=email,
                name=name,
                department="marketing",
                role=role,
                password=PASSWORD,
                now=datetime.now(UTC),
            )


def login(site: Any, client: httpx.Client, email: str) -> httpx.Client:
    assert site.login(client, email).status_code == 303
    return client


def new_campaign(site: Any, client: httpx.Client, **values: str) -> httpx.Response:
    token = site.csrf_of(client.get("/campaigns/new").text)
    data = {
        "name": "AirFry 5 launch",
        "department": "marketing",
        "objective": "Launch the AirFry 5 on social",
        "target_metric": "replies",
        "target": "200",
        "channels": "mastodon",
        "start": "2026-11-23T09:00",
        "end": "2026-12-07T18:00",
        "budget": "1,500.00",
        "currency": "EUR",
        "category": "promotional",
        "csrf_token": token,
    }
    data.update(values)
    return client.post("/campaigns/new", data=data)


def campaign_id(site: Any, slug: str = "airfry-5-launch") -> int:
    with session_factory(site.engine)() as session:
        found = session.scalar(select(Campaign.id).where(Campaign.slug == slug))
        assert found is not None
        return found


def test_a_social_lead_creates_a_campaign_and_sees_it_listed(
    site: Any, client: httpx.Client, marketing: None
) -> None:
    login(site, client, MAYA)
    made = new_campaign(
        site, client, name="AirFry 5 launch <script>alert(1)</script>", slug="airfry-5-launch"
    )
    assert made.status_code == 303, made.text
    page = client.get(made.headers["location"])
    assert page.status_code == 200
    assert "AirFry 5 launch &lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    assert "Launch the AirFry 5 on social" in page.text and "replies: 200" in page.text
    assert "Upcoming" in page.text and "Marketing" in page.text
    # Typed in Maya's zone (Europe/London: UTC in November), shown the same way.
    assert "Mon 23 Nov 2026, 09:00" in page.text and "(Europe/London)" in page.text
    assert 'href="/compose?campaign=' in page.text
    listing = client.get("/campaigns").text
    assert 'id="campaign-' in listing and "EUR 0.00 of EUR 1,500.00" in listing
    with session_factory(site.engine)() as session:
        campaign = session.scalars(select(Campaign)).one()
        assert campaign.starts_at.replace(tzinfo=UTC) == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        assert (campaign.budget_cents, campaign.channels) == (150_000, ["mastodon"])
        assert (
            session.scalar(select(AuditEvent.action).where(AuditEvent.subject_type == "campaign"))
            == "campaign.created"
        )


def test_a_form_that_will_not_do_comes_back_with_its_values_and_the_reason(
    site: Any, client: httpx.Client, marketing: None
) -> None:
    login(site, client, MAYA)
    refused = new_campaign(site, client, end="2026-11-01T09:00", name="Backwards <b>")
    assert refused.status_code == 422
    assert "ends_at: a campaign ends after it starts." in refused.text
    assert 'value="Backwards &lt;b&gt;"' in refused.text
    money = new_campaign(site, client, budget="lots")
    assert money.status_code == 422 and "budget: not an amount" in money.text
    with session_factory(site.engine)() as session:
        assert session.scalars(select(Campaign)).all() == []


def test_editing_changes_the_campaign(site: Any, client: httpx.Client, marketing: None) -> None:
    login(site, client, MAYA)
    assert new_campaign(site, client).status_code == 303
    number = campaign_id(site)
    form = client.get(f"/campaigns/{number}/edit")
    assert form.status_code == 200 and 'value="2026-11-23T09:00"' in form.text
    token = site.csrf_of(form.text)
    saved = client.post(
        f"/campaigns/{number}/edit",
        data={
            "name": "AirFry 5 launch",
            "slug": "airfry-5-launch",
            "department": "marketing",
            "start": "2026-11-23T09:00",
            "end": "2026-12-14T18:00",
            "budget": "2000",
            "currency": "EUR",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 303
    with session_factory(site.engine)() as session:
        campaign = session.get(Campaign, number)
        assert campaign is not None
        assert (campaign.budget_cents, campaign.channels, campaign.category) == (200_000, [], None)


def test_without_the_campaigns_right_one_sees_but_does_not_manage(
    site: Any, client: httpx.Client, marketing: None
) -> None:
    login(site, client, MAYA)
    assert new_campaign(site, client).status_code == 303
    number = campaign_id(site)
    token = site.csrf_of(client.get(f"/campaigns/{number}").text)
    client.post("/logout", data={"csrf_token": token})
    client.cookies.clear()
    login(site, client, TOM)
    page = client.get(f"/campaigns/{number}")
    assert page.status_code == 200 and 'id="spend-form"' not in page.text
    assert client.get("/campaigns/new").status_code == 403
    assert client.get(f"/campaigns/{number}/edit").status_code == 403
    token = site.csrf_of(client.get("/compose").text)
    spend = client.post(
        f"/campaigns/{number}/spend",
        data={"amount": "10", "on": "2026-11-24", "csrf_token": token},
    )
    assert spend.status_code == 403
    assert "You may not manage campaigns of Marketing" in spend.text


def test_spend_is_recorded_and_shown_against_the_budget(
    site: Any, client: httpx.Client, marketing: None
) -> None:
    login(site, client, MAYA)
    assert new_campaign(site, client).status_code == 303
    number = campaign_id(site)
    token = site.csrf_of(client.get(f"/campaigns/{number}").text)
    bad = client.post(
        f"/campaigns/{number}/spend", data={"amount": "-5", "on": "2026-11-24", "csrf_token": token}
    )
    assert bad.status_code == 422 and "amount: an amount of zero or more" in bad.text
    done = client.post(
        f"/campaigns/{number}/spend",
        data={"amount": "375.00", "on": "2026-11-24", "note": "Boost <i>", "csrf_token": token},
    )
    assert done.status_code == 303
    page = client.get(f"/campaigns/{number}").text
    assert 'value="25"' in page and "EUR 375.00 of EUR 1,500.00" in page
    assert "remaining EUR 1,125.00" in page and "Boost &lt;i&gt;" in page
    assert "2026-11-24" in page and "Maya Patel" in page


def test_the_campaign_page_shows_its_posts_and_the_replies_they_drew(
    site: Any, client: httpx.Client, marketing: None
) -> None:
    login(site, client, MAYA)
    assert new_campaign(site, client).status_code == 303
    number = campaign_id(site)
    token = site.csrf_of(client.get("/compose").text)
    saved = client.post(
        "/compose",
        data={
            "channel": "mastodon",
            "text": "Meet the AirFry 5: https://acme.example/airfry-5",
            "at": "2026-11-24T10:00",
            "campaign": str(number),
            "csrf_token": token,
        },
    )
    assert saved.status_code == 303, saved.text
    with transaction(session_factory(site.engine)) as session:
        post = session.scalars(select(OutboxPost)).one()
        post.status, post.remote_id = OutboxStatus.PUBLISHED, "9001"
        post.published_at = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
        post_id = post.id
    site.feed(
        site.post("Love the new AirFry, great work!", reply_to="mastodon:9001"),
        site.post("Ordered one <b>today</b>", reply_to="mastodon:9001"),
    )
    page = client.get(f"/campaigns/{number}").text
    assert f'href="/drafts/{post_id}"' in page and "published" in page
    assert "Tue 24 Nov 2026, 10:00" in page
    assert "Replies drawn (2)" in page and "Ordered one &lt;b&gt;today&lt;/b&gt;" in page
    with session_factory(site.engine)() as session:
        labels = session.scalars(select(PostRecord.sentiment_label)).all()
    positive = sum(1 for label in labels if label == "positive")
    assert f"Positive: <strong>{positive}</strong>" in page


def test_the_composer_prefills_from_the_query_and_tags_the_links_it_will_send(
    site: Any, client: httpx.Client, marketing: None
) -> None:
    login(site, client, MAYA)
    assert new_campaign(site, client).status_code == 303
    number = campaign_id(site)
    page = client.get(
        f"/compose?at=2026-11-24T10:00&channel=mastodon&category=promotional&campaign={number}"
    )
    assert page.status_code == 200
    assert 'value="2026-11-24T10:00"' in page.text
    assert re.search(rf'<option value="{number}" selected>AirFry 5 launch</option>', page.text)
    assert '<option value="promotional" selected>Promotional</option>' in page.text
    odd = client.get("/compose?at=someday&category=nope")
    assert odd.status_code == 200 and "category: there is no category" in odd.text
    token = site.csrf_of(page.text)
    preview = client.post(
        "/campaigns/links",
        data={
            "text": "See https://acme.example/airfry-5.",
            "channel": "mastodon",
            "campaign": str(number),
        },
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert preview.status_code == 200
    assert "Links will be tagged:" in preview.text
    assert f"https://acme.example/airfry-5?{UTM}</code>" in preview.text
    options = client.get("/campaigns/options?channel=bluesky")
    assert (
        "AirFry 5 launch" not in options.text and '<option value="">None</option>' in options.text
    )
    saved = client.post(
        "/compose",
        data={
            "channel": "mastodon",
            "text": "See https://acme.example/airfry-5.",
            "at": "2026-11-24T10:00",
            "campaign": str(number),
            "category": "promotional",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 303
    draft = client.get(saved.headers["location"]).text
    # The text that gets approved is the text that goes out.
    assert f"https://acme.example/airfry-5?{UTM}." in draft
    assert f'href="/campaigns/{number}"' in draft and "Promotional" in draft


def test_a_campaign_that_does_not_run_on_the_channel_is_refused(
    site: Any, client: httpx.Client, marketing: None
) -> None:
    login(site, client, MAYA)
    assert new_campaign(site, client).status_code == 303
    token = site.csrf_of(client.get("/compose").text)
    refused = client.post(
        "/compose",
        data={
            "channel": "bluesky",
            "text": "Hello",
            "campaign": str(campaign_id(site)),
            "csrf_token": token,
        },
    )
    assert (
        refused.status_code == 422 and "campaign: AirFry 5 launch runs on mastodon" in refused.text
    )


def test_a_paid_campaigns_post_without_the_disclosure_is_blocked(
    site: Any, client: httpx.Client, marketing: None
) -> None:
    login(site, client, MAYA)
    assert new_campaign(site, client, paid="on").status_code == 303
    number = campaign_id(site)
    token = site.csrf_of(client.get("/compose").text)
    data = {"channel": "mastodon", "campaign": str(number), "csrf_token": token}
    blocked = client.post("/compose", data={**data, "text": "Crispy chips in 12 minutes!"})
    assert blocked.status_code == 422 and "#ad" in blocked.text
    passed = client.post("/compose", data={**data, "text": "Crispy chips in 12 minutes! #ad"})
    assert passed.status_code == 303
    with session_factory(site.engine)() as session:
        post = session.scalars(select(OutboxPost)).one()
        assert post.paid is True


def test_a_blocking_cap_refuses_the_slot_and_offers_the_next_free_one(
    site: Any, client: httpx.Client, marketing: None
) -> None:
    # ACME: at least 3 hours between promotional posts on a channel (a blocking cap).
    login(site, client, MAYA)
    token = site.csrf_of(client.get("/compose").text)
    data = {"channel": "mastodon", "category": "promotional", "csrf_token": token}
    first = client.post(
        "/compose", data={**data, "text": "AirFry 5 morning", "at": "2026-11-24T10:00"}
    )
    assert first.status_code == 303
    refused = client.post(
        "/compose", data={**data, "text": "AirFry 5 <again>", "at": "2026-11-24T11:00"}
    )
    assert refused.status_code == 409
    assert "At least 3 hours between promotional posts" in refused.text
    assert ">AirFry 5 &lt;again&gt;</textarea>" in refused.text
    button = re.search(
        r'<button[^>]*name="next_free" value="([^"]+)"[^>]*>([^<]+)</button>', refused.text
    )
    assert button is not None
    assert button.group(1) == "2026-11-24T13:00"
    assert "Schedule at Tue 24 Nov, 13:00 (Europe/London)" in button.group(2)
    again = client.post(
        "/compose",
        data={
            **data,
            "text": "AirFry 5 <again>",
            "at": "2026-11-24T11:00",
            "next_free": button.group(1),
        },
    )
    assert again.status_code == 303
    with session_factory(site.engine)() as session:
        times = sorted(
            p.scheduled_at.replace(tzinfo=UTC) for p in session.scalars(select(OutboxPost))
        )
    assert times == [
        datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 24, 13, 0, tzinfo=UTC),
    ]


def test_a_warning_cap_lets_the_post_through_and_says_why(
    site: Any, client: httpx.Client, marketing: None
) -> None:
    # ACME: no promotional post within 2 hours of a newsletter (a warning).
    with transaction(session_factory(site.engine)) as session:
        maya = session.scalar(select(User).where(User.email == MAYA))
        assert maya is not None
        session.add(
            PlannedEntry(
                kind=PlannedKind.EMAIL,
                title="December newsletter",
                department="email",
                category="newsletter",
                starts_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
                created_by_id=maya.id,
                created_at=datetime.now(UTC),
            )
        )
    login(site, client, MAYA)
    token = site.csrf_of(client.get("/compose").text)
    saved = client.post(
        "/compose",
        data={
            "channel": "mastodon",
            "category": "promotional",
            "text": "AirFry 5 offer",
            "at": "2026-11-25T10:00",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 200
    assert 'id="compose-saved"' in saved.text
    assert "No promotional post within 2 hours of a newsletter" in saved.text
    with session_factory(site.engine)() as session:
        post = session.scalars(select(OutboxPost)).one()
    assert f'href="/drafts/{post.id}"' in saved.text


def test_on_a_phone_the_campaign_page_fits_and_leads_by_keyboard_to_a_tagged_post(
    site: Any, page: Any, marketing: None
) -> None:
    from playwright.sync_api import expect

    from townhall.publishing import campaigns

    with transaction(session_factory(site.engine)) as session:
        maya = session.scalar(select(User).where(User.email == MAYA))
        assert maya is not None
        made = campaigns.create(
            session,
            site.policy,
            name="AirFry 5 launch",
            starts_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
            ends_at=datetime(2026, 12, 7, 18, 0, tzinfo=UTC),
            channels=["mastodon"],
            budget_cents=150_000,
            actor=maya,
            now=site.clock(),
        )
        number = made.id
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/login")
    page.get_by_label("E-mail").fill(MAYA)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/inbox")
    page.goto(f"/campaigns/{number}")
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "0")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("link", name="New post in this campaign").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/compose?campaign={number}")
    expect(page.locator("#compose-campaign")).to_have_value(str(number))
    page.locator("#compose-text").fill("Out now: https://acme.example/airfry-5!")
    expect(page.locator("#compose-links code")).to_have_text(
        "https://acme.example/airfry-5?utm_source=mastodon&utm_medium=social"
        "&utm_campaign=airfry-5-launch"
    )
