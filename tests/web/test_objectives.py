"""The /objectives page: every goal, objective and key result of ACME's policy with its status
in words, the reading form (CSRF, permission, a 422 naming the field, audited), and the
campaigns serving an objective."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import func, select

from townhall.db import session_factory, transaction
from townhall.models import AuditEvent, Campaign, KpiReading, OutboxPost, Role, User
from townhall.org.accounts import upsert_user
from web.conftest import PASSWORD, Site

MAYA = "maya.patel@acme.example"  # social lead: manages every department's campaigns
EVIL = '<img src=x onerror="alert(1)">'


def _maya(site: Site) -> None:
    with transaction(session_factory(site.engine)) as session:
        upsert_user(
            session,
            email=MAYA,
            name="Maya Patel",
            department="marketing",
            role="social_lead",
            password=PASSWORD,
            now=datetime.now(UTC),
        )


def _form(client: httpx.Client, site: Site) -> str:
    return site.csrf_of(client.get("/objectives").text)


def test_everyone_sees_every_goal_and_key_result(site: Site, client: httpx.Client) -> None:
    site.login(client)  # Sofia: customer service, no right to manage campaigns
    page = client.get("/objectives")
    assert page.status_code == 200
    for goal in site.policy.objectives.goals:
        assert goal.label in page.text
        for objective in goal.objectives:
            assert f'id="objective-{objective.id}"' in page.text
            for kpi in objective.kpis:
                assert f'id="kpi-{kpi.id}"' in page.text
    # Nothing measured yet: the status is written out, not only coloured.
    assert 'id="status-store_clicks_gb">No data<' in page.text
    # Sofia may not record readings: no form.
    assert 'id="reading-store_clicks_gb"' not in page.text


def test_a_reading_is_recorded_audited_and_moves_the_status(
    site: Site, client: httpx.Client
) -> None:
    _maya(site)
    site.login(client, MAYA)
    token = _form(client, site)
    clicks = 300
    got = client.post(
        "/objectives/kpis/store_clicks_gb/readings",
        data={"value": f"{clicks:,}", "on": "2026-11-18", "note": EVIL, "csrf_token": token},
        follow_redirects=False,
    )
    assert got.status_code == 303
    page = client.get("/objectives").text
    _, kpi = site.policy.objectives.kpi("store_clicks_gb") or (None, None)
    assert kpi is not None
    # A running total from 0 on the objective's start to the target on its date.
    today = date(2026, 11, 20)
    starts = date(2026, 11, 1)
    line = kpi.target * (today - starts).days / (kpi.by - starts).days
    status = "On track" if clicks >= line else "Behind"
    assert f'id="status-store_clicks_gb">{status}<' in page
    assert f"{clicks} clicks" in page
    assert f"is at {line:,.0f} today" in page
    assert EVIL not in page
    with transaction(session_factory(site.engine)) as session:
        reading = session.scalar(select(KpiReading))
        assert reading is not None
        assert (reading.kpi, reading.value, reading.country) == ("store_clicks_gb", clicks, "GB")
        audited = session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "kpi.reading", AuditEvent.subject_id == "store_clicks_gb"
            )
        )
        assert audited == 1


def test_a_bad_value_or_day_comes_back_naming_the_field(site: Site, client: httpx.Client) -> None:
    _maya(site)
    site.login(client, MAYA)
    token = _form(client, site)
    for data, field in (
        ({"value": "lots", "on": "2026-11-18"}, "value:"),
        ({"value": "-4", "on": "2026-11-18"}, "value:"),
        ({"value": "12", "on": "18/11/2026"}, "on:"),
        ({"value": "12", "on": "2026-12-25"}, "on:"),
        ({"value": "12", "on": "2026-11-18", "country": "FR"}, "country:"),
    ):
        got = client.post(
            "/objectives/kpis/store_clicks_gb/readings", data={**data, "csrf_token": token}
        )
        assert got.status_code == 422, data
        assert 'id="reading-error-store_clicks_gb"' in got.text
        assert field in got.text, (data, got.text[:200])
    computed = client.post(
        "/objectives/kpis/negative_share/readings",
        data={"value": "0.1", "on": "2026-11-18", "csrf_token": token},
    )
    assert computed.status_code == 422
    assert "kpi:" in computed.text
    assert (
        client.post(
            "/objectives/kpis/nothing_here/readings",
            data={"value": "1", "on": "2026-11-18", "csrf_token": token},
        ).status_code
        == 404
    )
    with transaction(session_factory(site.engine)) as session:
        assert session.scalar(select(func.count(KpiReading.id))) == 0


def test_recording_needs_the_right_and_the_csrf_token(site: Site, client: httpx.Client) -> None:
    site.login(client)  # Sofia
    token = _form(client, site)
    refused = client.post(
        "/objectives/kpis/store_clicks_gb/readings",
        data={"value": "5", "on": "2026-11-18", "csrf_token": token},
    )
    assert refused.status_code == 403
    _maya(site)
    client.cookies.clear()
    site.login(client, MAYA)
    no_token = client.post(
        "/objectives/kpis/store_clicks_gb/readings", data={"value": "5", "on": "2026-11-18"}
    )
    assert no_token.status_code == 403
    with transaction(session_factory(site.engine)) as session:
        assert session.scalar(select(func.count(KpiReading.id))) == 0


def test_a_campaign_serving_an_objective_is_listed(site: Site, client: httpx.Client) -> None:
    now = site.clock()
    with transaction(session_factory(site.engine)) as session:
        sofia = session.scalar(select(User).where(User.role == Role.APPROVER))
        assert sofia is not None
        session.add(
            Campaign(
                slug="winter-stores",
                name=f"Winter in our stores {EVIL}",
                department="marketing",
                objective_id="store_visits",
                starts_at=now - timedelta(days=3),
                ends_at=now + timedelta(days=20),
                created_by_id=sofia.id,
                created_at=now,
            )
        )
    site.login(client)
    page = client.get("/objectives").text
    part = page.split('id="campaigns-store_visits"')[1].split("</p>")[0]
    assert "Winter in our stores &lt;img" in part
    assert "(0 published)" in part
    assert (
        "Winter in our stores"
        not in page.split('id="campaigns-calm_conversation"')[1].split("</p>")[0]
    )


def test_a_campaign_form_chooses_an_objective_checked_against_the_policy(
    site: Site, client: httpx.Client
) -> None:
    _maya(site)
    site.login(client, MAYA)
    form = client.get("/campaigns/new").text
    for objective in site.policy.objectives.objectives:
        assert f'<option value="{objective.id}"' in form
    token = site.csrf_of(form)
    data = {
        "name": "Winter stores",
        "department": "marketing",
        "start": "2026-11-23T09:00",
        "end": "2026-12-07T18:00",
        "currency": "EUR",
        "csrf_token": token,
    }
    refused = client.post("/campaigns/new", data={**data, "objective_id": "world_peace"})
    assert refused.status_code == 422
    assert "objective_id: unknown objective" in refused.text
    made = client.post("/campaigns/new", data={**data, "objective_id": "store_visits"})
    assert made.status_code == 303
    with transaction(session_factory(site.engine)) as session:
        campaign = session.scalar(select(Campaign).where(Campaign.slug == "winter-stores"))
        assert campaign is not None and campaign.objective_id == "store_visits"
        number = campaign.id
    page = client.get(f"/campaigns/{number}").text
    assert 'href="/objectives#objective-store_visits"' in page
    edit = client.get(f"/campaigns/{number}/edit").text
    assert '<option value="store_visits" selected>' in edit


def test_a_post_serves_the_objective_it_names_else_its_campaigns(
    site: Site, client: httpx.Client
) -> None:
    _maya(site)
    now = site.clock()
    with transaction(session_factory(site.engine)) as session:
        maya = session.scalar(select(User).where(User.email == MAYA))
        assert maya is not None
        session.add(
            Campaign(
                slug="winter-stores",
                name="Winter in our stores",
                department="marketing",
                objective_id="store_visits",
                channels=["mastodon"],
                starts_at=now - timedelta(days=3),
                ends_at=now + timedelta(days=20),
                created_by_id=maya.id,
                created_at=now,
            )
        )
    with session_factory(site.engine)() as session:
        campaign_id = session.scalar(select(Campaign.id).where(Campaign.slug == "winter-stores"))
    site.login(client, MAYA)
    page = client.get("/compose").text
    for objective in site.policy.objectives.objectives:
        assert f'<option value="{objective.id}">{objective.label}</option>' in page
    token = site.csrf_of(page)
    base = {"channel": "mastodon", "csrf_token": token}
    refused = client.post("/compose", data={**base, "text": "Hi", "objective": "world_peace"})
    assert refused.status_code == 422 and "objective: unknown objective" in refused.text
    own = client.post(
        "/compose", data={**base, "text": "Careers at ACME Leeds", "objective": "leeds_hiring"}
    )
    inherited = client.post(
        "/compose", data={**base, "text": "Our stores stay open late", "campaign": campaign_id}
    )
    assert own.status_code == inherited.status_code == 303
    draft = client.get(own.headers["location"]).text
    assert 'href="/objectives#objective-leeds_hiring">Reach job seekers around Leeds</a>' in draft
    with session_factory(site.engine)() as session:
        chosen = dict(
            (text, objective)
            for text, objective in session.execute(select(OutboxPost.text, OutboxPost.objective_id))
        )
    assert chosen["Careers at ACME Leeds"] == "leeds_hiring"
    assert chosen["Our stores stay open late"] == "store_visits"
