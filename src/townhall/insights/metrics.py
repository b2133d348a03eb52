"""Every query of the dashboards: one or two GROUP BY statements per panel, portable between
SQLite and PostgreSQL (day buckets are a CASE over UTC bounds, see ``insights.sql``).

What each panel counts:

- posts (volume, sentiment, intent, share of voice, authors, countries) are public posts
  Townhall heard, company-wide; with a department filter, only posts routed to that
  department (an item of it), which the caller checks the person may see;
- items (response times, SLA compliance) are only those the person may see (``Visibility``);
- crisis rooms are company-wide counts by week and outcome (no title, no story).

Totals, volume, intents, countries, share of voice and volume per topic read the hourly
rollups (``insights.rollups``) when the filter has no department and its bounds are whole UTC
hours (every zone with a whole-hour offset); otherwise, and for the other panels, they read
the posts. Both give the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Integer, Select, String, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from townhall.cases.repository import visible_items
from townhall.insights import rollups
from townhall.insights.periods import Bucket
from townhall.insights.sql import bucket_of, elapsed_seconds
from townhall.models import CrisisRoom, Item, PostRecord, PostRollup, User

SENTIMENTS = ("positive", "neutral", "negative")

Row = TypeVarTuple("Row")


@dataclass(frozen=True)
class Visibility:
    """The departments whose items a person sees (``Permit.departments()`` as plain data)."""

    departments: frozenset[str]
    supported_by: str | None = None
    everything: bool = False

    def condition(self) -> ColumnElement[bool]:
        """The items this visibility allows, as a WHERE clause."""
        if self.everything:
            return Item.id.is_not(None)
        return visible_items(self.departments, self.supported_by)


@dataclass(frozen=True)
class Filter:
    """What a dashboard looks at: UTC bounds (end exclusive), and optionally one channel and
    one department."""

    start: datetime
    end: datetime
    channel: str | None = None
    department: str | None = None


def posts_in(query: Select[*Row], flt: Filter) -> Select[*Row]:
    """``query`` limited to the posts of the filter: the period, the channel, and with a
    department only the posts routed to it (an item of it)."""
    query = query.where(PostRecord.created_at >= flt.start, PostRecord.created_at < flt.end)
    if flt.channel:
        query = query.where(PostRecord.channel == flt.channel)
    if flt.department:
        query = query.join(Item, Item.post_pk == PostRecord.id).where(
            Item.department == flt.department
        )
    return query


def _rolled(flt: Filter) -> bool:
    """Whether the rollups answer ``flt`` exactly: no department, whole-hour bounds."""
    return (
        flt.department is None and rollups.whole_hours(flt.start) and rollups.whole_hours(flt.end)
    )


def _rollup(query: Select[*Row], flt: Filter, dimension: str) -> Select[*Row]:
    query = query.where(
        PostRollup.dimension == dimension, PostRollup.hour >= flt.start, PostRollup.hour < flt.end
    )
    if flt.channel:
        query = query.where(PostRollup.channel == flt.channel)
    return query


def _items(query: Select[*Row], flt: Filter, seen: Visibility) -> Select[*Row]:
    query = query.where(Item.created_at >= flt.start, Item.created_at < flt.end, seen.condition())
    if flt.department:
        query = query.where(Item.department == flt.department)
    if flt.channel:  # the item's own copy of its post's channel: no join to the posts (0023)
        query = query.where(Item.channel == flt.channel)
    return query


# -- posts ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Totals:
    """Posts in a period and how many of them were positive and negative."""

    posts: int
    positive: int
    negative: int

    @property
    def health(self) -> float | None:
        """Brand health: positive / (positive + negative), None with neither."""
        both = self.positive + self.negative
        return self.positive / both if both else None


def _label_sum(label: str) -> Any:
    return func.coalesce(func.sum(case((PostRecord.sentiment_label == label, 1), else_=0)), 0)


def totals(session: Session, flt: Filter) -> Totals:
    """Posts, positive and negative posts in the filter (one query)."""
    if _rolled(flt):
        rolled = _rollup(
            select(PostRollup.value, func.sum(PostRollup.posts)), flt, "sentiment"
        ).group_by(PostRollup.value)
        found = {str(v): int(n) for v, n in session.execute(rolled)}
        return Totals(sum(found.values()), found.get("positive", 0), found.get("negative", 0))
    query = posts_in(
        select(func.count(PostRecord.id), _label_sum("positive"), _label_sum("negative")), flt
    )
    posts, positive, negative = session.execute(query).one()
    return Totals(int(posts), int(positive), int(negative))


@dataclass(frozen=True)
class DayCount:
    """Posts of one sentiment in one bucket (``day`` is the bucket's first day)."""

    day: date
    sentiment: str
    posts: int


def volume(session: Session, flt: Filter, buckets: Sequence[Bucket]) -> list[DayCount]:
    """Posts per bucket and sentiment (every bucket and sentiment, zeros included); a post
    without a sentiment counts as neutral."""
    if not buckets:
        return []
    starts = [b.start for b in buckets]
    query: Select[int, str, int]
    if _rolled(flt):
        index = bucket_of(PostRollup.hour, starts).label("bucket")
        query = _rollup(
            select(index, PostRollup.value, func.sum(PostRollup.posts)), flt, "sentiment"
        ).group_by(index, PostRollup.value)
    else:
        index = bucket_of(PostRecord.created_at, starts).label("bucket")
        label = func.coalesce(PostRecord.sentiment_label, "neutral").label("label")
        query = posts_in(select(index, label, func.count(PostRecord.id)), flt).group_by(
            index, label
        )
    found = {(int(i), str(s)): int(n) for i, s, n in session.execute(query)}
    return [
        DayCount(bucket.first, sentiment, found.get((n, sentiment), 0))
        for n, bucket in enumerate(buckets)
        for sentiment in SENTIMENTS
    ]


def intents(session: Session, flt: Filter) -> list[tuple[str, int]]:
    """Posts per intent (``other`` for posts not understood), most first."""
    if _rolled(flt):
        return _ranked(session, flt, "intent")
    intent = func.coalesce(PostRecord.intent, "other").label("intent")
    count = func.count(PostRecord.id)
    query = posts_in(select(intent, count), flt).group_by(intent).order_by(count.desc(), intent)
    return [(str(i), int(n)) for i, n in session.execute(query)]


def _ranked(session: Session, flt: Filter, dimension: str) -> list[tuple[str, int]]:
    """Posts per value of ``dimension`` from the rollups, most first (ties by value)."""
    count = func.sum(PostRollup.posts)
    query = _rollup(select(PostRollup.value, count), flt, dimension).group_by(PostRollup.value)
    return [
        (str(v), int(n))
        for v, n in session.execute(query.order_by(count.desc(), PostRollup.value))
        if n
    ]


def _names(prefix: str, topic: str) -> bool:
    """Whether a post's ``topic`` counts for a voice's ``prefix``: what the posts' query asks
    of the list's JSON text (a string in it starting with the prefix), asked of one topic."""
    return f'"{prefix}' in json.dumps(topic)


def topic_lists_rolled(
    session: Session,
    flt: Filter,
    index: ColumnElement[int] | None = None,
    dimension: str = "topics",
) -> list[tuple[int, tuple[str, ...], int]] | None:
    """From the ``topics`` (or ``voices``) rollups: (bucket index or 0, distinct topics,
    posts) per bucket and topics list (posts without topics left out), or None when the
    rollups cannot answer (``_rolled``, or a list too long for a rollup row in the filter)."""
    if not _rolled(flt):
        return None
    bucket = (index if index is not None else literal(0)).label("bucket")
    query = _rollup(
        select(bucket, PostRollup.value, func.sum(PostRollup.posts)), flt, dimension
    ).group_by(bucket, PostRollup.value)
    rows = [(int(i), str(v), int(n)) for i, v, n in session.execute(query)]
    if any(v == rollups.TOO_LONG for _, v, _ in rows):
        return None
    return [(i, rollups.topics_of(v), n) for i, v, n in rows if n]


def share_of_voice(
    session: Session, flt: Filter, voices: Sequence[tuple[str, Sequence[str]]]
) -> list[tuple[str, int]]:
    """Posts mentioning each voice, in the order given: a voice is (name, topic prefixes or
    ids), e.g. ("ACME", ["brand:", "product:"]), ("Globex", ["competitor:globex"]). A post
    that names two voices counts for both. One query: a SUM per voice over the posts, or,
    when every prefix is of a kind the ``voices`` rollups keep, over their lists (a few
    rows per hour and channel)."""
    if not voices:
        return []
    answerable = all(rollups.voice_answers(p) for _, prefixes in voices for p in prefixes)
    lists = topic_lists_rolled(session, flt, dimension="voices") if answerable else None
    if lists is not None:
        return [
            (
                name,
                sum(
                    n
                    for _, topics, n in lists
                    if any(_names(p, t) for p in prefixes for t in topics)
                ),
            )
            for name, prefixes in voices
        ]
    text = cast(PostRecord.topics, String)

    def mentions(prefixes: Sequence[str]) -> Any:
        hit = or_(*(text.contains(f'"{p}', autoescape=True) for p in prefixes))
        return func.coalesce(func.sum(case((hit, 1), else_=0)), 0)

    query = posts_in(select(*(mentions(prefixes) for _, prefixes in voices)), flt)
    row = session.execute(query).one()
    return [(name, int(n)) for (name, _), n in zip(voices, row, strict=True)]


@dataclass(frozen=True)
class AuthorRow:
    """One author: posts in the period and their largest follower count seen then."""

    handle: str
    name: str
    channel: str
    posts: int
    followers: int


def top_authors(
    session: Session, flt: Filter, *, by: str = "posts", limit: int = 10
) -> list[AuthorRow]:
    """The authors with most posts (``by="posts"``) or most followers (``by="reach"``)."""
    posts = func.count(PostRecord.id)
    followers = func.max(PostRecord.author_followers)
    query = posts_in(
        select(
            PostRecord.author_handle,
            func.max(PostRecord.author_name),
            PostRecord.channel,
            posts,
            followers,
        ),
        flt,
    ).group_by(PostRecord.author_handle, PostRecord.channel)
    first, second = (posts, followers) if by == "posts" else (followers, posts)
    query = query.order_by(first.desc(), second.desc(), PostRecord.author_handle).limit(limit)
    return [
        AuthorRow(str(h), str(n or h), str(c), int(p), int(f or 0))
        for h, n, c, p, f in session.execute(query)
    ]


def countries(session: Session, flt: Filter) -> list[tuple[str, int]]:
    """Posts per country (ISO 3166-1 alpha-2, ``""`` for unknown), most first."""
    if _rolled(flt):
        return _ranked(session, flt, "country")
    country = func.coalesce(PostRecord.country, "").label("country")
    count = func.count(PostRecord.id)
    query = posts_in(select(country, count), flt).group_by(country).order_by(count.desc(), country)
    return [(str(c), int(n)) for c, n in session.execute(query)]


# -- items ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Durations:
    """How long something took for a group of items: count, mean, and a histogram of whole
    minutes (minute → items) from which the median is read."""

    key: str
    items: int
    mean_seconds: float
    minutes: dict[int, int]


def response_times(
    session: Session, flt: Filter, seen: Visibility, *, clock: str, by: str
) -> list[Durations]:
    """First-reply (``clock="first_reply"``) or resolution (``"resolution"``) times of the
    items created in the filter, per department (``by="department"``) or per assignee
    (``by="person"``, keyed by name). Two queries: the means, and the minute histogram."""
    done = Item.first_responded_at if clock == "first_reply" else Item.resolved_at
    seconds = elapsed_seconds(Item.created_at, done)
    if by == "department":
        key: Any = Item.department
        base = select(key)
    else:
        key = func.coalesce(User.name, "Nobody")
        base = select(key).outerjoin(User, User.id == Item.assignee_id)
    where = [done.is_not(None)]
    means = _items(
        base.add_columns(func.count(Item.id), func.avg(seconds)).where(*where), flt, seen
    ).group_by(key)
    minute = cast(func.floor(seconds / 60.0), Integer).label("minute")
    hist = _items(base.add_columns(minute, func.count(Item.id)).where(*where), flt, seen).group_by(
        key, minute
    )
    histograms: dict[str, dict[int, int]] = {}
    for k, m, n in session.execute(hist):
        histograms.setdefault(str(k), {})[max(int(m), 0)] = int(n)
    rows = [
        Durations(str(k), int(n), max(float(avg or 0.0), 0.0), histograms.get(str(k), {}))
        for k, n, avg in session.execute(means)
    ]
    return sorted(rows, key=lambda r: r.key)


@dataclass(frozen=True)
class SlaRow:
    """First-response SLA of one department's items: answered in time, late (answered late
    or overdue unanswered), and still running."""

    department: str
    within: int
    late: int
    running: int

    @property
    def compliance(self) -> float | None:
        """Share answered within the SLA among items whose clock has decided, or None."""
        decided = self.within + self.late
        return self.within / decided if decided else None


def sla_compliance(session: Session, flt: Filter, seen: Visibility, now: datetime) -> list[SlaRow]:
    """Per department, items created in the filter that had a first-response SLA (one query)."""
    due, answered = Item.first_response_due_at, Item.first_responded_at
    within = and_(answered.is_not(None), answered <= due)
    late = or_(and_(answered.is_not(None), answered > due), and_(answered.is_(None), due < now))

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = _items(
        select(Item.department, total(within), total(late), func.count(Item.id)).where(
            due.is_not(None)
        ),
        flt,
        seen,
    ).group_by(Item.department)
    rows = [
        SlaRow(str(d), int(w), int(lt), int(n) - int(w) - int(lt))
        for d, w, lt, n in session.execute(query)
    ]
    return sorted(rows, key=lambda r: r.department)


# -- crises -----------------------------------------------------------------------------------
def crisis_history(session: Session, buckets: Sequence[Bucket]) -> list[tuple[date, str, int]]:
    """Crisis rooms opened per bucket and outcome (``open`` while a room is not resolved,
    else its outcome or ``resolved``): (bucket's first day, outcome, rooms)."""
    if not buckets:
        return []
    index = bucket_of(CrisisRoom.opened_at, [b.start for b in buckets]).label("bucket")
    outcome = case(
        (CrisisRoom.resolved_at.is_(None), "open"),
        else_=func.coalesce(CrisisRoom.outcome, "resolved"),
    ).label("outcome")
    query = (
        select(index, outcome, func.count(CrisisRoom.id))
        .where(CrisisRoom.opened_at >= buckets[0].start, CrisisRoom.opened_at < buckets[-1].end)
        .group_by(index, outcome)
    )
    rows = [(buckets[int(i)].first, str(o), int(n)) for i, o, n in session.execute(query)]
    return sorted(rows)
