"""The dashboard's time panels: volume and brand health against the period before (lined up
bucket by bucket), and volume per topic. Reads only; never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from townhall.cases.crisis import topic_name
from townhall.insights import charts, metrics, topic_metrics, trend_charts
from townhall.insights.charts import Chart
from townhall.insights.metrics import Filter
from townhall.insights.periods import Bucket, Grain, Period, grain_for
from townhall.publishing.localtime import day_bounds

if TYPE_CHECKING:
    from townhall.insights.dashboard import Ask


def day_label(bucket_first: date, grain: Grain) -> str:
    """A bucket as the charts label it: "Sat 14 Nov" for a day, "09 Nov 2026" for a week."""
    return f"{bucket_first:%a %d %b}" if grain is Grain.DAY else f"{bucket_first:%d %b %Y}"


def earlier(period: Period, buckets: list[Bucket]) -> list[Bucket]:
    """``buckets`` moved back by the period's length: bucket n of the period before, so a
    panel lines the two periods up day by day (and week by week)."""
    back = timedelta(days=period.days)
    return [
        Bucket(
            b.first - back,
            b.last - back,
            day_bounds(b.first - back, period.where)[0],
            day_bounds(b.last - back, period.where)[1],
        )
        for b in buckets
    ]


@dataclass(frozen=True)
class _Days:
    """Posts per bucket and sentiment, this period and the one before (same bucket order)."""

    labels: list[str]
    before_labels: list[str]
    now: list[dict[str, int]]
    before: list[dict[str, int]]


def _days(session: Session, ask: Ask) -> _Days:
    grain = grain_for(ask.period)
    buckets = ask.period.buckets(grain)
    old_buckets = earlier(ask.period, buckets)

    def counts(flt: Filter, cut: list[Bucket]) -> list[dict[str, int]]:
        index = {b.first: n for n, b in enumerate(cut)}
        out: list[dict[str, int]] = [{} for _ in cut]
        for r in metrics.volume(session, flt, cut):
            out[index[r.day]][r.sentiment] = r.posts
        return out

    return _Days(
        [day_label(b.first, grain) for b in buckets],
        [day_label(b.first, grain) for b in old_buckets],
        counts(ask.filter(), buckets),
        counts(ask.filter(ask.period.previous()), old_buckets),
    )


def volume(session: Session, ask: Ask) -> Chart:
    """Posts per day (or week) stacked by sentiment, and the period before as a line."""
    got = _days(session, ask)
    days = [
        (label, sentiment, posts)
        for label, day in zip(got.labels, got.now, strict=True)
        for sentiment, posts in day.items()
    ]
    previous = [
        (label, then, sum(day.values()))
        for label, then, day in zip(got.labels, got.before_labels, got.before, strict=True)
    ]
    return charts.volume(days, previous)


def _health(day: dict[str, int]) -> float | None:
    both = day.get("positive", 0) + day.get("negative", 0)
    return day.get("positive", 0) / both if both else None


def health(session: Session, ask: Ask) -> Chart:
    """Brand health per day (or week), and the period before as a lighter line."""
    got = _days(session, ask)
    shares = [(label, _health(day)) for label, day in zip(got.labels, got.now, strict=True)]
    previous = [
        (label, then, _health(day))
        for label, then, day in zip(got.labels, got.before_labels, got.before, strict=True)
    ]
    return charts.health(shares, previous)


def topics(session: Session, ask: Ask) -> Chart:
    """Posts per day (or week) for the period's top topics, named, and the other topics."""
    grain = grain_for(ask.period)
    buckets = ask.period.buckets(grain)
    got = topic_metrics.topic_volume(session, ask.filter(), buckets)
    series = [(topic_name(ask.policy, t), got.per_bucket[t]) for t in got.topics]
    if got.has_others:
        series.append((trend_charts.OTHER_TOPICS, got.others))
    return trend_charts.topics([day_label(b.first, grain) for b in buckets], series)
