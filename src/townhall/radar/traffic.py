"""The traffic-spike estimate (pure): a spread forecast as expected extra site visits.

``traffic_spike`` turns a post's forecast into the site visits its reshares still to come will
bring and, at or above the policy's threshold, a ``TrafficSpike`` alert for IT. ``Notice`` is
anything the notifier delivers: a radar ``Alert`` or a ``TrafficSpike``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from townhall.radar.alerts import Alert
from townhall.radar.bursts import Severity
from townhall.radar.forecast import Forecast


def as_utc(at: datetime) -> datetime:
    """``at`` in UTC (a naive time is taken to be UTC already)."""
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TrafficEstimate:
    """Reshares still to come and the site visits they bring, each with its 80% interval."""

    remaining_reshares: float
    remaining_interval: tuple[float, float]
    extra_visits: float
    extra_visits_interval: tuple[float, float]


@dataclass(frozen=True)
class TrafficSpike:
    """An alert for IT: a post's forecast spread implies a traffic spike on the site.

    ``extra_visits`` (site visits over the rest of the post's spread) and its 80% interval come
    from the forecast's reshares still to come × ``clicks_per_reshare`` (visits per reshare).
    """

    at: datetime
    severity: Severity
    topic: str | None
    post_ids: tuple[str, ...]
    why: str
    extra_visits: float
    extra_visits_interval: tuple[float, float]
    clicks_per_reshare: float
    story: str = ""
    kind: Literal["traffic_spike"] = "traffic_spike"
    topic_name: str = ""
    """What people call the topic ("ACME AirFry 5"), filled in for e-mail and chat."""

    def to_json(self) -> dict[str, Any]:
        """The Alerts JSONL object plus ``extra_visits``, its interval and the clicks figure."""
        lo, hi = self.extra_visits_interval
        return {
            "at": as_utc(self.at).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "kind": self.kind,
            "topic": self.topic,
            "severity": self.severity,
            "post_ids": list(self.post_ids),
            "why": self.why,
            "extra_visits": round(self.extra_visits),
            # rounded first so float noise (250.00000000001) does not widen the interval
            "extra_visits_interval": [math.floor(round(lo, 6)), math.ceil(round(hi, 6))],
            "clicks_per_reshare": self.clicks_per_reshare,
        }


Notice = Alert | TrafficSpike
"""Anything ``Notifier`` delivers: a radar ``Alert`` or a ``TrafficSpike``."""


def expected_extra_visits(
    forecast: Forecast, observed_so_far: int, clicks_per_reshare: float
) -> TrafficEstimate:
    """Site visits still to come: (forecast final − reshares seen) × visits per reshare.

    ``observed_so_far`` is the reshares already seen (their visits have happened);
    ``clicks_per_reshare`` is site visits per reshare. Counts are over the rest of the post's
    spread (the forecast's 7-day horizon), not per hour. Raises ValueError on a non-finite
    forecast or a clicks figure that is not positive.
    """
    if not (clicks_per_reshare > 0 and math.isfinite(clicks_per_reshare)):
        raise ValueError(f"clicks_per_reshare must be a positive number, not {clicks_per_reshare}")
    lo, hi = forecast.interval
    if not all(math.isfinite(v) for v in (forecast.predicted_final, lo, hi)):
        raise ValueError("the forecast is not finite")
    seen = max(observed_so_far, 0)
    remaining = max(forecast.predicted_final - seen, 0.0)
    interval = (max(lo - seen, 0.0), max(hi - seen, 0.0))
    return TrafficEstimate(
        remaining_reshares=remaining,
        remaining_interval=interval,
        extra_visits=remaining * clicks_per_reshare,
        extra_visits_interval=(interval[0] * clicks_per_reshare, interval[1] * clicks_per_reshare),
    )


def traffic_spike(
    forecast: Forecast,
    observed_so_far: int,
    clicks_per_reshare: float,
    *,
    notify_at_least: float,
    at: datetime,
    post_ids: Sequence[str],
    site_visits_per_hour: float | None = None,
    topic: str | None = None,
    story: str = "",
) -> TrafficSpike | None:
    """A ``TrafficSpike`` when the expected extra site visits reach ``notify_at_least`` visits.

    Severity: ``watch`` when the median estimate reaches the threshold, ``warning`` when the
    interval's low end does too (≈ 90% likely), ``critical`` when the low end also reaches
    ``site_visits_per_hour`` (visits/hour: a normal hour's load on top). ``at`` is when the
    forecast was made; see ``expected_extra_visits`` for the units.
    """
    estimate = expected_extra_visits(forecast, observed_so_far, clicks_per_reshare)
    if estimate.extra_visits < notify_at_least:
        return None
    low = estimate.extra_visits_interval[0]
    severity: Severity = "watch"
    if low >= notify_at_least:
        severity = "warning"
        if site_visits_per_hour is not None and low >= site_visits_per_hour:
            severity = "critical"
    lo, hi = forecast.interval
    v_lo, v_hi = estimate.extra_visits_interval
    why = (
        f"forecast {forecast.predicted_final:,.0f} reshares (80%: {lo:,.0f}–{hi:,.0f}), "
        f"{max(observed_so_far, 0):,} seen: {estimate.remaining_reshares:,.0f} more × "
        f"{clicks_per_reshare:g} clicks per reshare ≈ {estimate.extra_visits:,.0f} extra site "
        f"visits (80%: {v_lo:,.0f}–{v_hi:,.0f}; IT is told from {notify_at_least:,.0f})"
    )
    if site_visits_per_hour:
        why += (
            f"; {estimate.extra_visits / site_visits_per_hour:.1f}× a normal hour "
            f"({site_visits_per_hour:,.0f} visits/hour)"
        )
    return TrafficSpike(
        at=at,
        severity=severity,
        topic=topic,
        post_ids=tuple(post_ids),
        why=why,
        extra_visits=estimate.extra_visits,
        extra_visits_interval=estimate.extra_visits_interval,
        clicks_per_reshare=clicks_per_reshare,
        story=story,
    )
