"""The demo's week on the calendar: a campaign with posts and spend, PR's plan, the
newsletter and search's page, through the services people use."""

from __future__ import annotations

from datetime import timedelta

from townhall.cli.demo_plan import seed_week
from townhall.models import Campaign
from townhall.org.accounts import upsert_user
from townhall.publishing import calendar, campaigns
from townhall.publishing.calendar import EntryKind


def test_the_demo_week_plans_every_team_on_one_calendar(session, acme_policy, now) -> None:
    for person in acme_policy.people:
        upsert_user(
            session,
            email=person.email,
            name=person.name,
            department=person.department,
            role=person.role,
            password="a demo password nobody uses",
            now=now,
        )
    lines = seed_week(session, acme_policy, "mastodon", now)
    assert lines[0].startswith("campaign AirFry 5 launch")

    entries = calendar.entries(
        session, acme_policy, now - timedelta(days=1), now + timedelta(days=8)
    )
    kinds = {e.kind for e in entries}
    assert kinds >= {EntryKind.POST, EntryKind.PLAN_STEP, EntryKind.PLANNED}
    launch = session.query(Campaign).one()
    assert [e.kind for e in entries if e.campaign_id == launch.id].count(EntryKind.POST) == 3
    departments = {e.department for e in entries}
    assert {"pr", "email", "search"} <= departments
    summary = campaigns.summary(session, acme_policy, launch, now)
    assert summary is not None
    paid = [p for p in campaigns.posts_of(session, launch) if p.paid]
    assert len(paid) == 1 and "#ad" in paid[0].text
    assert all(
        "utm_campaign=airfry-5-launch" in p.text for p in campaigns.posts_of(session, launch)
    )
