"""Alerts the radar raises: the Alerts JSONL line of DESIGN.md, and severity levels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from townhall.radar.bursts import SEVERITIES, Severity

AlertKind = Literal["burst", "viral_post", "crisis", "channel"]


def severity_at_least(value: float, limits: tuple[float, float, float]) -> Severity | None:
    """The highest severity whose limit (watch, warning, critical) ``value`` reaches, or None."""
    found: Severity | None = None
    for severity, limit in zip(SEVERITIES, limits, strict=True):
        if value >= limit:
            found = severity
    return found


def rank(severity: Severity | None) -> int:
    """0 for none, then 1 (watch), 2 (warning), 3 (critical)."""
    return 0 if severity is None else SEVERITIES.index(severity) + 1


@dataclass(frozen=True)
class Alert:
    """One alert: when (post time), what kind, about which topic, how bad, which posts, why.

    ``story`` (the original post's id, or the topic for bursts) and ``score`` are for the
    pipeline and the UI; they are not part of the JSONL line.
    """

    at: datetime
    kind: AlertKind
    topic: str | None
    severity: Severity
    post_ids: tuple[str, ...]
    why: str
    story: str = ""
    score: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    """Extra facts for the UI: ``forecast`` (observed, predicted_final, lo, hi, p_viral)."""
    topic_name: str = ""
    """What people call the topic ("ACME AirFry 5"), filled in for e-mail and chat."""

    def to_json(self) -> dict[str, Any]:
        """The Alerts JSONL object: at, kind, topic, severity, post_ids, why."""
        return {
            "at": self.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "kind": self.kind,
            "topic": self.topic,
            "severity": self.severity,
            "post_ids": list(self.post_ids),
            "why": self.why,
        }
