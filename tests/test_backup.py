"""`townhall backup` / `townhall restore`: a simulated day round-trips row for row, on the run's
backend and across SQLite and PostgreSQL; wrong targets and damaged files are refused whole."""

from __future__ import annotations

import gzip
import os
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner

from townhall.audit import record, verify_chain
from townhall.backup import backup_tables, read_header, restore_backup, wipe, write_backup
from townhall.cases.service import add_note, assign
from townhall.channels.secrets import SecretBox, new_key
from townhall.cli.app import app
from townhall.config import get_settings
from townhall.connectors.simulator.scenario import generate_day
from townhall.db import make_engine, migrate, session_factory
from townhall.errors import ConflictError, InputError
from townhall.models import AuditEvent, ChannelState, Item, PostRecord, Role
from townhall.org.accounts import upsert_user
from townhall.pipeline.runner import Pipeline
from townhall.posts import Post
from townhall.radar.replay import Radar, RadarSettings
from townhall.routing.rules import router_for
from townhall.understand.enrich import Understander

START = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script> \x1b[31m red \u202e evil \u200b 🫖 \"quoted\" 'single'\nline"


def _fill(engine: Engine, policy: Any) -> None:
    """A few simulated hours through the real pipeline (items, alerts, a crisis), people,
    assignments, notes, a stored channel secret and attacker-controlled text."""
    sessions = session_factory(engine)
    understander = Understander.from_policy(policy)
    pipeline = Pipeline(
        sessions,
        policy,
        understander,
        router_for(policy),
        Radar(policy, RadarSettings(viral_threshold=policy.crisis.viral_threshold)),
    )
    posts = generate_day(seed=7, start=START, hours=3, base_rate_per_hour=60, crisis_at_hours=1)
    posts.append(_post(9_001, text=HOSTILE))
    now = START + timedelta(hours=3)
    for i in range(0, len(posts), 100):
        pipeline.process_batch(posts[i : i + 100], now)
    with sessions() as session, session.begin():
        admin = upsert_user(
            session,
            email="ada@acme.example",
            name="Ada",
            department="customer_service",
            role=Role.ADMIN,
            password="a long enough password",
            now=now,
        )
        member = upsert_user(
            session,
            email="bo@acme.example",
            name="Bø " + HOSTILE[:20],
            department="customer_service",
            role=Role.MEMBER,
            password="another long password",
            now=now,
        )
        session.flush()
        items = session.scalars(select(Item.id).order_by(Item.id).limit(3)).all()
        for item_id in items:
            assign(session, item_id, member.id, actor=admin, now=now, why=HOSTILE)
            add_note(session, item_id, f"note on {item_id}: {HOSTILE}", actor=member, now=now)
        session.add(
            ChannelState(
                channel="mastodon",
                secret=SecretBox(new_key()).seal("token"),
                cursor={"since_id": "109", "nested": {"list": [1, 2.5, None, True]}},
                gap_seconds=12.75,
                updated_at=now,
            )
        )
        record(
            session,
            at=now,
            actor="cli",
            action="test.filled",
            subject_type="test",
            subject_id=1,
            details={"text": HOSTILE, "n": [1, 2]},
        )


def _contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, as the models read them."""
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(
                    select(table).order_by(*(table.primary_key.columns or table.columns))
                )
            ]
            for table in backup_tables(conn)
        }


def _post(n: int, **overrides: Any) -> Post:
    data: dict[str, Any] = {
        "id": f"mastodon:{100000 + n}",
        "channel": "mastodon",
        "created_at": "2026-11-20T08:00:00Z",
        "text": f"My ACME KettleOne broke after {n} days, any advice?",
        "author": {"handle": f"@user{n}@example.social", "followers": 10},
    }
    data.update(overrides)
    return Post.model_validate(data)


@pytest.fixture(scope="module")
def source(make_database_url: Callable[[], str], acme_policy: Any) -> Iterator[Engine]:
    """One filled database per module; tests only read it."""
    engine = make_engine(make_database_url())
    _fill(engine, acme_policy)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def target(make_database_url: Callable[[], str]) -> Iterator[Engine]:
    engine = make_engine(make_database_url())
    yield engine
    engine.dispose()


@pytest.fixture
def fresh(target: Engine) -> Engine:
    """An empty database at the current schema (the module's target, emptied)."""
    with target.begin() as conn:
        wipe(conn)
    return target


def test_the_filled_database_has_something_in_most_tables(source):
    contents = _contents(source)
    filled = {name for name, rows in contents.items() if rows}
    assert {"posts", "items", "audit_log", "users", "item_notes", "channel_states"} <= filled
    assert len(contents["posts"]) > 100


def test_a_backup_restores_row_for_row(source, fresh, tmp_path):
    path = tmp_path / "townhall.backup"
    header = write_backup(source, path)
    restored = restore_backup(fresh, path)

    assert restored.rows == header.rows > 0
    assert _contents(fresh) == _contents(source)
    with fresh.connect() as conn:
        assert verify_chain(conn).intact


def test_the_restored_database_carries_on(source, fresh, tmp_path, acme_policy):
    """New rows get new ids (PostgreSQL's sequences were moved on) and extend the chain."""
    path = tmp_path / "townhall.backup"
    write_backup(source, path)
    restore_backup(fresh, path)
    before = len(_contents(fresh)["items"])

    Pipeline(session_factory(fresh), acme_policy).process_batch(
        [_post(77_001), _post(77_002)], START + timedelta(hours=4)
    )

    assert len(_contents(fresh)["items"]) == before + 2
    with fresh.connect() as conn:
        assert verify_chain(conn).intact


def test_the_file_is_private_from_the_start_and_says_what_it_holds(source, tmp_path):
    path = tmp_path / "townhall.backup"
    old = os.umask(0)
    try:
        header = write_backup(source, path)
    finally:
        os.umask(old)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [path]  # no partial file left behind
    with gzip.open(path, "rb") as stream:
        first = orjson.loads(stream.readline())
    assert first["format"] == "townhall-backup" and first["version"] == 1
    assert first["revision"] == header.revision
    counts = {t["name"]: t["rows"] for t in first["tables"]}
    with source.connect() as conn:
        assert counts["posts"] == conn.scalar(select(func.count()).select_from(PostRecord))
    columns = dict(next(t["columns"] for t in first["tables"] if t["name"] == "posts"))
    assert (columns["created_at"], columns["media"], columns["author_verified"]) == (
        "datetime",
        "json",
        "bool",
    )
    assert read_header(path) == header


def test_a_sqlite_backup_restores_into_postgresql_and_back(
    backend, source, make_database_url, tmp_path
):
    if backend != "postgresql":
        pytest.skip("needs PostgreSQL (TOWNHALL_TEST_DATABASE_URL)")
    # PostgreSQL → SQLite → a fresh PostgreSQL: both directions, compared with the original.
    lite = make_engine(f"sqlite:///{tmp_path / 'lite.db'}")
    migrate(lite)
    write_backup(source, tmp_path / "from-pg.backup")
    restore_backup(lite, tmp_path / "from-pg.backup")
    assert _contents(lite) == _contents(source)

    write_backup(lite, tmp_path / "from-sqlite.backup")
    assert read_header(tmp_path / "from-sqlite.backup").dialect == "sqlite"
    again = make_engine(make_database_url())
    restore_backup(again, tmp_path / "from-sqlite.backup")
    assert _contents(again) == _contents(source)
    lite.dispose()
    again.dispose()


def test_a_database_that_is_not_empty_is_refused_and_left_alone(source, fresh, tmp_path):
    path = tmp_path / "townhall.backup"
    write_backup(source, path)
    with session_factory(fresh)() as session, session.begin():
        record(session, at=START, actor="a", action="already", subject_type="t", subject_id=1)

    with pytest.raises(ConflictError, match=r"not empty: audit_log \(1 rows\).*--force"):
        restore_backup(fresh, path)

    with session_factory(fresh)() as session:
        assert session.scalars(select(AuditEvent.action)).all() == ["already"]


def test_force_wipes_the_database_first(source, fresh, tmp_path):
    path = tmp_path / "townhall.backup"
    write_backup(source, path)
    restore_backup(fresh, path)  # full already: every table, audit log included

    restore_backup(fresh, path, force=True)

    assert _contents(fresh) == _contents(source)


def _rewrite(path: Path, out: Path, change: Callable[[list[Any]], list[Any]]) -> None:
    with gzip.open(path, "rb") as stream:
        lines = [orjson.loads(line) for line in stream]
    with gzip.open(out, "wb") as stream:
        stream.write(b"".join(orjson.dumps(v) + b"\n" for v in change(lines)))


def test_another_schema_revision_is_refused(source, fresh, tmp_path):
    path = tmp_path / "townhall.backup"
    write_backup(source, path)

    def older(lines: list[Any]) -> list[Any]:
        lines[0]["revision"] = "0009"
        return lines

    _rewrite(path, tmp_path / "old.backup", older)
    with pytest.raises(ConflictError, match="revision 0009 and the database at"):
        restore_backup(fresh, tmp_path / "old.backup")


def test_a_database_without_schema_is_told_to_upgrade(source, tmp_path):
    write_backup(source, tmp_path / "townhall.backup")
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")

    with pytest.raises(ConflictError, match="townhall db upgrade"):
        restore_backup(empty, tmp_path / "townhall.backup")
    empty.dispose()


def test_a_cut_off_file_restores_nothing(source, fresh, tmp_path):
    path = tmp_path / "townhall.backup"
    write_backup(source, path)
    _rewrite(path, tmp_path / "cut.backup", lambda lines: lines[: len(lines) // 2])

    with pytest.raises(InputError, match="ends early"):
        restore_backup(fresh, tmp_path / "cut.backup")

    assert all(rows == [] for rows in _contents(fresh).values())


def test_an_edited_audit_event_in_the_file_restores_nothing(source, fresh, tmp_path):
    path = tmp_path / "townhall.backup"
    write_backup(source, path)

    def edit(lines: list[Any]) -> list[Any]:
        table = next(t for t in lines[0]["tables"] if t["name"] == "audit_log")
        columns = [name for name, _kind in table["columns"]]
        start = lines.index({"table": "audit_log"})
        lines[start + 2][columns.index("why")] = "it never happened"
        return lines

    _rewrite(path, tmp_path / "edited.backup", edit)
    with pytest.raises(ConflictError, match="audit log does not verify"):
        restore_backup(fresh, tmp_path / "edited.backup")

    assert all(rows == [] for rows in _contents(fresh).values())


def test_a_file_that_is_not_a_backup_is_refused(fresh, tmp_path):
    (tmp_path / "plain.txt").write_text("hello")
    with gzip.open(tmp_path / "other.gz", "wb") as stream:
        stream.write(b'{"format": "something else"}\n')

    with pytest.raises(InputError, match="not a Townhall backup"):
        restore_backup(fresh, tmp_path / "plain.txt")
    with pytest.raises(InputError, match="not a Townhall backup"):
        restore_backup(fresh, tmp_path / "other.gz")


@pytest.fixture
def cli_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Engine], None]]:
    def use(engine: Engine) -> None:
        monkeypatch.setenv(
            "TOWNHALL_DATABASE_URL", engine.url.render_as_string(hide_password=False)
        )
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_the_commands_back_up_and_restore(source, fresh, tmp_path, cli_database):
    path = tmp_path / "day.backup"
    cli_database(source)
    made = CliRunner().invoke(app, ["backup", str(path)])
    assert made.exit_code == 0, made.output
    assert "backed up" in made.output and stat.S_IMODE(path.stat().st_mode) == 0o600

    cli_database(fresh)
    done = CliRunner().invoke(app, ["restore", str(path)])
    assert done.exit_code == 0, done.output
    assert "audit chain is intact" in done.output
    assert _contents(fresh) == _contents(source)

    refused = CliRunner().invoke(app, ["restore", str(path)])
    assert refused.exit_code == 1
    assert "not empty" in refused.output and "nothing was restored" in refused.output

    forced = CliRunner().invoke(app, ["restore", "--force", str(path)])
    assert forced.exit_code == 0, forced.output


def test_restore_names_a_missing_file(fresh, tmp_path, cli_database):
    cli_database(fresh)
    result = CliRunner().invoke(app, ["restore", str(tmp_path / "nope.backup")])
    assert result.exit_code == 1
    assert "no such file" in result.output


def test_restore_keeps_the_append_only_guard(source, fresh, tmp_path):
    write_backup(source, tmp_path / "townhall.backup")
    restore_backup(fresh, tmp_path / "townhall.backup", force=True)

    with fresh.begin() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("DELETE FROM audit_log"))
    with session_factory(fresh)() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent))
