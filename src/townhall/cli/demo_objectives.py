"""The demo's readings of ACME's key results measured outside Townhall: store-locator clicks
from the web analytics and the job post's reach, as the marketing lead would type them in.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from townhall.insights.objective_report import record_reading
from townhall.models import User
from townhall.org.policy import Policy

READINGS = [
    # (key result, days before today, value, note)
    ("store_clicks_gb", 15, 180.0, "Web analytics: store locator, visits from social"),
    ("store_clicks_gb", 8, 210.0, "Web analytics: store locator, visits from social"),
    ("store_clicks_gb", 1, 260.0, "Web analytics: store locator, visits from social"),
    ("store_clicks_de", 8, 35.0, "Web analytics: store locator, visits from social"),
    ("store_clicks_de", 1, 40.0, "Web analytics: store locator, visits from social"),
    ("job_post_reach_gb", 9, 3_400.0, "Mastodon statistics of the Leeds job post"),
    ("job_post_reach_gb", 2, 6_100.0, "Mastodon statistics of the Leeds job post"),
]


def seed_readings(session: Session, policy: Policy, actor: User, now: datetime) -> list[str]:
    """Record the demo's readings of the policy's reading key results (those it has, from
    their start on); returns a line for each key result."""
    today = now.astimezone(ZoneInfo(policy.timezone)).date()
    recorded: dict[str, int] = {}
    for kpi_id, ago, value, note in READINGS:
        found = policy.objectives.kpi(kpi_id)
        day = today - timedelta(days=ago)
        if found is None or day < (found[1].starts or found[0].starts):
            continue
        record_reading(
            session, policy, kpi_id=kpi_id, value=value, on=day, actor=actor, now=now, note=note
        )
        recorded[kpi_id] = recorded.get(kpi_id, 0) + 1
    return [f"key result {kpi}: {n} readings" for kpi, n in recorded.items()]
