"""The Alerts JSONL line and severity helpers."""

from __future__ import annotations

from datetime import UTC, datetime

from townhall.radar.alerts import Alert, rank, severity_at_least


def test_alert_json_has_exactly_the_documented_fields():
    alert = Alert(
        at=datetime(2026, 11, 20, 10, 13, 5, tzinfo=UTC),
        kind="crisis",
        topic="product:airfry_5",
        severity="watch",
        post_ids=("forum:1", "forum:2"),
        why="because",
        story="forum:1",
        score=0.31,
    )
    assert alert.to_json() == {
        "at": "2026-11-20T10:13:05Z",
        "kind": "crisis",
        "topic": "product:airfry_5",
        "severity": "watch",
        "post_ids": ["forum:1", "forum:2"],
        "why": "because",
    }


def test_severity_levels():
    limits = (0.3, 0.5, 0.7)
    assert severity_at_least(0.29, limits) is None
    assert severity_at_least(0.3, limits) == "watch"
    assert severity_at_least(0.69, limits) == "warning"
    assert severity_at_least(0.9, limits) == "critical"
    assert [rank(None), rank("watch"), rank("warning"), rank("critical")] == [0, 1, 2, 3]
