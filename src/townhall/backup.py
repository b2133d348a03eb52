"""The whole database to one portable file and back (``townhall backup`` / ``townhall restore``).

The file is gzip-compressed JSON lines, readable by any tool:

1. a header: ``{"format": "townhall-backup", "version": 1, "created_at", "revision"`` (the
   Alembic revision of the schema), ``"dialect"`` (where it came from) and ``"tables"``: each
   table's ``name``, ``rows`` and ``columns`` as ``[name, kind]`` pairs;
2. for each table, in foreign-key order: a line ``{"table": name}``, then one JSON array per
   row, values in the order of ``columns``, encoded by kind (``datetime``, ``date`` and ``time``
   in ISO 8601, ``bytes`` in base64, ``decimal`` as text, ``float`` as a number or ``"nan"``,
   ``"inf"``, ``"-inf"``, ``json`` as the JSON value itself, others as they are);
3. a last line ``{"end": true, "rows": total}``, so a cut-off file is refused.

The kinds are SQLAlchemy's, not a backend's, so a SQLite backup restores into PostgreSQL and
back. A backup reads one snapshot of the database; a restore writes in one transaction and
checks the row counts and the audit chain before it commits.
"""

from __future__ import annotations

import base64
import gzip
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import orjson
from alembic.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Time,
    TypeDecorator,
    Uuid,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine

from townhall.audit import create_append_only_triggers, drop_append_only_triggers, verify_chain
from townhall.db import outside_models, read_only
from townhall.errors import ConflictError, InputError
from townhall.models import Base
from townhall.models.base import UTCDateTime

FORMAT = "townhall-backup"
VERSION = 1
SKIPPED = frozenset({"alembic_version"})
"""Tables not copied: the schema revision travels in the header instead (nor is the text
search's index: restored posts fill it again, ``townhall.db.outside_models``)."""

INSERT_BATCH = 1_000
"""Rows per INSERT statement on restore."""

READ_BATCH = 2_000
"""Rows fetched at a time on backup."""

Progress = Callable[[str, int], None]
"""Called with a table name and a number of rows just written or read."""


@dataclass(frozen=True)
class TableInfo:
    """One table of a backup: name, row count and ``(column, kind)`` pairs."""

    name: str
    rows: int
    columns: list[tuple[str, str]]


@dataclass(frozen=True)
class BackupHeader:
    """The first line of a backup file."""

    created_at: str
    revision: str
    dialect: str
    tables: list[TableInfo]

    @property
    def rows(self) -> int:
        """Rows in the whole backup."""
        return sum(t.rows for t in self.tables)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only connection whose every read sees the same moment of the database."""
    snapshot_engine: Engine
    if engine.dialect.name == "postgresql":
        # Each statement of READ COMMITTED sees a new snapshot; a backup needs one.
        snapshot_engine = engine.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    else:
        snapshot_engine = read_only(engine)  # WAL: the first read fixes the snapshot
    with snapshot_engine.connect() as conn, conn.begin():
        yield conn


def schema_revision(conn: Connection) -> str | None:
    """The Alembic revision of the database's schema (None when it was never migrated)."""
    return MigrationContext.configure(conn).get_current_revision()


def _kind(type_: TypeEngine[Any]) -> str:
    """How values of a column type are written in a backup."""
    if isinstance(type_, TypeDecorator):
        return _kind(type_.impl_instance)
    kinds: list[tuple[type[TypeEngine[Any]], str]] = [
        (JSON, "json"),
        (DateTime, "datetime"),
        (Date, "date"),
        (Time, "time"),
        (LargeBinary, "bytes"),
        (Boolean, "bool"),
        (Float, "float"),
        (Numeric, "decimal"),
        (Integer, "int"),
        (Uuid, "uuid"),
        (String, "str"),
    ]
    for cls, kind in kinds:
        if isinstance(type_, cls):
            return kind
    raise InputError(f"a backup cannot hold values of the column type {type_!r}")


def _float_out(value: float) -> float | str:
    return value if math.isfinite(value) else repr(value)


def _datetime_in(value: str) -> datetime:
    return datetime.fromisoformat(value)


ENCODERS: dict[str, Callable[[Any], Any] | None] = {
    "json": None,
    "datetime": lambda v: v.isoformat(),
    "date": lambda v: v.isoformat(),
    "time": lambda v: v.isoformat(),
    "bytes": lambda v: base64.b64encode(v).decode("ascii"),
    "bool": None,
    "float": _float_out,
    "decimal": str,
    "int": None,
    "uuid": str,
    "str": None,
}

DECODERS: dict[str, Callable[[Any], Any] | None] = {
    "json": None,
    "datetime": _datetime_in,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "bytes": base64.b64decode,
    "bool": None,
    "float": float,
    "decimal": Decimal,
    "int": None,
    "uuid": UUID,
    "str": None,
}


def stored(table: Table) -> list[Column[Any]]:
    """The columns a backup holds: all but those the database generates from the others
    (``items.due_at``, ``items.queue_rank``), which a restore could not write."""
    return [column for column in table.columns if column.computed is None]


def backup_tables(conn: Connection) -> list[Table]:
    """The database's tables in foreign-key order (parents first), typed by the models.

    A table the models do not describe is copied with the types reflected from the database.
    """
    names = {
        name
        for name in inspect(conn).get_table_names()
        if name not in SKIPPED and not outside_models(name, "table")
    }
    reflected = MetaData()
    reflected.reflect(conn, only=sorted(names))
    return [
        Base.metadata.tables.get(table.name, table)
        for table in reflected.sorted_tables
        if table.name in names
    ]


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@contextmanager
def _private_file(path: Path) -> Iterator[IO[bytes]]:
    """A file only the owner may read (0600 from its creation), put in place when complete."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            yield raw
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_backup(
    engine: Engine,
    path: Path,
    *,
    on_header: Callable[[BackupHeader], None] | None = None,
    on_rows: Progress | None = None,
) -> BackupHeader:
    """Write every table of the database to ``path`` (created 0600); the header it wrote."""
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"{path.parent}: no such folder")
    if path.is_dir():
        raise InputError(f"{path} is a folder: give the name of the backup file")
    with snapshot(engine) as conn:
        revision = schema_revision(conn)
        if revision is None:
            raise ConflictError("the database has no schema yet: there is nothing to back up")
        tables = backup_tables(conn)
        header = BackupHeader(
            created_at=datetime.now(UTC).isoformat(),
            revision=revision,
            dialect=conn.dialect.name,
            tables=[
                TableInfo(t.name, _count(conn, t), [(c.name, _kind(c.type)) for c in stored(t)])
                for t in tables
            ],
        )
        if on_header is not None:
            on_header(header)
        with _private_file(path) as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            out.write(_header_line(header))
            total = 0
            for table, info in zip(tables, header.tables, strict=True):
                out.write(orjson.dumps({"table": table.name}) + b"\n")
                total += _write_rows(conn, table, info, out, on_rows)
            out.write(orjson.dumps({"end": True, "rows": total}) + b"\n")
    return header


def _header_line(header: BackupHeader) -> bytes:
    return (
        orjson.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "created_at": header.created_at,
                "revision": header.revision,
                "dialect": header.dialect,
                "tables": [
                    {"name": t.name, "rows": t.rows, "columns": [list(c) for c in t.columns]}
                    for t in header.tables
                ],
            }
        )
        + b"\n"
    )


def _write_rows(
    conn: Connection,
    table: Table,
    info: TableInfo,
    out: gzip.GzipFile,
    on_rows: Progress | None,
) -> int:
    encoders = [ENCODERS[kind] for _, kind in info.columns]
    order = list(table.primary_key.columns) or list(table.columns)
    query = select(*stored(table)).order_by(*order)
    result = conn.execution_options(yield_per=READ_BATCH).execute(query)
    written = 0
    for rows in result.partitions():
        lines = [
            orjson.dumps(
                [
                    value if enc is None or value is None else enc(value)
                    for enc, value in zip(encoders, row, strict=True)
                ]
            )
            for row in rows
        ]
        out.write(b"\n".join(lines) + b"\n")
        written += len(rows)
        if on_rows is not None:
            on_rows(table.name, len(rows))
    if written != info.rows:  # pragma: no cover - the snapshot makes this impossible
        raise ConflictError(f"{table.name} changed while it was read: back up again")
    return written


class _Lines:
    """The lines of a backup file, with its name and the line number in messages."""

    def __init__(self, path: Path, stream: gzip.GzipFile) -> None:
        self.path = path
        self.stream = stream
        self.number = 0

    def next(self) -> Any:
        try:
            line = self.stream.readline()
        except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
            raise InputError(f"{self.path}: not a Townhall backup, or damaged ({exc})") from None
        self.number += 1
        if not line:
            raise InputError(f"{self.path}: the file ends early (line {self.number}): cut off?")
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            raise InputError(f"{self.path}:{self.number}: not a JSON line") from None


def _parse_header(path: Path, value: Any) -> BackupHeader:
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise InputError(f"{path}: not a Townhall backup")
    if value.get("version") != VERSION:
        raise InputError(
            f"{path}: backup format version {value.get('version')!r}; this Townhall reads "
            f"version {VERSION}"
        )
    try:
        tables = [
            TableInfo(str(t["name"]), int(t["rows"]), [(str(c), str(k)) for c, k in t["columns"]])
            for t in value["tables"]
        ]
        header = BackupHeader(
            str(value["created_at"]), str(value["revision"]), str(value["dialect"]), tables
        )
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{path}: the header of the backup is damaged") from None
    for table in tables:
        for column, kind in table.columns:
            if kind not in DECODERS:
                raise InputError(f"{path}: {table.name}.{column} has an unknown kind {kind!r}")
    return header


def read_header(path: Path) -> BackupHeader:
    """The header of the backup at ``path`` (``InputError`` when it is not one)."""
    with _open_backup(path) as lines:
        return _parse_header(path, lines.next())


@contextmanager
def _open_backup(path: Path) -> Iterator[_Lines]:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with gzip.open(path, "rb") as stream:
        yield _Lines(path, stream)


def _check_target(
    conn: Connection, header: BackupHeader, tables: dict[str, Table], force: bool
) -> None:
    """Refuse a database at another schema revision, or holding rows (unless ``force``)."""
    revision = schema_revision(conn)
    if revision is None:
        raise ConflictError(
            "the database has no schema: run `townhall db upgrade` first, then restore"
        )
    if revision != header.revision:
        raise ConflictError(
            f"the backup is at schema revision {header.revision} and the database at "
            f"{revision}: restore into a database at revision {header.revision} (made by the "
            "Townhall version that wrote the backup), then run `townhall db upgrade`"
        )
    for info in header.tables:
        table = tables.get(info.name)
        if table is None:
            raise ConflictError(f"the database has no table {info.name} the backup holds")
        missing = {c for c, _ in info.columns} - set(table.columns.keys())
        if missing:
            raise ConflictError(f"{info.name} has no column {', '.join(sorted(missing))}")
    if force:
        return
    filled = [(t.name, n) for t in tables.values() if (n := _count(conn, t))]
    if filled:
        listed = ", ".join(f"{name} ({n:,} rows)" for name, n in filled[:5])
        raise ConflictError(
            f"the database is not empty: {listed}{' …' if len(filled) > 5 else ''}. Restore "
            "into an empty database (`townhall db upgrade` on a new one), or pass --force to "
            "delete everything in this one first"
        )


def wipe(conn: Connection) -> None:
    """Delete every row of every table but the schema revision, in the caller's transaction
    (``townhall restore --force``; tests reuse one database this way)."""
    _wipe(conn, backup_tables(conn))


def _wipe(conn: Connection, tables: list[Table]) -> None:
    """Delete every row of ``tables`` (children first), in the caller's transaction."""
    if conn.dialect.name == "postgresql":
        quote = conn.dialect.identifier_preparer.format_table
        names = ", ".join(quote(t) for t in tables)
        # Row triggers (the audit log's append-only guard) do not fire on TRUNCATE.
        conn.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))
        return
    drop_append_only_triggers(conn)
    for table in reversed(tables):
        conn.execute(table.delete())
    create_append_only_triggers(conn)


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """Make PostgreSQL's id sequences continue after the restored ids."""
    if conn.dialect.name != "postgresql":
        return  # SQLite takes the next rowid from the largest one
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        conn.execute(
            select(
                func.setval(
                    func.pg_get_serial_sequence(table.name, pk[0].name),
                    func.coalesce(func.max(pk[0]), 0) + 1,
                    False,
                )
            ).select_from(table)
        )  # setval is strict: a table without a sequence gives NULL, not an error


def _decoders(table: Table, info: TableInfo) -> list[Callable[[Any], Any] | None]:
    decoders = []
    for column, kind in info.columns:
        decode = DECODERS[kind]
        if kind == "datetime" and isinstance(table.c[column].type, UTCDateTime):
            # A naive time from a column that had no zone is taken as UTC.
            decode = _utc_datetime_in
        decoders.append(decode)
    return decoders


def _utc_datetime_in(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def restore_backup(
    engine: Engine,
    path: Path,
    *,
    force: bool = False,
    on_header: Callable[[BackupHeader], None] | None = None,
    on_rows: Progress | None = None,
) -> BackupHeader:
    """Load the backup at ``path`` into the database, in one transaction.

    The database must be at the backup's schema revision and empty (``force`` deletes its rows
    first). Row counts and the audit chain are checked before the transaction commits.
    """
    path = Path(path)
    with _open_backup(path) as lines:
        header = _parse_header(path, lines.next())
        if on_header is not None:
            on_header(header)
        with engine.begin() as conn:
            tables = {t.name: t for t in backup_tables(conn)}
            _check_target(conn, header, tables, force)
            if force:
                _wipe(conn, list(tables.values()))
            for info in header.tables:
                _restore_table(conn, lines, tables[info.name], info, on_rows)
            end = lines.next()
            if not isinstance(end, dict) or end.get("end") is not True:
                raise InputError(f"{path}:{lines.number}: expected the end of the backup")
            _reset_sequences(conn, list(tables.values()))
            _check_restored(conn, header, tables)
    return header


def _restore_table(
    conn: Connection, lines: _Lines, table: Table, info: TableInfo, on_rows: Progress | None
) -> None:
    marker = lines.next()
    if marker != {"table": info.name}:
        raise InputError(f"{lines.path}:{lines.number}: expected the rows of {info.name}")
    names = [c for c, _ in info.columns]
    decoders = _decoders(table, info)
    batch: list[dict[str, Any]] = []
    for _ in range(info.rows):
        row = lines.next()
        if not isinstance(row, list) or len(row) != len(names):
            raise InputError(f"{lines.path}:{lines.number}: not a row of {info.name}")
        batch.append(
            {
                name: value if dec is None or value is None else dec(value)
                for name, dec, value in zip(names, decoders, row, strict=True)
            }
        )
        if len(batch) >= INSERT_BATCH:
            _insert(conn, table, batch, on_rows)
            batch = []
    if batch:
        _insert(conn, table, batch, on_rows)


def _insert(
    conn: Connection, table: Table, rows: list[dict[str, Any]], on_rows: Progress | None
) -> None:
    try:
        conn.execute(table.insert(), rows)
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConflictError(f"the database refused rows of {table.name}: {reason}") from None
    if on_rows is not None:
        on_rows(table.name, len(rows))


def _check_restored(conn: Connection, header: BackupHeader, tables: dict[str, Table]) -> None:
    """Refuse (roll back) unless every table holds the backup's rows and the chain holds."""
    for info in header.tables:
        found = _count(conn, tables[info.name])
        if found != info.rows:
            raise ConflictError(
                f"{info.name} holds {found:,} rows after the restore, the backup {info.rows:,}"
            )
    if "audit_log" in tables:
        report = verify_chain(conn)
        if report.broken is not None:
            raise ConflictError(
                "the restored audit log does not verify, so nothing was restored: "
                f"{report.broken.message}. The backup was taken from a database whose log "
                "had already been changed, or the file was edited."
            )
