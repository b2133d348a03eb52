"""The demo's plan for the week: ACME's AirFry 5 launch campaign with its posts and spend, PR's
launch plan, the e-mail team's newsletter and search's landing page, all on one calendar (the
takeover shift comes from the policy, the tip of the week from its recurring slot).

Everything goes through the same services people use (conduct check, caps, approval chains),
so what the demo shows is what Townhall does.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.cli.demo_objectives import seed_readings
from townhall.models import PlannedKind, PlanPurpose, User
from townhall.org.policy import Policy
from townhall.publishing import campaigns, drafts, planned, plans
from townhall.publishing.localtime import at_local

MAYA = "maya.patel@acme.example"  # social media lead (marketing)
GRACE = "grace.lindqvist@acme.example"  # crisis lead (PR)
CHLOE = "chloe.martin@acme.example"  # e-mail
PRIYA = "priya.nair@acme.example"  # search
LAUNCH_URL = "https://acme.example/airfry-5"


def _user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise LookupError(f"the demo needs a login for {email}")
    return user


def seed_week(session: Session, policy: Policy, channel: str, now: datetime) -> list[str]:
    """Put the demo week on the calendar (``channel`` is the account the posts go out on);
    returns what was planned, a line each."""
    zone = ZoneInfo(policy.timezone)
    today = now.astimezone(zone).date()

    def at(days: int, hour: int, minute: int = 0) -> datetime:
        return at_local(today + timedelta(days=days), time(hour, minute), zone)

    maya, grace = _user(session, MAYA), _user(session, GRACE)
    launch = campaigns.create(
        session,
        policy,
        name="AirFry 5 launch",
        starts_at=at(-3, 0),
        ends_at=at(25, 0),
        actor=maya,
        now=now,
        objective="Make the AirFry 5 the air fryer people recommend this winter.",
        target_metric="replies",
        target=200,
        channels=[channel],
        budget_cents=500_000,
        currency="EUR",
        category="promotional",
        objective_id="store_visits" if policy.objectives.objective("store_visits") else None,
    )
    campaigns.record_spend(
        session,
        policy,
        launch,
        amount_cents=125_000,
        spent_on=today - timedelta(days=2),
        actor=maya,
        now=now,
        note="Launch video boost, first week",
    )
    posts = [
        (1, 10, "Meet the AirFry 5: crisp chips with one spoonful of oil, ready in 12 minutes. "
         f"{LAUNCH_URL}", False),
        (2, 13, "Three AirFry 5 recipes for a weeknight: halloumi fries, crispy sprouts and "
         f"cinnamon apples. {LAUNCH_URL}/recipes", False),
        (4, 18, "Win an AirFry 5 for your kitchen: tell us the dish you would make first! "
         f"#ad {LAUNCH_URL}/win", True),
    ]  # fmt: skip
    lines = [f"campaign {launch.name}: budget EUR 5,000.00, EUR 1,250.00 spent"]
    for days, hour, text, paid in posts:
        post = drafts.create_draft(
            session,
            policy,
            channel=channel,
            text=text,
            author=maya,
            now=now,
            at=at(days, hour),
            campaign_id=launch.id,
            paid=paid,
        )
        lines.append(f"  post {post.id} on {_day(post.scheduled_at, zone)} ({post.status})")

    plan = plans.create(
        session,
        policy,
        name="AirFry 5 launch: press",
        purpose=PlanPurpose.LAUNCH,
        actor=grace,
        now=now,
        description="What PR says, where and when, around the launch.",
        campaign_id=launch.id,
    )
    plans.add_step(
        session,
        policy,
        plan,
        title="Press release: the AirFry 5 goes on sale",
        due_at=at(1, 9),
        actor=grace,
        now=now,
        text="ACME's AirFry 5 goes on sale today across the UK: quieter, faster and easier to "
        f"clean than any fryer we have made. Press kit: {LAUNCH_URL}/press",
        channel=channel,
    )
    plans.add_step(
        session,
        policy,
        plan,
        title="Media briefing at the Leeds store",
        due_at=at(2, 11),
        actor=grace,
        now=now,
        channel=None,
    )
    plans.add_step(
        session,
        policy,
        plan,
        title="Round-up of the first reviews",
        due_at=at(5, 10),
        actor=grace,
        now=now,
        text="",
        channel=channel,
    )
    lines.append(f"PR plan {plan.name}: {len(plan.steps)} steps")

    newsletter = planned.add(
        session,
        policy,
        kind=PlannedKind.EMAIL,
        title="December newsletter: the AirFry 5 launch offer",
        starts_at=at(2, 8),
        actor=_user(session, CHLOE),
        now=now,
        category="newsletter" if policy.planning.category("newsletter") else None,
        campaign_id=launch.id,
    )
    landing = planned.add(
        session,
        policy,
        kind=PlannedKind.SEARCH,
        title="AirFry 5 recipes landing page goes live",
        starts_at=at(1, 14),
        actor=_user(session, PRIYA),
        now=now,
        category="seo_content" if policy.planning.category("seo_content") else None,
        campaign_id=launch.id,
    )
    lines.append(f"newsletter on {_day(newsletter.starts_at, zone)}")
    lines.append(f"search page on {_day(landing.starts_at, zone)}")
    lines += seed_readings(session, policy, maya, now)
    return lines


def _day(moment: datetime | date | None, zone: ZoneInfo) -> str:
    if not isinstance(moment, datetime):
        return "no date"
    return moment.astimezone(zone).strftime("%a %d %b %H:%M")
