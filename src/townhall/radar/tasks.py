"""Deliver stored radar alerts (an outbox: the pipeline stores them, this sends them after the
commit), and turn a forecast into a traffic-spike alert for IT.

Delivery is split in three so no database transaction waits on the network: ``pending`` (read
what to send, in a transaction), ``Notifier.notify`` (outside it), ``record`` (write the
outcomes, in a second transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.models import AlertRecord, PostRecord
from townhall.org.policy import Policy
from townhall.radar.alerts import Alert, rank
from townhall.radar.forecast import Forecast
from townhall.radar.notify import Delivery
from townhall.radar.traffic import Notice, TrafficSpike, traffic_spike

BATCH = 50
"""Alerts sent per pass."""

POSTS_QUOTED = 5
"""Posts loaded to quote in one message."""


@dataclass(frozen=True)
class Pending:
    """An alert to send: its row id, the notice and the posts it quotes."""

    alert_id: int
    notice: Notice
    posts: list[Any]


def _forecast(details: dict[str, Any]) -> Forecast | None:
    f = details.get("forecast")
    if not isinstance(f, dict):
        return None
    return Forecast(
        observed=int(f.get("observed", 0)),
        predicted_final=float(f["predicted_final"]),
        interval=(float(f["lo"]), float(f["hi"])),
        p_viral=float(f["p_viral"]),
        infectiousness=0.0,
    )


def _notice(row: AlertRecord, policy: Policy) -> Notice:
    """The alert as people read it: the topic by its name, topic slugs in ``why`` named too."""
    from townhall.cases.crisis import name_topics, topic_name  # deferred: cases imports radar

    named, why = topic_name(policy, row.topic), name_topics(policy, row.why)
    if row.kind == "traffic_spike":
        d = row.details
        return TrafficSpike(
            at=row.at,
            severity=row.severity,  # type: ignore[arg-type]
            topic=row.topic,
            post_ids=tuple(row.post_ids),
            why=why,
            extra_visits=float(d.get("extra_visits", 0.0)),
            extra_visits_interval=(float(d.get("lo", 0.0)), float(d.get("hi", 0.0))),
            clicks_per_reshare=float(d.get("clicks_per_reshare", 0.0)),
            story=row.story,
            topic_name=named,
        )
    return Alert(
        at=row.at,
        kind=row.kind,  # type: ignore[arg-type]
        topic=row.topic,
        severity=row.severity,  # type: ignore[arg-type]
        post_ids=tuple(row.post_ids),
        why=why,
        story=row.story,
        score=row.score,
        details=dict(row.details),
        topic_name=named,
    )


def _spike_for(session: Session, policy: Policy, row: AlertRecord, now: datetime) -> None:
    """Add a traffic-spike alert when the row's forecast implies one bigger than any before."""
    if policy.alerts is None or row.kind not in ("viral_post", "crisis") or not row.story:
        return
    forecast = _forecast(row.details)
    if forecast is None:
        return
    traffic = policy.alerts.traffic
    spike = traffic_spike(
        forecast,
        forecast.observed,
        traffic.clicks_per_reshare,
        notify_at_least=traffic.notify_it_when_extra_visits_at_least,
        at=row.at,
        post_ids=row.post_ids,
        site_visits_per_hour=traffic.site_visits_per_hour,
        topic=row.topic,
        story=row.story,
    )
    if spike is None:
        return
    before = session.scalars(
        select(AlertRecord.severity).where(
            AlertRecord.kind == "traffic_spike", AlertRecord.story == row.story
        )
    )
    if any(rank(s) >= rank(spike.severity) for s in before):  # type: ignore[arg-type]
        return
    lo, hi = spike.extra_visits_interval
    session.add(
        AlertRecord(
            at=spike.at,
            raised_at=now,
            kind="traffic_spike",
            topic=spike.topic,
            severity=spike.severity,
            story=spike.story,
            post_ids=list(spike.post_ids),
            why=spike.why,
            score=row.score,
            details={
                "extra_visits": round(spike.extra_visits, 1),
                "lo": round(lo, 1),
                "hi": round(hi, 1),
                "clicks_per_reshare": spike.clicks_per_reshare,
            },
            crisis_id=row.crisis_id,
        )
    )


def pending(
    session: Session, policy: Policy, now: datetime, *, limit: int = BATCH
) -> list[Pending]:
    """The alerts not yet sent, oldest first, with the posts they quote; adds traffic spikes.

    Without an ``alerts:`` section in the policy they are marked as not sent, with the reason.
    """
    rows = list(
        session.scalars(
            select(AlertRecord)
            .where(AlertRecord.delivered_at.is_(None))
            .order_by(AlertRecord.id)
            .limit(limit)
        )
    )
    out: list[Pending] = []
    for row in rows:
        _spike_for(session, policy, row, now)
        if policy.alerts is None:
            row.delivered_at = now
            row.deliveries = [
                {
                    "channel": "none",
                    "status": "skipped",
                    "reason": "the policy has no alerts: section",
                }
            ]
            continue
        ids = list(row.post_ids[:POSTS_QUOTED])
        records = session.scalars(select(PostRecord).where(PostRecord.post_id.in_(ids)))
        by_id = {r.post_id: r.to_post() for r in records}
        out.append(Pending(row.id, _notice(row, policy), [by_id[i] for i in ids if i in by_id]))
    session.flush()
    return out


def record(session: Session, outcomes: dict[int, list[Delivery]], now: datetime) -> None:
    """Write each alert's delivery outcomes and mark it sent (tried)."""
    for alert_id, deliveries in outcomes.items():
        row = session.get(AlertRecord, alert_id)
        if row is not None:
            row.delivered_at = now
            row.deliveries = [d.to_json() for d in deliveries]
