"""The alert outbox: pending alerts, traffic spikes for IT, delivery over real HTTP, outcomes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from townhall.models import AlertRecord
from townhall.org.alerts import AlertPolicy
from townhall.radar import tasks
from townhall.radar.notify import Notifier

AT = datetime(2026, 11, 20, 10, 13, tzinfo=UTC)
FORECAST = {"observed": 40, "predicted_final": 1040.0, "lo": 540.0, "hi": 2540.0, "p_viral": 0.9}


def viral(session, **kw: Any) -> AlertRecord:
    row = AlertRecord(
        at=AT,
        raised_at=AT,
        kind=kw.pop("kind", "viral_post"),
        topic="product:airfry_5",
        severity="warning",
        story="forum:1",
        post_ids=["forum:1"],
        why=kw.pop("why", "spreading fast"),
        score=0.5,
        details={"forecast": FORECAST},
        **kw,
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def with_alerts(acme_policy):
    def make(webhook_url: str | None = None, threshold: int = 100) -> Any:
        section: dict[str, Any] = {
            "traffic": {
                "clicks_per_reshare": 0.3,
                "site_visits_per_hour": 4000,
                "notify_it_when_extra_visits_at_least": threshold,
            },
        }
        if webhook_url:
            section["webhooks"] = [{"id": "it", "url": webhook_url, "kinds": ["viral_post"]}]
        return acme_policy.model_copy(update={"alerts": AlertPolicy.model_validate(section)})

    return make


def test_without_an_alerts_section_nothing_is_sent_and_it_says_why(
    session, acme_policy, now
) -> None:
    row = viral(session)
    silent = acme_policy.model_copy(update={"alerts": None})

    assert tasks.pending(session, silent, now) == []
    assert row.delivered_at == now
    assert row.deliveries == [
        {"channel": "none", "status": "skipped", "reason": "the policy has no alerts: section"}
    ]


def test_a_forecast_that_means_visits_adds_one_traffic_spike_for_it(
    session, with_alerts, now
) -> None:
    policy = with_alerts(threshold=100)
    viral(session)

    first = tasks.pending(session, policy, now)
    tasks.record(session, {p.alert_id: [] for p in first}, now)
    viral(session, kind="crisis")  # same story, same forecast: no second spike
    second = tasks.pending(session, policy, now)

    spikes = session.scalars(select(AlertRecord).where(AlertRecord.kind == "traffic_spike")).all()
    assert len(spikes) == 1
    # (1040 − 40) more reshares × 0.3 clicks = 300 visits; the low end (500 × 0.3) reaches 100
    assert spikes[0].severity == "warning" and spikes[0].details["extra_visits"] == 300.0
    assert [p.notice.kind for p in first] == ["viral_post"]
    assert sorted(p.notice.kind for p in second) == ["crisis", "traffic_spike"]


def test_pending_alerts_are_delivered_over_http_and_the_outcome_recorded(
    session, with_alerts, hooks, make_post, now
) -> None:
    policy = with_alerts(webhook_url=f"{hooks.url}/it", threshold=10**6)
    row = viral(session)

    todo = tasks.pending(session, policy, now)
    with Notifier(policy.alerts, None, timeout=5, backoff=0, sleep=lambda s: None) as sender:
        outcomes = {p.alert_id: sender.notify(p.notice, p.posts) for p in todo}
    tasks.record(session, outcomes, now)

    assert hooks.requests[0][0] == "/it"
    assert hooks.json()["kind"] == "viral_post" and hooks.json()["why"] == "spreading fast"
    assert hooks.json()["topic"] == "product:airfry_5"  # tools keep the id
    assert hooks.json()["topic_name"] == "ACME AirFry 5"  # people read the name
    assert row.delivered_at == now
    assert [(d["channel"], d["status"]) for d in row.deliveries] == [("webhook:it", "delivered")]
    assert tasks.pending(session, policy, now) == []


def test_people_read_topics_by_their_names(session, with_alerts, now) -> None:
    viral(session, why="spreading fast in product:airfry_5 threads")
    [pending] = tasks.pending(session, with_alerts(threshold=10**6), now)
    assert pending.notice.topic == "product:airfry_5"
    assert pending.notice.topic_name == "ACME AirFry 5"
    assert pending.notice.why == "spreading fast in ACME AirFry 5 threads"
