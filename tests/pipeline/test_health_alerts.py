"""A process that falls silent raises one alert (not one per pass); its recovery is audited;
falling silent again alerts again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.models import AlertRecord, AuditEvent
from townhall.pipeline.health_alerts import ALERTED_KEY, check
from townhall.pipeline.heartbeat import PROCESSES_KEY, Reporter

REDIS_URL = os.environ.get("TOWNHALL_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(
    not REDIS_URL, reason="TOWNHALL_TEST_REDIS_URL not set (make test starts redis-server)"
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    assert REDIS_URL
    r = redis.Redis.from_url(REDIS_URL)
    r.delete(PROCESSES_KEY, ALERTED_KEY)
    yield r
    r.delete(PROCESSES_KEY, ALERTED_KEY)
    r.close()


def _alerts(session: Session) -> list[AlertRecord]:
    return list(session.scalars(select(AlertRecord).where(AlertRecord.kind == "channel")))


def test_a_silent_worker_is_alerted_once_and_its_recovery_audited(
    session: Session, client: redis.Redis
) -> None:
    reporter = Reporter(client, "worker", "worker-a")
    reporter.report(processed=1, lag=0, last_error="OperationalError: gone", now=T0)
    assert check(session, client, T0) == 0
    assert check(session, client, T0 + timedelta(seconds=40)) == 1
    assert check(session, client, T0 + timedelta(seconds=80)) == 0
    (alert,) = _alerts(session)
    assert alert.topic == "process:worker:worker-a"
    assert alert.severity == "critical"
    assert "silent" in alert.why and "OperationalError: gone" in alert.why
    reporter.report(processed=2, lag=0, last_error=None, now=T0 + timedelta(seconds=90))
    assert check(session, client, T0 + timedelta(seconds=91)) == 0
    actions = list(
        session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "process"))
    )
    assert actions == ["process.silent", "process.recovered"]
    assert check(session, client, T0 + timedelta(seconds=200)) == 1
    assert len(_alerts(session)) == 2
