"""The SQL of key results: one GROUP BY per key result and set of periods, portable between
SQLite and PostgreSQL (periods are a CASE over UTC bounds, ``insights.sql.bucket_of``).

What each metric counts, over the periods' bounds (``starts[0]`` to ``end``):

- posts: public posts Townhall heard, company-wide, by ``created_at`` (a department narrows
  them to posts routed to it);
- items: items opened in the period, of the key result's department (default the
  objective's): company-wide figures, a median and a share that reveal no item;
- replies and posts of ours: outbox posts published in the period;
- readings: the values people recorded, by the day they are for. Readings are few (people
  type them), so the last one of a period is picked in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Any, TypeVarTuple

from sqlalchemy import Integer, Select, String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from townhall.insights.objectives import Tally
from townhall.insights.sql import bucket_of, elapsed_seconds
from townhall.models import (
    Campaign,
    Item,
    KpiReading,
    OutboxKind,
    OutboxPost,
    OutboxStatus,
    PostRecord,
)
from townhall.org.objectives import ALL_DEPARTMENTS, Aggregate, Kpi, Metric, Objective
from townhall.publishing.localtime import local

Row = TypeVarTuple("Row")


def department_of(objective: Objective, kpi: Kpi) -> str | None:
    """The department a key result counts (None: every one): its own, else for items and
    replies the objective's; posts are company-wide unless it names one."""
    if kpi.department == ALL_DEPARTMENTS:
        return None
    if kpi.department is not None:
        return kpi.department
    if kpi.measure in (Metric.FIRST_REPLY_MINUTES, Metric.SLA_COMPLIANCE, Metric.REPLIES_SENT):
        return objective.department
    return None


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _topic(topic: str) -> Any:
    return cast(PostRecord.topics, String).contains(f'"{topic}"', autoescape=True)


def _post_filters(query: Select[*Row], kpi: Kpi) -> Select[*Row]:
    if kpi.channel:
        query = query.where(PostRecord.channel == kpi.channel)
    if kpi.country:
        query = query.where(PostRecord.country == kpi.country)
    if kpi.topic:
        query = query.where(_topic(kpi.topic))
    return query


def tallies(
    session: Session,
    objective: Objective,
    kpi: Kpi,
    starts: Sequence[datetime],
    end: datetime,
    *,
    now: datetime,
    where: tzinfo,
) -> list[Tally]:
    """One tally per period: period ``i`` runs from ``starts[i]`` to ``starts[i + 1]`` (the
    last to ``end``, exclusive). ``now`` decides which unanswered items are late; ``where``
    is the zone whose days readings are for."""
    if not starts:
        return []
    metric = kpi.measure
    department = department_of(objective, kpi)
    if metric is Metric.READING:
        return _readings(session, kpi, starts, end, where)
    if metric is Metric.FIRST_REPLY_MINUTES:
        return _first_replies(session, kpi, department, starts, end)
    if metric is Metric.SLA_COMPLIANCE:
        return _sla(session, kpi, department, starts, end, now)
    if metric in (Metric.REPLIES_SENT, Metric.POSTS_PUBLISHED):
        return _outbox(session, objective, kpi, department, starts, end)
    return _posts(session, kpi, department, starts, end)


def _spread(starts: Sequence[datetime], found: dict[int, Tally]) -> list[Tally]:
    return [found.get(i, Tally()) for i in range(len(starts))]


def _posts(
    session: Session,
    kpi: Kpi,
    department: str | None,
    starts: Sequence[datetime],
    end: datetime,
) -> list[Tally]:
    index = bucket_of(PostRecord.created_at, starts).label("bucket")
    label = PostRecord.sentiment_label
    metric = kpi.measure
    if metric is Metric.NEGATIVE_SHARE:
        hits, total = _count(label == "negative"), func.count(PostRecord.id)
    elif metric is Metric.POSITIVE_SHARE:
        hits, total = _count(label == "positive"), func.count(PostRecord.id)
    elif metric is Metric.BRAND_HEALTH:
        hits, total = _count(label == "positive"), _count(label.in_(("positive", "negative")))
    else:  # mentions
        hits, total = func.count(PostRecord.id), func.count(PostRecord.id)
    query = select(index, hits, total).where(
        PostRecord.created_at >= starts[0], PostRecord.created_at < end
    )
    query = _post_filters(query, kpi)
    if department is not None:
        query = query.join(Item, Item.post_pk == PostRecord.id).where(Item.department == department)
    rows = session.execute(query.group_by(index)).all()
    found = {int(i): Tally(float(h), int(t), rows=int(t)) for i, h, t in rows}
    return _spread(starts, found)


def _items(
    query: Select[*Row],
    kpi: Kpi,
    department: str | None,
    starts: Sequence[datetime],
    end: datetime,
) -> Select[*Row]:
    query = query.where(Item.created_at >= starts[0], Item.created_at < end)
    if department is not None:
        query = query.where(Item.department == department)
    if kpi.channel or kpi.country or kpi.topic:
        query = _post_filters(query.join(PostRecord, PostRecord.id == Item.post_pk), kpi)
    return query


def _first_replies(
    session: Session,
    kpi: Kpi,
    department: str | None,
    starts: Sequence[datetime],
    end: datetime,
) -> list[Tally]:
    index = bucket_of(Item.created_at, starts).label("bucket")
    seconds = elapsed_seconds(Item.created_at, Item.first_responded_at)
    # Whole seconds first: SQLite's julianday arithmetic makes 90 minutes 5399.99 seconds.
    minute = cast(func.floor(func.round(seconds) / 60.0), Integer).label("minute")
    query = _items(
        select(index, minute, func.count(Item.id)).where(Item.first_responded_at.is_not(None)),
        kpi,
        department,
        starts,
        end,
    ).group_by(index, minute)
    histograms: dict[int, dict[int, int]] = {}
    for i, m, n in session.execute(query):
        bucket = histograms.setdefault(int(i), {})
        bucket[max(int(m), 0)] = bucket.get(max(int(m), 0), 0) + int(n)
    found = {i: Tally(minutes=h, rows=sum(h.values())) for i, h in histograms.items()}
    return _spread(starts, found)


def _sla(
    session: Session,
    kpi: Kpi,
    department: str | None,
    starts: Sequence[datetime],
    end: datetime,
    now: datetime,
) -> list[Tally]:
    index = bucket_of(Item.created_at, starts).label("bucket")
    due, answered = Item.first_response_due_at, Item.first_responded_at
    within = and_(answered.is_not(None), answered <= due)
    late = or_(and_(answered.is_not(None), answered > due), and_(answered.is_(None), due < now))
    query = _items(
        select(index, _count(within), _count(late)).where(due.is_not(None)),
        kpi,
        department,
        starts,
        end,
    ).group_by(index)
    found = {
        int(i): Tally(float(w), int(w) + int(lt), rows=int(w) + int(lt))
        for i, w, lt in session.execute(query)
    }
    return _spread(starts, found)


def _outbox(
    session: Session,
    objective: Objective,
    kpi: Kpi,
    department: str | None,
    starts: Sequence[datetime],
    end: datetime,
) -> list[Tally]:
    index = bucket_of(OutboxPost.published_at, starts).label("bucket")
    query = select(index, func.count(OutboxPost.id)).where(
        OutboxPost.status == OutboxStatus.PUBLISHED,
        OutboxPost.published_at >= starts[0],
        OutboxPost.published_at < end,
    )
    if kpi.channel:
        query = query.where(OutboxPost.channel == kpi.channel)
    if kpi.measure is Metric.REPLIES_SENT:
        query = query.where(OutboxPost.kind == OutboxKind.REPLY)
        if department is not None:
            query = query.where(OutboxPost.department == department)
        if kpi.country or kpi.topic:
            query = query.join(PostRecord, PostRecord.post_id == OutboxPost.reply_to)
            if kpi.country:
                query = query.where(PostRecord.country == kpi.country)
            if kpi.topic:
                query = query.where(_topic(kpi.topic))
    else:
        campaigns = select(Campaign.id).where(Campaign.objective_id == objective.id)
        query = query.where(
            OutboxPost.kind.in_((OutboxKind.POST, OutboxKind.TAKEOVER)),
            or_(
                OutboxPost.objective_id == objective.id,
                and_(  # posts written before they carried their campaign's objective
                    OutboxPost.objective_id.is_(None),
                    OutboxPost.campaign_id.in_(campaigns.scalar_subquery()),
                ),
            ),
        )
    found = {
        int(i): Tally(float(n), int(n), rows=int(n))
        for i, n in session.execute(query.group_by(index))
    }
    return _spread(starts, found)


def _readings(
    session: Session, kpi: Kpi, starts: Sequence[datetime], end: datetime, where: tzinfo
) -> list[Tally]:
    index = bucket_of(KpiReading.measured_on, starts).label("bucket")
    bounds = (
        KpiReading.kpi == kpi.id,
        KpiReading.measured_on >= starts[0],
        KpiReading.measured_on < end,
        *((KpiReading.country == kpi.country,) if kpi.country else ()),
    )
    if kpi.total is Aggregate.SUM:
        query = (
            select(index, func.sum(KpiReading.value), func.count(KpiReading.id))
            .where(*bounds)
            .group_by(index)
        )
        found = {int(i): Tally(float(s or 0.0), rows=int(n)) for i, s, n in session.execute(query)}
        return _spread(starts, found)
    rows = session.execute(
        select(index, KpiReading.measured_on, KpiReading.value)
        .where(*bounds)
        .order_by(KpiReading.measured_on, KpiReading.recorded_at, KpiReading.id)
    ).all()
    found = {}
    for i, measured_on, value in rows:  # in order: the last one of a period stands
        found[int(i)] = Tally(latest=(_day(measured_on, where), float(value)), rows=1)
    return _spread(starts, found)


def _day(moment: datetime, where: tzinfo) -> date:
    from datetime import UTC

    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return local(aware, where).date()


def published_by_campaign(session: Session) -> list[tuple[str, int, str, str, int]]:
    """Campaigns that serve an objective: (objective id, campaign id, name, department,
    posts published), in name order."""
    published = _count(OutboxPost.status == OutboxStatus.PUBLISHED)
    query = (
        select(Campaign.objective_id, Campaign.id, Campaign.name, Campaign.department, published)
        .outerjoin(OutboxPost, OutboxPost.campaign_id == Campaign.id)
        .where(Campaign.objective_id.is_not(None), Campaign.archived_at.is_(None))
        .group_by(Campaign.objective_id, Campaign.id, Campaign.name, Campaign.department)
        .order_by(Campaign.name, Campaign.id)
    )
    return [(str(o), int(i), str(n), str(d), int(p)) for o, i, n, d, p in session.execute(query)]
