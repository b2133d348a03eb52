"""Rollups: post counts per UTC hour, channel and dimension, so the dashboards' post panels
read a few rows per hour instead of every post.

A row of ``post_rollups`` says how many posts of one channel created in one UTC hour had one
value of one dimension: ``sentiment`` (a post without one counts as neutral), ``intent``
(``other`` when not understood), ``country`` (``""`` when unknown), ``topic`` (once per
distinct topic of a post) and ``topics`` (a post with topics once, under its whole list of
distinct topics, sorted, as JSON: what "other topics" needs, since a post naming two other
topics counts once there) and ``voices`` (the same, keeping only the brand's, products' and
competitors' topics, ``VOICE_KINDS``: a few values an hour, for share of voice). A list too
long for the column counts under ``TOO_LONG``, and the panels then read the posts. The
hour is in UTC, so a day in any zone whose offset is whole hours is a run of whole hours,
and the dashboards bucket exactly.

``add`` is called by the pipeline in the transaction that stores the posts, with the rows it
actually inserted: a duplicate post never counts, and a rolled-back (retried) batch takes its
counts with it. The upsert adds ``posts + excluded.posts`` in the database, so concurrent
workers on PostgreSQL never lose an increment. ``rebuild`` recounts everything from the posts.

Nothing else changes a stored post's sentiment, intent, country or topics today; whatever
starts doing so must call ``rebuild`` (``townhall insights rebuild-rollups``) or adjust the
counts in its own transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, cast, delete, event, func, insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from townhall.models import PostRecord, PostRollup
from townhall.models.base import UTCDateTime

DIMENSIONS = ("sentiment", "intent", "country", "topic", "topics", "voices")
"""What a rollup row can count posts by."""

VALUE_LENGTH = 1024
"""The longest value a rollup row holds (``post_rollups.value``)."""

TOO_LONG = "\u2026"
"""The ``topics`` value of a post whose topics list does not fit in ``VALUE_LENGTH``."""

VOICE_KINDS = ("brand", "product", "competitor")
"""The kinds of topic (the id before ``:``) a ``voices`` row keeps: those share of voice asks
about (``dashboard.voices``)."""

Key = tuple[str, datetime, str, str]
"""(dimension, UTC hour, channel, value)."""

_CHUNK = 5_000


def hour_of(moment: datetime) -> datetime:
    """The UTC hour ``moment`` falls in (an aware datetime at a whole hour)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def whole_hours(moment: datetime) -> bool:
    """Whether ``moment`` is a whole UTC hour (a bound the rollups can answer exactly)."""
    return hour_of(moment) == moment.astimezone(UTC)


def topics_value(topics: Iterable[object]) -> str | None:
    """The ``topics`` rollup value of a post's topics: its distinct topics, sorted, as a JSON
    list (``TOO_LONG`` if that exceeds ``VALUE_LENGTH``); None for a post without topics."""
    distinct = sorted({str(t) for t in topics})
    if not distinct:
        return None
    text = json.dumps(distinct)
    return text if len(text) <= VALUE_LENGTH else TOO_LONG


def voices_value(topics: Iterable[object]) -> str | None:
    """The ``voices`` rollup value of a post's topics: ``topics_value`` of the topics of a
    kind in ``VOICE_KINDS`` (and of any with a ``"`` in it, which a voice's text match may
    find inside); None if the post has none."""
    return topics_value(
        t for t in (str(t) for t in topics) if t.partition(":")[0] in VOICE_KINDS or '"' in t
    )


def voice_answers(prefix: str) -> bool:
    """Whether the ``voices`` rollups can count a voice's topic ``prefix``: every topic it
    names is of a kind in ``VOICE_KINDS``."""
    kind, colon, _ = prefix.partition(":")
    return bool(colon) and kind in VOICE_KINDS


def topics_of(value: str) -> tuple[str, ...]:
    """The topics of a ``topics`` rollup value (not ``TOO_LONG``)."""
    return tuple(str(t) for t in json.loads(value))


def counts(rows: Iterable[Mapping[str, Any]]) -> Counter[Key]:
    """The rollup counts of post rows (``created_at``, ``channel``, ``sentiment_label``,
    ``intent``, ``country``, ``topics``, as the pipeline inserts them). Pure."""
    out: Counter[Key] = Counter()
    for row in rows:
        hour, channel = hour_of(row["created_at"]), str(row["channel"])
        out["sentiment", hour, channel, row.get("sentiment_label") or "neutral"] += 1
        out["intent", hour, channel, row.get("intent") or "other"] += 1
        out["country", hour, channel, row.get("country") or ""] += 1
        topics = row.get("topics") or ()
        for topic in sorted({str(t) for t in topics}):
            out["topic", hour, channel, topic] += 1
        if (listed := topics_value(topics)) is not None:
            out["topics", hour, channel, listed] += 1
        if (voiced := voices_value(topics)) is not None:
            out["voices", hour, channel, voiced] += 1
    return out


def _upsert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    keys = ["dimension", "hour", "channel", "value"]
    if dialect == "postgresql":
        pg = postgresql.insert(PostRollup)
        return pg.on_conflict_do_update(
            index_elements=keys, set_={"posts": PostRollup.posts + pg.excluded.posts}
        )
    if dialect == "sqlite":
        lite = sqlite.insert(PostRollup)
        return lite.on_conflict_do_update(
            index_elements=keys, set_={"posts": PostRollup.posts + lite.excluded.posts}
        )
    raise NotImplementedError(f"unsupported database: {dialect}")


def _values(found: Counter[Key]) -> list[dict[str, Any]]:
    # Sorted, so two workers take the rows' locks in the same order (no deadlock).
    return [
        {"dimension": d, "hour": h, "channel": c, "value": v, "posts": n}
        for (d, h, c, v), n in sorted(found.items())
        if n
    ]


def add(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Count the post rows just inserted into the rollups (in the caller's transaction);
    returns how many rollup rows were touched."""
    values = _values(counts(rows))
    statement = _upsert(session)
    for start in range(0, len(values), _CHUNK):
        session.execute(statement, values[start : start + _CHUNK])
    return len(values)


class hour_start(FunctionElement[datetime]):
    """The UTC hour a timestamp column falls in (compiled per dialect)."""

    type = UTCDateTime()
    inherit_cache = True
    name = "hour_start"


@compiles(hour_start)
def _hour_default(element: hour_start, compiler: Any, **kw: Any) -> str:
    (column,) = list(element.clauses)
    inner = compiler.process(column, **kw)
    return f"(date_trunc('hour', {inner} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


@compiles(hour_start, "sqlite")
def _hour_sqlite(element: hour_start, compiler: Any, **kw: Any) -> str:
    (column,) = list(element.clauses)
    return f"strftime('%Y-%m-%d %H:00:00.000000', {compiler.process(column, **kw)})"


def recount(session: Session) -> Counter[Key]:
    """The rollup counts recomputed from the stored posts (GROUP BY hour, channel and value;
    topics grouped by their list's text and split here)."""
    hour = hour_start(PostRecord.created_at).label("hour")
    columns = {
        "sentiment": func.coalesce(PostRecord.sentiment_label, "neutral"),
        "intent": func.coalesce(PostRecord.intent, "other"),
        "country": func.coalesce(PostRecord.country, ""),
    }
    out: Counter[Key] = Counter()
    for dimension, column in columns.items():
        value = column.label("value")
        query = select(hour, PostRecord.channel, value, func.count(PostRecord.id)).group_by(
            hour, PostRecord.channel, value
        )
        for h, channel, v, n in session.execute(query):
            out[dimension, hour_of(h), str(channel), str(v)] += int(n)
    text = cast(PostRecord.topics, String).label("topics")
    query = select(hour, PostRecord.channel, text, func.count(PostRecord.id)).group_by(
        hour, PostRecord.channel, text
    )
    for h, channel, raw, n in session.execute(query):
        topics = (json.loads(raw) if raw else None) or ()
        for topic in sorted({str(t) for t in topics}):
            out["topic", hour_of(h), str(channel), topic] += int(n)
        if (listed := topics_value(topics)) is not None:
            out["topics", hour_of(h), str(channel), listed] += int(n)
        if (voiced := voices_value(topics)) is not None:
            out["voices", hour_of(h), str(channel), voiced] += int(n)
    return out


def stored(session: Session) -> Counter[Key]:
    """The rollup counts as stored."""
    query = select(PostRollup.dimension, PostRollup.hour, PostRollup.channel, PostRollup.value)
    return Counter(
        {
            (str(d), hour_of(h), str(c), str(v)): int(n)
            for d, h, c, v, n in session.execute(query.add_columns(PostRollup.posts))
            if n
        }
    )


def rebuild(session: Session, progress: Callable[[int, int], None] | None = None) -> int:
    """Replace every rollup row with a recount of the posts (in the caller's transaction);
    ``progress(done, total)`` is told after each chunk of rows written. Returns the rows."""
    values = _values(recount(session))
    session.execute(delete(PostRollup))
    for start in range(0, len(values), _CHUNK):
        session.execute(insert(PostRollup), values[start : start + _CHUNK])
        if progress is not None:
            progress(min(start + _CHUNK, len(values)), len(values))
    return len(values)


# -- posts written through the ORM -----------------------------------------------------------
_COUNTED = ("created_at", "channel", "sentiment_label", "intent", "country", "topics")


def _as_row(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: values.get(name) for name in _COUNTED}


def _before(record: PostRecord) -> dict[str, Any] | None:
    """The counted fields of ``record`` as stored before this flush, or None if unchanged."""
    state = inspect(record)
    old: dict[str, Any] = {}
    changed = False
    for name in _COUNTED:
        history = state.attrs[name].history
        if history.added or history.deleted:
            changed = True
            old[name] = history.deleted[0] if history.deleted else None
        else:
            old[name] = state.dict.get(name)
    return old if changed else None


@event.listens_for(Session, "after_flush")
def _follow_orm_writes(session: Session, _context: Any) -> None:
    """Keep the rollups right for posts added, changed or deleted through the ORM (tests,
    fixtures, the demo); the pipeline's bulk inserts call ``add`` themselves."""
    found: Counter[Key] = Counter()
    for record in session.new:
        if isinstance(record, PostRecord):
            found.update(counts([_as_row(inspect(record).dict)]))
    for record in session.deleted:
        if isinstance(record, PostRecord):
            found.subtract(counts([_before(record) or _as_row(inspect(record).dict)]))
    for record in session.dirty:
        if isinstance(record, PostRecord) and (old := _before(record)) is not None:
            found.subtract(counts([old]))
            found.update(counts([_as_row(inspect(record).dict)]))
    values = _values(found)
    if values:
        session.connection().execute(_upsert(session), values)
