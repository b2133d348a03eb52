"""The Influencers pages: everyone views, marketing and PR edit (stage, notes, campaigns,
tracking), every change audited; hostile names and texts stay text; hidden items stay hidden."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from townhall.db import session_factory, transaction
from townhall.models import AuditEvent, Campaign, Influencer, Item, PostRecord, Role, User
from townhall.org.accounts import upsert_user
from web.conftest import PASSWORD

DAN = "dan.murphy@acme.example"  # customer service member: views only
TOM = "tom.becker@acme.example"  # marketing member
OMAR = "omar.haddad@acme.example"  # PR communications officer
HOSTILE_NAME = '<script>alert("name")</script>'
HOSTILE_TEXT = '<img src=x onerror=alert("text")> my AirFry 5 is great'
HANDLE = "@loud@example.social"


@pytest.fixture
def heard(site: Any) -> dict[str, Any]:
    """Tom and Omar; a loud author with two posts about us (one in HR's queue), a campaign."""
    now = datetime.now(UTC)
    with transaction(session_factory(site.engine)) as session:
        for email, name, department, role in [
            (TOM, "Tom Becker", "marketing", Role.MEMBER),
            (OMAR, "Omar Haddad", "pr", "communications"),
        ]:
            upsert_user(
                session,
                email=email,
                name=name,
                department=department,
                role=role,
                password=PASSWORD,
                now=now,
            )
    author = {"handle": HANDLE, "name": HOSTILE_NAME, "followers": 25_000}
    posts = [site.post(HOSTILE_TEXT, author=author), site.post("HR secret", author=author)]
    site.feed(*posts)
    site.clock.advance(timedelta(days=1))
    with transaction(session_factory(site.engine)) as session:
        session.execute(update(PostRecord).values(topics=["product:airfry_5"], sentiment_score=0.5))
        secret = session.scalar(select(PostRecord.id).where(PostRecord.text == "HR secret"))
        session.execute(update(Item).where(Item.post_pk == secret).values(department="hr"))
        campaign = Campaign(
            slug="airfry-5-launch",
            name="AirFry 5 launch",
            department="marketing",
            starts_at=site.clock(),
            ends_at=site.clock() + timedelta(days=7),
            created_by_id=session.scalar(select(User.id).where(User.email == TOM)),
            created_at=site.clock(),
        )
        session.add(campaign)
        session.flush()
        return {"campaign": campaign.id}


def login(site: Any, client: httpx.Client, email: str) -> httpx.Client:
    client.cookies.clear()
    assert site.login(client, email, PASSWORD).status_code == 303
    return client


def voice_url() -> str:
    return "/influencers/voice?handle=" + httpx.QueryParams({"h": HANDLE})["h"]


def post(site: Any, client: httpx.Client, url: str, page: str, **data: Any) -> httpx.Response:
    token = site.csrf_of(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **data})


def audited(site: Any) -> list[str]:
    with session_factory(site.engine)() as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.subject_type == "influencer")
                .order_by(AuditEvent.id)
            )
        )


def test_a_customer_service_member_views_but_may_not_edit(
    site: Any, client: httpx.Client, heard: Any
) -> None:
    login(site, client, DAN)
    listing = client.get("/influencers")
    assert listing.status_code == 200
    assert HOSTILE_NAME not in listing.text
    assert "&lt;script&gt;alert(" in listing.text
    assert "25,000" in listing.text
    page = client.get(voice_url())
    assert page.status_code == 200
    assert 'id="track"' not in page.text
    assert "<img src=x" not in page.text and "&lt;img src=x" in page.text
    # The post in HR's queue: Dan may not see its item, so its text is not shown.
    assert "HR secret" not in page.text
    assert "which you may not see" in page.text
    refused = post(site, client, "/influencers/track", "/influencers", handle=HANDLE)
    assert refused.status_code == 403
    assert "Marketing" in refused.text
    assert audited(site) == []


def test_marketing_and_pr_edit_and_every_change_is_audited(
    site: Any, client: httpx.Client, heard: Any
) -> None:
    login(site, client, TOM)
    page = client.get(voice_url())
    assert 'id="track"' in page.text
    tracked = post(site, client, "/influencers/track", voice_url(), handle=HANDLE)
    assert tracked.status_code == 303
    url = tracked.headers["location"]
    assert client.get(voice_url()).headers["location"] == url  # tracked: the voice redirects
    assert post(site, client, f"{url}/stage", url, stage="contacted").status_code == 303
    assert post(site, client, f"{url}/notes", url, text=HOSTILE_TEXT).status_code == 303
    campaign = str(heard["campaign"])
    assert post(site, client, f"{url}/campaigns", url, campaign=campaign).status_code == 303
    profile = client.get(url).text
    assert "<img src=x" not in profile and "&lt;img src=x" in profile
    assert "selected>Contacted" in profile
    assert f'value="{campaign}" checked' in profile

    login(site, client, OMAR)
    assert post(site, client, f"{url}/notes", url, text="PR knows them").status_code == 303
    assert "PR knows them" in client.get(url).text

    login(site, client, DAN)
    assert post(site, client, f"{url}/stage", url, stage="partner").status_code == 403
    assert post(site, client, f"{url}/untrack", url).status_code == 403
    viewed = client.get(url).text
    assert "PR knows them" in viewed and 'id="add-note"' not in viewed

    login(site, client, TOM)
    listing = client.get("/influencers?tab=tracked&stage=contacted").text
    assert HANDLE in listing
    assert HANDLE not in client.get("/influencers?tab=tracked&stage=partner").text
    assert post(site, client, f"{url}/untrack", url).status_code == 303
    with session_factory(site.engine)() as session:
        assert session.scalars(select(Influencer)).all() == []
    assert audited(site) == [
        "influencer.tracked",
        "influencer.stage",
        "influencer.note",
        "influencer.campaigns",
        "influencer.note",
        "influencer.untracked",
    ]


def test_pages_answer_bad_input_as_errors(site: Any, client: httpx.Client, heard: Any) -> None:
    login(site, client, TOM)
    assert client.get("/influencers/voice?handle=%40nobody%40x").status_code == 404
    assert client.get("/influencers/999").status_code == 404
    assert client.get("/influencers?sort=bogus").status_code in (400, 422)
    new = client.get("/influencers?tab=new")
    assert new.status_code == 200
    assert "New voices" in new.text and "1,000 followers" in new.text
