"""The audit log is a hash chain: every write path chains, and `townhall audit verify` finds a
changed, deleted or inserted event (on SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

import townhall
from townhall.audit import (
    AUDIT,
    GENESIS,
    create_append_only_triggers,
    drop_append_only_triggers,
    event_hash,
    record,
    verify_chain,
)
from townhall.backup import wipe
from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine, session_factory
from townhall.models import AuditEvent
from townhall.pipeline.runner import Pipeline

AT = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


@dataclass
class Database:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]


@pytest.fixture(scope="module")
def database(make_database_url: Callable[[], str]) -> Iterator[tuple[str, Engine]]:
    url = make_database_url()
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


@pytest.fixture
def db(database: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The module's database, emptied, that commits for real (the CLI reads it)."""
    url, engine = database
    with engine.begin() as conn:
        wipe(conn)
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    get_settings.cache_clear()
    yield Database(url, engine, session_factory(engine))
    get_settings.cache_clear()


def _record_many(sessions: sessionmaker[Session], n: int, start: int = 0) -> None:
    with sessions() as session, session.begin():
        for i in range(start, start + n):
            record(
                session,
                at=AT + timedelta(seconds=i),
                actor="zoe@acme.example",
                action="item.assigned",
                subject_type="item",
                subject_id=i,
                why=f"decision {i}",
                details={"to": f"user{i}", "level": i},
            )


def _events(engine: Engine) -> list[AuditEvent]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _verify(engine: Engine):
    with engine.connect() as conn:
        return verify_chain(conn)


def _tamper(engine: Engine, sql: str, **params: object) -> None:
    """What someone with the database's password could do: lift the guard, change rows, and
    put the guard back."""
    with engine.begin() as conn:
        drop_append_only_triggers(conn)
        conn.execute(text(sql), params)
        create_append_only_triggers(conn)


def test_the_hash_is_sha256_over_sorted_key_json_of_the_fields_and_prev_hash():
    fields = {
        "at": datetime(2026, 11, 20, 15, 0, tzinfo=UTC) + timedelta(microseconds=5),
        "actor": "zoe@acme.example",
        "action": "item.closed",
        "subject_type": "item",
        "subject_id": "7",
        "why": "Answered — thanks!",
        "details": {"b": [1, 2], "a": {"z": None, "y": 1.5}},
    }
    canonical = (
        '{"action":"item.closed","actor":"zoe@acme.example",'
        '"at":"2026-11-20T15:00:00.000005+00:00","details":{"a":{"y":1.5,"z":null},"b":[1,2]},'
        '"prev_hash":"' + "ab" * 32 + '","subject_id":"7","subject_type":"item",'
        '"why":"Answered — thanks!"}'
    )

    assert event_hash("ab" * 32, **fields) == hashlib.sha256(canonical.encode()).hexdigest()
    # The same moment in another zone is the same event.
    elsewhere = fields["at"].astimezone(timezone(timedelta(hours=-5)))
    assert event_hash("ab" * 32, **{**fields, "at": elsewhere}) == event_hash("ab" * 32, **fields)
    assert event_hash("cd" * 32, **fields) != event_hash("ab" * 32, **fields)


def test_details_are_hashed_as_the_database_gives_them_back():
    """Numeric keys and tuples come back from the JSON column as strings and lists."""
    written = {"details": {1: ("a", "b"), "n": 2**70}}
    read_back = json.loads(json.dumps(written["details"]))
    common = {
        "at": AT,
        "actor": "a",
        "action": "b",
        "subject_type": "c",
        "subject_id": "d",
        "why": "\ud800 lone surrogate",
    }

    assert event_hash(GENESIS, **common, details=written["details"]) == event_hash(
        GENESIS, **common, details=read_back
    )


def test_events_of_one_transaction_chain_in_the_order_they_were_recorded(db):
    _record_many(db.sessions, 3)
    _record_many(db.sessions, 2, start=3)

    events = _events(db.engine)
    assert [e.subject_id for e in events] == ["0", "1", "2", "3", "4"]
    assert events[0].prev_hash == GENESIS
    for before, event in itertools.pairwise(events):
        assert event.prev_hash == before.hash
    for event in events:
        assert event.hash == event_hash(
            event.prev_hash,
            at=event.at,
            actor=event.actor,
            action=event.action,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            why=event.why,
            details=event.details,
        )
    report = _verify(db.engine)
    assert (report.intact, report.events, report.head) == (True, 5, events[-1].hash)


def test_bulk_inserts_and_recorded_events_share_one_chain(db):
    """The pipeline inserts routed items' events with Core; people's actions go through
    `record`; both in one transaction keep one chain, in id order."""
    with db.sessions() as session, session.begin():
        record(session, at=AT, actor="a", action="x.one", subject_type="item", subject_id=1)
        session.execute(
            AUDIT.insert(),
            [
                {
                    "at": AT,
                    "actor": "system",
                    "action": "item.routed",
                    "subject_type": "item",
                    "subject_id": str(i),
                    "why": "rule",
                    "details": {"n": i},
                }
                for i in range(3)
            ],
        )
        record(session, at=AT, actor="b", action="x.two", subject_type="item", subject_id=2)
        # A single-row Core insert, and one without the columns that have defaults.
        session.execute(
            AUDIT.insert(),
            {"at": AT, "actor": "c", "action": "x.three", "subject_type": "t", "subject_id": 9},
        )

    events = _events(db.engine)
    assert len(events) == 6
    assert events[-1].why == "" and events[-1].details == {}
    assert _verify(db.engine).intact


def test_the_pipeline_chains_the_events_of_routed_items(db, acme_policy, make_post, now):
    pipeline = Pipeline(db.sessions, acme_policy)
    pipeline.process_batch([make_post(n) for n in range(1, 6)], now)
    _record_many(db.sessions, 2)
    pipeline.process_batch([make_post(n) for n in range(6, 9)], now)

    actions = [e.action for e in _events(db.engine)]
    assert actions.count("item.routed") == 8
    report = _verify(db.engine)
    assert (report.intact, report.events) == (True, 10)


def test_an_insert_without_rows_is_refused(db):
    with db.sessions() as session, pytest.raises(TypeError, match="record"):
        session.execute(
            AUDIT.insert().values(at=AT, actor="a", action="b", subject_type="c", subject_id="d")
        )


def test_a_rolled_back_savepoint_leaves_no_gap_in_the_chain(db):
    with db.sessions() as session, session.begin():
        record(session, at=AT, actor="a", action="kept", subject_type="t", subject_id=1)
        session.flush()
        with session.begin_nested() as nested:
            record(session, at=AT, actor="a", action="dropped", subject_type="t", subject_id=2)
            session.flush()
            nested.rollback()
        record(session, at=AT, actor="a", action="kept", subject_type="t", subject_id=3)

    assert [e.action for e in _events(db.engine)] == ["kept", "kept"]
    assert _verify(db.engine).intact


def test_concurrent_writers_do_not_fork_the_chain(db):
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for round_ in range(10):
                _record_many(db.sessions, 3, start=worker * 100 + round_ * 3)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    report = _verify(db.engine)
    assert (report.intact, report.events) == (True, 120)


def test_two_events_cannot_follow_the_same_one(db):
    """Should a writer ever chain from a stale head, the database refuses the fork."""
    _record_many(db.sessions, 2)
    first = _events(db.engine)[0]
    with db.engine.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(
            AUDIT.insert(),
            {
                "at": AT,
                "actor": "x",
                "action": "fork",
                "subject_type": "t",
                "subject_id": "1",
                "why": "",
                "details": {},
                "prev_hash": first.prev_hash,
                "hash": "f" * 64,
            },
        )


def test_a_changed_why_is_named_by_verify(db):
    _record_many(db.sessions, 5)
    third = _events(db.engine)[2]
    _tamper(db.engine, "UPDATE audit_log SET why = 'nothing happened' WHERE id = :id", id=third.id)

    report = _verify(db.engine)
    assert report.broken is not None
    assert (report.broken.event_id, report.broken.kind) == (third.id, "changed")

    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"event {third.id}" in result.output
    assert "changed" in result.output


def test_a_change_with_a_recomputed_hash_breaks_the_next_link(db):
    _record_many(db.sessions, 4)
    events = _events(db.engine)
    second = events[1]
    forged = event_hash(
        second.prev_hash,
        at=second.at,
        actor=second.actor,
        action=second.action,
        subject_type=second.subject_type,
        subject_id=second.subject_id,
        why="forged",
        details=second.details,
    )
    _tamper(
        db.engine,
        "UPDATE audit_log SET why = 'forged', hash = :forged WHERE id = :id",
        forged=forged,
        id=second.id,
    )

    report = _verify(db.engine)
    assert report.broken is not None
    assert (report.broken.event_id, report.broken.kind) == (events[2].id, "link")


def test_a_deleted_middle_event_is_detected(db):
    _record_many(db.sessions, 5)
    events = _events(db.engine)
    _tamper(db.engine, "DELETE FROM audit_log WHERE id = :id", id=events[2].id)

    report = _verify(db.engine)
    assert report.broken is not None
    assert (report.broken.event_id, report.broken.kind) == (events[3].id, "link")
    assert "deleted or inserted" in report.broken.message

    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"event {events[3].id}" in result.output


def test_a_deleted_first_event_is_detected(db):
    _record_many(db.sessions, 3)
    events = _events(db.engine)
    _tamper(db.engine, "DELETE FROM audit_log WHERE id = :id", id=events[0].id)

    report = _verify(db.engine)
    assert report.broken is not None
    assert report.broken.event_id == events[1].id


def test_verify_says_the_chain_is_intact_and_prints_the_newest_hash(db):
    _record_many(db.sessions, 7)

    result = CliRunner().invoke(app, ["audit", "verify"])

    assert result.exit_code == 0, result.output
    assert "7 events, chain intact" in result.output
    assert _events(db.engine)[-1].hash in result.output


def test_verify_includes_finds_events_cut_off_the_end(db):
    _record_many(db.sessions, 4)
    newest = _events(db.engine)[-1]
    assert CliRunner().invoke(app, ["audit", "verify", "--includes", newest.hash]).exit_code == 0

    _tamper(db.engine, "DELETE FROM audit_log WHERE id = :id", id=newest.id)

    assert CliRunner().invoke(app, ["audit", "verify"]).exit_code == 0  # a chain alone cannot
    result = CliRunner().invoke(app, ["audit", "verify", "--includes", newest.hash])
    assert result.exit_code == 1
    assert "chain cut" in result.output


def test_an_empty_log_is_intact(db):
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "0 events, chain intact" in result.output


@pytest.fixture
def unmigrated(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """An empty database with no schema at all, on the run's backend."""
    base = os.environ.get("TOWNHALL_TEST_DATABASE_URL")
    if not base:
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    name = f"townhall_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(base).set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _upgrade(engine: Engine, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(townhall.__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def test_the_migration_chains_the_events_already_stored(unmigrated):
    _upgrade(unmigrated, "0010")
    with unmigrated.begin() as conn:
        for i in range(7):
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, subject_type, subject_id, why, "
                    "details) VALUES (:at, 'system', 'item.routed', 'item', :sid, 'rule', :d)"
                ),
                {
                    "at": AT.replace(tzinfo=None) if unmigrated.dialect.name == "sqlite" else AT,
                    "sid": str(i),
                    "d": json.dumps({"n": i, "tags": ["a"]}),
                },
            )
    _upgrade(unmigrated, "0011")

    report = _verify(unmigrated)
    assert (report.intact, report.events) == (True, 7)
    # The append-only guard is back after the migration.
    with unmigrated.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE audit_log SET why = 'x'"))


def test_verify_prints_attacker_text_inert(db):
    with db.sessions() as session, session.begin():
        record(
            session,
            at=AT,
            actor="system",
            action="item.routed",
            subject_type="post",
            subject_id="mastodon:\x1b[2J\x1b]8;;https://evil.example\x07",
        )
    event = _events(db.engine)[0]
    _tamper(db.engine, "UPDATE audit_log SET why = 'x' WHERE id = :id", id=event.id)

    result = CliRunner().invoke(app, ["audit", "verify"])

    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b[2J" in result.output
