"""Process batches of posts: dedup, route, persist — one transaction per batch."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import Insert, Table, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from townhall.audit import SYSTEM
from townhall.insights import rollups
from townhall.models import AuditEvent, DeadLetter, Item, ItemStatus, PostRecord
from townhall.pipeline.stages import dedup, needs_item, post_key
from townhall.posts import Post
from townhall.routing.rules import RouteDecision, route_by_channel
from townhall.routing.sla import due_at
from townhall.webhooks import events as webhook_events
from townhall.webhooks.outgoing import emit_many

if TYPE_CHECKING:
    from townhall.org.policy import Policy
    from townhall.radar.alerts import Alert
    from townhall.radar.replay import Radar
    from townhall.understand.enrich import Enrichment


@dataclass(frozen=True)
class BatchResult:
    """What one batch did: posts read, newly stored, already known, items created, alerts,
    posts set aside as dead letters (they failed inside the pipeline), and posts handed to the
    broker for ``townhall worker`` to store (``queued``: then nothing is stored here)."""

    read: int
    stored: int
    duplicates: int
    items: int
    alerts: int = 0
    dead: int = 0
    queued: int = 0

    def __add__(self, other: BatchResult) -> BatchResult:
        return BatchResult(
            self.read + other.read,
            self.stored + other.stored,
            self.duplicates + other.duplicates,
            self.items + other.items,
            self.alerts + other.alerts,
            self.dead + other.dead,
            self.queued + other.queued,
        )


EMPTY = BatchResult(0, 0, 0, 0)

log = logging.getLogger(__name__)

# Core tables: bulk inserts skip the ORM's per-object bookkeeping.
POSTS = cast(Table, PostRecord.__table__)
ITEMS = cast(Table, Item.__table__)
AUDIT = cast(Table, AuditEvent.__table__)


Router = Callable[[Post, "Enrichment"], RouteDecision]
Stored = tuple[int, Post, "Enrichment | None"]
"""Routes an understood post (``townhall.routing.rules.route`` bound to a policy)."""


class Understanding(Protocol):
    """Enriches posts (``townhall.understand.enrich.Understander``)."""

    def enrich(self, posts: Sequence[Post]) -> list[Enrichment]:
        """One enrichment per post, in order."""
        ...


class Intake(Protocol):
    """Where posts enter: the ``Pipeline`` itself, or a broker's publisher
    (``townhall.pipeline.streams.Publisher``) that ``townhall worker`` processes read from."""

    def process_batch(
        self,
        posts: Sequence[Post],
        now: datetime,
        within: Callable[[Session, BatchResult], None] | None = None,
        source: str = "",
    ) -> BatchResult:
        """Take ``posts``; ``within`` runs in a transaction after them (a listener's cursor)."""
        ...


def _enrichment_columns(e: Enrichment) -> dict[str, Any]:
    return {
        "sentiment_label": e.sentiment_label,
        "sentiment_score": e.sentiment_score,
        "intent": e.intent,
        "intent_confidence": e.intent_confidence,
        "actionable": e.actionable,
        "toxicity": e.toxicity,
        "language": e.language,
        "country": e.country,
        "reach": e.reach,
        "topics": e.topics,
    }


def _post_row(post: Post, now: datetime) -> dict[str, Any]:
    author = post.author
    return {
        "post_id": post.id,
        "channel": post.channel,
        "external_id": post.external_id,
        "created_at": post.created_at,
        "ingested_at": now,
        "text": post.text,
        "lang": post.lang,
        "url": post.url,
        "author_handle": author.handle,
        "author_name": author.name,
        "author_followers": author.followers,
        "author_location": author.location,
        "author_verified": author.verified,
        "reply_to": post.reply_to,
        "reshare_of": post.reshare_of,
        "group_name": post.group,
        "media": list(post.media),
        "extra": dict(post.extra),
        "topics": [],
    }


def _insert_ignoring_conflicts(session: Session) -> Insert:
    """An INSERT that skips rows whose (channel, external id) or post id is already stored."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(POSTS).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(POSTS).on_conflict_do_nothing()
    raise NotImplementedError(f"unsupported database: {dialect}")


NewRow = tuple[int, str, str]
"""(row id, channel, external id) of a post row an insert stored."""


@dataclass(frozen=True)
class _RowInsert:
    """A single-row ``INSERT … ON CONFLICT DO NOTHING RETURNING id, channel, external_id``
    compiled once by SQLAlchemy (casts included), with positional parameters, and the bind
    processors of its columns: values go in exactly as SQLAlchemy would write them."""

    sql: str
    binds: tuple[tuple[str, Callable[[Any], Any] | None], ...]

    def parameters(self, row: dict[str, Any]) -> list[Any]:
        return [
            row[name] if process is None else process(row[name]) for name, process in self.binds
        ]


_NAMED = re.compile(r"%\((\w+)\)s")


@lru_cache(maxsize=8)
def _row_insert(dialect: Dialect, keys: frozenset[str]) -> _RowInsert | None:
    """The single-row insert of post rows with ``keys``; None when it would need values the
    rows lack (a column default computed in Python): SQLAlchemy's own path fills those."""
    table = POSTS.c
    statement = (
        postgresql.insert(POSTS)
        .on_conflict_do_nothing()
        .returning(table.id, table.channel, table.external_id)
    )
    compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))
    names = _NAMED.findall(compiled.string)
    if not set(names) <= keys or set(compiled.binds) != set(names):
        return None
    binds = tuple(
        (name, POSTS.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names
    )
    return _RowInsert(_NAMED.sub("%s", compiled.string), binds)


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> list[NewRow]:
    """INSERT ``rows`` skipping those whose (channel, external id) or post id is already
    stored (a concurrent worker may have stored some); the rows THIS statement inserted.

    On PostgreSQL (psycopg) one prepared single-row statement runs for every row through
    psycopg's ``executemany`` (pipeline mode): SQLAlchemy's multi-row "insertmanyvalues"
    statements cost more to parse client-side than to run."""
    if not rows:
        return []
    dialect = session.get_bind().dialect
    keys = frozenset(rows[0])
    insert = (
        _row_insert(dialect, keys)
        if dialect.name == "postgresql" and dialect.driver == "psycopg"
        else None
    )
    if insert is None or any(row.keys() != keys for row in rows):
        table = POSTS.c
        statement = _insert_ignoring_conflicts(session).returning(
            table.id, table.channel, table.external_id
        )
        return [(row_id, channel, ext) for row_id, channel, ext in session.execute(statement, rows)]
    parameters = [insert.parameters(row) for row in rows]
    connection = session.connection()
    dbapi = connection.connection
    cursor = dbapi.cursor()
    inserted: list[NewRow] = []
    try:
        cursor.executemany(insert.sql, parameters, returning=True)  # type: ignore[call-arg]
        while True:
            inserted.extend(cursor.fetchall())
            if not cursor.nextset():
                break
    except dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy's own execution does: its exception classes (a busy or lost database
        # is an OperationalError for the caller to retry) and a lost connection invalidated.
        disconnect = dialect.is_disconnect(exc, dbapi, cursor)
        if disconnect:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            insert.sql,
            parameters[:1],
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=disconnect,
            dialect=dialect,
        ) from exc
    finally:
        cursor.close()
    return inserted


class Pipeline:
    """Stores posts once each and opens an inbox item for every post that needs attention."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        policy: Policy,
        understanding: Understanding | None = None,
        router: Router | None = None,
        radar: Radar | None = None,
    ) -> None:
        """``router`` decides where understood posts go (the policy's rules); without one, or
        for a post that was not understood, the channel's default owner takes the item."""
        self._sessions = session_factory
        self._policy = policy
        self._understanding = understanding
        self._router = router
        self._radar = radar
        # Listeners and the simulator feed one pipeline from several threads; the radar's
        # state is in memory, so batches go through one at a time.
        self._lock = threading.Lock()

    def use_policy(
        self, policy: Policy, understanding: Understanding | None, router: Router | None
    ) -> None:
        """Switch to a changed policy between batches (the batch in flight finishes first)."""
        self._policy, self._understanding, self._router = policy, understanding, router

    def use_radar(self, radar: Radar) -> None:
        """Watch with ``radar`` from the next batch on (a radar stage that takes over)."""
        self._radar = radar

    def process_batch(
        self,
        posts: Sequence[Post],
        now: datetime,
        within: Callable[[Session, BatchResult], None] | None = None,
        source: str = "",
    ) -> BatchResult:
        """Dedup, route and persist ``posts`` in one transaction; ``within`` runs in that same
        transaction, after the posts (a listener commits its cursor there, so a crash never
        records a cursor without the posts it covers).

        A post that makes the batch fail unexpectedly is found by splitting the batch in
        halves, stored as a dead letter with its error (``source`` says where it came from),
        and the rest is stored. A busy or unreachable database (``OperationalError``) is not a
        post's fault: it is raised for the caller to retry.
        """
        try:
            return self._process(posts, now, within)
        except OperationalError:
            raise
        except Exception:
            if not posts:
                raise
            log.exception("a batch of %d posts failed: finding the post that fails", len(posts))
            return self._isolate(list(posts), now, within, source)

    def _process(
        self,
        posts: Sequence[Post],
        now: datetime,
        within: Callable[[Session, BatchResult], None] | None,
        carried: BatchResult = EMPTY,
    ) -> BatchResult:
        unique, repeats = dedup(posts)
        if not unique and within is None:
            return BatchResult(len(posts), 0, repeats, 0)
        with self._lock, self._sessions() as session, session.begin():
            stored = self._store_new(session, unique, now) if unique else []
            items = self._open_items(session, stored, now)
            alerts = self.watch(session, stored, now) if unique else 0
            result = BatchResult(len(posts), len(stored), len(posts) - len(stored), items, alerts)
            if within is not None:
                within(session, carried + result)
        return result

    def _isolate(
        self,
        posts: list[Post],
        now: datetime,
        within: Callable[[Session, BatchResult], None] | None,
        source: str,
    ) -> BatchResult:
        """Store what can be stored of a failing batch, bisecting down to the posts that fail
        (each a dead letter); then run ``within`` in a transaction of its own."""
        total = EMPTY
        pending = [posts]
        while pending:  # at most 2 × len(posts) batches
            chunk = pending.pop()
            try:
                total = total + self._process(chunk, now, None)
            except OperationalError:
                raise
            except Exception as exc:
                if len(chunk) == 1:
                    self._dead_letter(chunk[0], exc, now, source)
                    total = total + BatchResult(1, 0, 0, 0, dead=1)
                else:
                    middle = len(chunk) // 2
                    pending.extend([chunk[middle:], chunk[:middle]])
        if within is not None:
            self._process([], now, within, total)
        return total

    def _dead_letter(self, post: Post, exc: Exception, now: datetime, source: str) -> None:
        error = f"{type(exc).__name__}: {exc}"[:4000]
        log.error("dead letter %s (%s): %s", post.id, source or "unknown source", error)
        with self._sessions() as session, session.begin():
            session.add(
                DeadLetter(
                    source=(source or post.channel)[:512],
                    post_id=post.id,
                    post=post.to_json(),
                    error=error,
                    created_at=now,
                )
            )

    def watch(self, session: Session, stored: Sequence[Stored], now: datetime) -> int:
        """Feed the radar; store its alerts (opening crisis rooms) and put the new items of
        stories with an open room into it. The pipeline does this for every batch it stores;
        with a broker, the radar stage of ``townhall worker`` does it, in stream order."""
        if self._radar is None:
            return 0
        return self.record(session, stored, self.observe(stored), now)

    def observe(self, stored: Sequence[Stored]) -> list[Alert]:
        """Feed the radar (its state only, no I/O); the alerts it raises."""
        if self._radar is None:
            return []
        understood = sorted(
            ((post, e) for _, post, e in stored if e is not None),
            key=lambda pair: pair[0].created_at,
        )
        # Radar time is post time: a file of last week's posts replays last week, and the
        # wall clock (``now``) would close every bucket at once.
        return self._radar.observe(understood)

    def record(
        self, session: Session, stored: Sequence[Stored], alerts: Sequence[Alert], now: datetime
    ) -> int:
        """Store ``observe``'s alerts (opening crisis rooms) and put the new items of stories
        with an open room into it; may be retried in a new transaction after a failed commit."""
        if self._radar is None:
            return 0
        from townhall.cases import crisis  # deferred: cases imports the pipeline's models

        crisis.record_alerts(session, self._policy, list(alerts), now)
        rooms = {
            story: room.id
            for room in crisis.open_rooms(session)
            for story in [room.story, *room.related]
        }
        if rooms:
            by_room: dict[int, list[int]] = {}
            for row_id, post, _ in stored:
                story = self._radar.story_of(post.id)
                if story in rooms:
                    by_room.setdefault(rooms[story], []).append(row_id)
            for room_id, pks in by_room.items():
                crisis.attach_items(session, room_id, pks)
        return len(alerts)

    def _store_new(self, session: Session, posts: list[Post], now: datetime) -> list[Stored]:
        """Insert the posts not stored yet; returns (row id, post, enrichment) for each."""
        keys = [post_key(p) for p in posts]
        known = {
            (channel, external_id)
            for channel, external_id in session.execute(
                select(PostRecord.channel, PostRecord.external_id).where(
                    tuple_(PostRecord.channel, PostRecord.external_id).in_(keys)
                )
            )
        }
        fresh = [p for p in posts if post_key(p) not in known]
        if not fresh:
            return []
        by_key = {post_key(p): p for p in fresh}
        # A concurrent worker may have stored some meanwhile: _insert_new lists only ours.
        rows = [_post_row(p, now) for p in fresh]
        understood: dict[tuple[str, str], Enrichment] = {}
        if self._understanding is not None:
            for post, row, enrichment in zip(
                fresh, rows, self._understanding.enrich(fresh), strict=True
            ):
                row.update(_enrichment_columns(enrichment))
                understood[post_key(post)] = enrichment
        inserted = _insert_new(session, rows)
        # Only the rows this transaction inserted count, in this transaction (never twice).
        ours = {(channel, ext) for _, channel, ext in inserted}
        rollups.add(session, (r for r in rows if (r["channel"], r["external_id"]) in ours))
        return [
            (row_id, by_key[(channel, ext)], understood.get((channel, ext)))
            for row_id, channel, ext in inserted
        ]

    def _route(self, post: Post, enrichment: Enrichment | None) -> RouteDecision:
        if self._router is None or enrichment is None:
            return route_by_channel(self._policy, post.channel, "The post was not understood")
        return self._router(post, enrichment)

    def _open_items(self, session: Session, stored: list[Stored], now: datetime) -> int:
        """Create one routed item per stored post that needs attention, with its audit event."""
        items: list[dict[str, Any]] = []
        for row_id, post, enrichment in stored:
            if not needs_item(post):
                continue
            decision = self._route(post, enrichment)
            # A rule that closes (spam, chatter) files the item as done at once, with no SLA.
            first_due, resolution_due = (
                (None, None)
                if decision.close
                else (
                    due_at(now, decision.sla_first_response_minutes),
                    due_at(now, decision.sla_resolution_minutes),
                )
            )
            items.append(
                {
                    "post_pk": row_id,
                    "department": decision.department,
                    "channel": post.channel,
                    "status": ItemStatus.DONE if decision.close else ItemStatus.NEW,
                    "resolved_at": now if decision.close else None,
                    "rule": decision.rule,
                    "why": decision.why,
                    "priority": decision.priority,
                    "supporting": list(decision.supporting),
                    "tags": list(decision.tags),
                    "sla_first_response_minutes": decision.sla_first_response_minutes,
                    "sla_resolution_minutes": decision.sla_resolution_minutes,
                    "matched": dict(decision.matched),
                    "activity": decision.activity,
                    # An `escalate` rule starts one step up: the approver takes it.
                    "escalation_level": 1 if decision.escalate else 0,
                    "first_response_due_at": first_due,
                    "resolution_due_at": resolution_due,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        if not items:
            return 0
        ids = self._insert_items(session, items)
        session.execute(
            AUDIT.insert(),
            [
                {
                    "at": now,
                    "actor": SYSTEM,
                    "action": "item.routed",
                    "subject_type": "item",
                    "subject_id": str(item_id),
                    "why": item["why"],
                    "details": {
                        "department": item["department"],
                        "rule": item["rule"],
                        "supporting": item["supporting"],
                        "priority": item["priority"],
                        "matched": item["matched"],
                        "closed": item["status"] == ItemStatus.DONE,
                    },
                }
                for item_id, item in zip(ids, items, strict=True)
            ],
        )
        emit_many(session, "item.routed", webhook_events.item_routed(ids, items, stored), now)
        return len(items)

    @staticmethod
    def _insert_items(session: Session, items: list[dict[str, Any]]) -> list[int]:
        result = session.execute(
            ITEMS.insert().returning(ITEMS.c.id, sort_by_parameter_order=True),
            items,
        )
        return [row[0] for row in result]
