"""Write decisions to the append-only audit log, chained so that a later change shows.

Every event stores ``prev_hash``, the hash of the event before it in id order (``GENESIS`` for
the first), and ``hash``: SHA-256 over a canonical serialisation of its own fields and
``prev_hash`` (``event_hash``). Changing an event breaks its hash; deleting or inserting one
breaks the ``prev_hash`` of the event after it. ``verify_chain`` walks the chain.

The chain is computed where rows are written, for both ways a ``Session`` writes them:

- ``record`` adds an ``AuditEvent``; a ``before_flush`` listener chains the new events in the
  order they were added;
- a Core ``insert`` into ``audit_log`` run through ``Session.execute`` (the pipeline's bulk
  insert of routed items) is chained by a ``do_orm_execute`` listener.

Either reads the chain's head once per flush or statement, never per event. On PostgreSQL the
first read of a transaction takes a transaction advisory lock, so concurrent writers queue up
instead of both following the same head; this relies on READ COMMITTED (the default), where the
read after the lock sees what the previous holder committed. The unique ``prev_hash`` refuses a
fork should one ever slip through. SQLite's write lock (``BEGIN IMMEDIATE``) already serialises
writers. A row written past the ``Session`` (raw SQL) has no hash and fails NOT NULL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

import orjson
from sqlalchemy import Connection, Insert, Table, func, select, text
from sqlalchemy import inspect as orm_inspect
from sqlalchemy.event import listens_for
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.orm.unitofwork import UOWTransaction

from townhall.models import AuditEvent

SYSTEM = "system"
"""The actor name for decisions Townhall takes by itself (routing, ingestion)."""

GENESIS = "0" * 64
"""The ``prev_hash`` of the first event."""

CHAIN_LOCK = 0x7448_4155_4449_54
"""PostgreSQL advisory lock key held by a transaction that appends to the chain."""

AUDIT = cast(Table, AuditEvent.__table__)

_LOCKED = "townhall.audit.locked"
"""``Session.info`` key: the root transaction that holds ``CHAIN_LOCK``."""


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    why: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the session's transaction (committed with the decision).

    Its place in the chain is set when the session flushes.
    """
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        why=why,
        details=details or {},
    )
    session.add(event)
    return event


def _utc_text(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the audit log")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(
    prev_hash: str,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    why: str,
    details: Mapping[str, Any],
) -> str:
    """The SHA-256 (hex) of an event: compact sorted-key JSON (UTF-8) of its fields, its time
    in UTC (ISO 8601, microseconds) and ``prev_hash``. The id is left out, so a backup
    restored elsewhere keeps its hashes. A few microseconds an event."""
    payload = {
        "prev_hash": prev_hash,
        "at": _utc_text(at),
        "actor": actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "why": why,
        "details": details,
    }
    try:
        canonical = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        canonical = _canonical_slowly(payload)
    return hashlib.sha256(canonical).hexdigest()


def _canonical_slowly(payload: dict[str, Any]) -> bytes:
    """The canonical form of details orjson refuses as they are (numeric keys, huge ints).

    They are hashed as the database will give them back (through the JSON column's round
    trip), so the event read later takes this same path and gives the same bytes.
    """
    payload = {**payload, "details": json.loads(json.dumps(payload["details"]))}
    try:
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # lone surrogates, integers past 64 bits
        text_form = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text_form.encode("utf-8", "surrogatepass")


def _hash_row(prev_hash: str, row: Mapping[Any, Any]) -> str:
    return event_hash(
        prev_hash,
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        subject_type=row["subject_type"],
        subject_id=row["subject_id"],
        why=row["why"],
        details=row["details"],
    )


def chain_head(connection: Connection) -> str:
    """The hash of the newest event (``GENESIS`` when the log is empty)."""
    head = connection.execute(select(AUDIT.c.hash).order_by(AUDIT.c.id.desc()).limit(1))
    return head.scalar_one_or_none() or GENESIS


def _locked_head(session: Session) -> str:
    """The chain's head, read after taking the append lock (PostgreSQL, once a transaction)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        root = session.get_transaction()
        if session.info.get(_LOCKED) is not root:
            connection.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK)))
            session.info[_LOCKED] = root
    return chain_head(connection)


@listens_for(Session, "before_flush")
def _chain_new_events(
    session: Session, flush_context: UOWTransaction, instances: object | None
) -> None:
    """Give the session's new events their place in the chain, in the order they were added."""
    pending = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if instances is not None:
        chosen = {id(obj) for obj in cast("list[object]", instances)}
        pending = [obj for obj in pending if id(obj) in chosen]
    if not pending:
        return
    # The unit of work inserts one table's rows in the order they were added, and the ids
    # follow that order: chain them the same way.
    pending.sort(key=lambda obj: orm_inspect(obj).insert_order or 0)
    head = _locked_head(session)
    for event in pending:
        event.subject_id = str(event.subject_id)
        event.why = event.why or ""
        event.details = event.details if event.details is not None else {}
        event.prev_hash = head
        event.hash = head = event_hash(
            head,
            at=event.at,
            actor=event.actor,
            action=event.action,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            why=event.why,
            details=event.details,
        )


@listens_for(Session, "do_orm_execute")
def _chain_bulk_insert(state: ORMExecuteState) -> Any:
    """Chain the rows of a Core ``insert`` into ``audit_log`` run through the session."""
    statement = state.statement
    if not state.is_insert or not isinstance(statement, Insert):
        return None
    if getattr(statement.table, "name", None) != AUDIT.name:
        return None
    params = state.parameters
    rows = cast(
        "list[Mapping[str, Any]]",
        list(params) if isinstance(params, list) else [params] if params else [],
    )
    if not rows:
        raise TypeError(
            "insert audit events with townhall.audit.record, or as parameter rows to "
            "Session.execute(insert(...), rows): their hashes are computed from the rows"
        )
    if state.session.autoflush:
        # The statement would autoflush pending events only after this head was read.
        state.session.flush()
    head = _locked_head(state.session)
    links: list[dict[str, Any]] = []
    for row in rows:
        fields = {
            **row,
            "subject_id": str(row["subject_id"]),
            "why": row.get("why") or "",
            "details": row.get("details") if row.get("details") is not None else {},
        }
        prev, head = head, _hash_row(head, fields)
        links.append(
            {
                "subject_id": fields["subject_id"],
                "why": fields["why"],
                "details": fields["details"],
                "prev_hash": prev,
                "hash": head,
            }
        )
    return state.invoke_statement(params=links if state.is_executemany else links[0])


@listens_for(Session, "after_transaction_end")
def _forget_lock(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_LOCKED, None)


@dataclass(frozen=True)
class ChainBreak:
    """The first event where the chain does not hold, and what is wrong with it."""

    event_id: int
    kind: Literal["changed", "link"]
    """``changed``: its content does not match its hash; ``link``: its ``prev_hash`` is not
    the hash of the event before it (an event was deleted or inserted before it)."""
    message: str


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found: events checked, the newest hash, the first break."""

    events: int
    head: str
    broken: ChainBreak | None = None

    @property
    def intact(self) -> bool:
        """Whether every event matched its hash and followed the one before it."""
        return self.broken is None


def count_events(connection: Connection) -> int:
    """How many events the audit log holds."""
    return int(connection.execute(select(func.count()).select_from(AUDIT)).scalar_one())


def contains_hash(connection: Connection, digest: str) -> bool:
    """Whether an event with the hash ``digest`` (hex) is in the log."""
    found = connection.execute(select(AUDIT.c.id).where(AUDIT.c.hash == digest.strip().lower()))
    return found.first() is not None


def verify_chain(
    connection: Connection,
    *,
    on_progress: Callable[[int], None] | None = None,
    batch_size: int = 5_000,
) -> ChainReport:
    """Walk the audit log in id order and check every hash and link; stop at the first break.

    ``on_progress`` is called with the number of events checked since its last call.
    """
    expected_prev, prev_id, checked, last_id = GENESIS, None, 0, 0
    while True:
        rows = connection.execute(
            select(AUDIT).where(AUDIT.c.id > last_id).order_by(AUDIT.c.id).limit(batch_size)
        ).mappings()
        seen = 0
        for row in rows:
            seen += 1
            checked += 1
            last_id = row["id"]
            if row["prev_hash"] != expected_prev:
                before = f"event {prev_id}" if prev_id is not None else "the start of the log"
                return ChainReport(
                    checked,
                    expected_prev,
                    ChainBreak(
                        row["id"],
                        "link",
                        f"event {row['id']} does not follow {before}: its prev_hash is not "
                        f"the hash of the event before it, so an event was deleted or "
                        f"inserted before event {row['id']}",
                    ),
                )
            if _hash_row(row["prev_hash"], row) != row["hash"]:
                return ChainReport(
                    checked,
                    expected_prev,
                    ChainBreak(
                        row["id"],
                        "changed",
                        f"event {row['id']} ({row['action']} on {row['subject_type']} "
                        f"{row['subject_id']}, {_utc_text(row['at'])}) was changed: its "
                        "content no longer matches its hash",
                    ),
                )
            expected_prev, prev_id = row["hash"], row["id"]
        if on_progress is not None and seen:
            on_progress(seen)
        if seen < batch_size:
            return ChainReport(checked, expected_prev)


def drop_append_only_triggers(connection: Connection) -> None:
    """Lift the triggers that refuse UPDATE and DELETE on ``audit_log`` (migrations, wipe)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log"))
        return
    for verb in ("update", "delete"):
        connection.execute(text(f"DROP TRIGGER IF EXISTS audit_log_no_{verb}"))


def create_append_only_triggers(connection: Connection) -> None:
    """Put back the triggers that make ``audit_log`` append-only (as migration 0001 made them)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
                "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
            )
        )
        return
    for verb in ("UPDATE", "DELETE"):
        connection.execute(
            text(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
        )
