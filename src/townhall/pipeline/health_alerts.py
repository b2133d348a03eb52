"""Alerts for workers, the radar and listeners that lag or fall silent, once per change.

Called by the web process that runs the background loops (``check`` every pass). The state
last alerted for each process is kept beside the heartbeats (hash ``townhall:processes:
alerted``), so a process that stays silent is alerted once, and its recovery is noted in the
audit log. Alerts are of kind ``channel``, the operations kind of the policy's ``alerts:``
section, exactly as a channel whose health turns bad (``townhall.channels.service._alert``):
whoever hears of broken channels hears of a broken pipeline, and the alert delivery loop sends
it after the commit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import cast

import redis
from redis.typing import EncodableT, FieldT
from sqlalchemy.orm import Session

from townhall.audit import SYSTEM, record
from townhall.models import AlertRecord
from townhall.pipeline.heartbeat import ProcessState, ProcessStatus, processes
from townhall.pipeline.streams import BROKER_ERRORS

log = logging.getLogger(__name__)

ALERTED_KEY = "townhall:processes:alerted"
"""Hash: field ``<kind>:<name>``, value the state last alerted (``ok``, ``lagging``, ``silent``)."""


def check(session: Session, client: redis.Redis, now: datetime) -> int:
    """Raise an alert for each process that turned lagging or silent since the last check
    (and audit each recovery) in ``session``'s transaction; how many alerts were raised.

    A broker that does not answer raises nothing (the System page shows it as degraded)."""
    try:
        statuses = processes(client, now)
        alerted = {
            k.decode(): v.decode()
            for k, v in cast(dict[bytes, bytes], client.hgetall(ALERTED_KEY)).items()
        }
    except BROKER_ERRORS as exc:
        log.warning("process health not checked: the broker does not answer: %s", exc)
        return 0
    raised = 0
    changes: dict[FieldT, EncodableT] = {}
    for status in statuses:
        before = alerted.get(status.key)
        if before == status.state.value:
            continue
        changes[status.key] = status.state.value
        if status.state is not ProcessState.OK:
            _raise(session, status, now)
            raised += 1
        elif before is not None:
            record(
                session,
                at=now,
                actor=SYSTEM,
                action="process.recovered",
                subject_type="process",
                subject_id=status.key,
                why=f"The {status.kind} {status.name} on {status.host} works again",
            )
    if changes:
        try:
            client.hset(ALERTED_KEY, mapping=changes)
        except BROKER_ERRORS as exc:  # alerted again next pass rather than never
            log.warning("process alert states not stored: %s", exc)
    return raised


def _raise(session: Session, status: ProcessStatus, now: datetime) -> None:
    why = f"The {status.kind} {status.name} on {status.host} is {status.text}"
    if status.last_error:
        why += f" (last error: {status.last_error})"
    session.add(
        AlertRecord(
            at=now,
            raised_at=now,
            kind="channel",
            topic=f"process:{status.key}",
            severity="critical" if status.state is ProcessState.SILENT else "warning",
            story="",
            post_ids=[],
            why=why,
            score=0.0,
            details={"process": status.key, "state": status.state.value, "host": status.host},
            deliveries=[],
        )
    )
    record(
        session,
        at=now,
        actor=SYSTEM,
        action=f"process.{status.state.value}",
        subject_type="process",
        subject_id=status.key,
        why=why,
        details={"state": status.state.value},
    )
