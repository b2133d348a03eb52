"""Key results over a fixed data set (SQLite here, PostgreSQL in CI): posts, items, our
published posts and readings, per week and now; every expectation is computed from the rows
the test inserts."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from townhall.insights import objective_queries as queries
from townhall.insights import objective_report
from townhall.insights.objectives import Status, Tally, series, value_of
from townhall.models import (
    Campaign,
    Item,
    KpiReading,
    OutboxKind,
    OutboxPost,
    OutboxStatus,
    PostRecord,
    User,
)
from townhall.org.accounts import upsert_user
from townhall.org.objectives import Kpi, Objective
from townhall.org.policy import Policy

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # London is on GMT: a Monday there too
WEEKS = [MONDAY + timedelta(days=7 * n) - timedelta(hours=9) for n in range(3)]
END = WEEKS[-1] + timedelta(days=7)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # the Sunday of the third week


@dataclass(frozen=True)
class P:
    day: int  # days after MONDAY
    channel: str
    sentiment: str | None
    country: str | None
    topics: tuple[str, ...] = ()
    department: str | None = None  # an item of this department
    reply_after: float | None = None  # minutes to the first reply
    due_after: float | None = 60.0  # minutes to the first-response due time


POSTS = [
    P(0, "mastodon", "negative", "GB", ("product:airfry_5",), "customer_service", 5, 60),
    P(1, "mastodon", "positive", "GB", ("brand:acme",), "customer_service", 90, 60),
    P(2, "bluesky", "negative", "FR", ("product:airfry_5",), "pr", 12, 60),
    P(3, "mastodon", "neutral", None),
    P(7, "mastodon", "negative", "GB", (), "customer_service", None, 30),  # overdue, unanswered
    P(8, "bluesky", "positive", "DE", ("brand:acme",), "customer_service", 20, 60),
    P(9, "mastodon", "positive", "GB", ("product:airfry_5",)),
    P(15, "mastodon", "negative", "GB", ("product:airfry_5",), "customer_service", 41, 60),
    P(16, "bluesky", None, None, (), "customer_service", None, 60 * 24 * 5),  # still running
    # Before the objective starts: never counted.
    P(-1, "mastodon", "negative", "GB", (), "customer_service", 1, 60),
]


def _at(p: P) -> datetime:
    return MONDAY + timedelta(days=p.day)


def _week(moment: datetime) -> int | None:
    for n, start in enumerate(WEEKS):
        if start <= moment < start + timedelta(days=7):
            return n
    return None


@pytest.fixture
def user(session: Session) -> User:
    return upsert_user(
        session,
        email="maya.patel@acme.example",
        name="Maya Patel",
        department="marketing",
        role="social_lead",
        password="lantern orchard quietly",
        now=NOW,
    )


@pytest.fixture
def data(session: Session, user: User) -> None:
    for n, p in enumerate(POSTS):
        record = PostRecord(
            post_id=f"{p.channel}:o{n}",
            channel=p.channel,
            external_id=f"o{n}",
            created_at=_at(p),
            ingested_at=_at(p),
            text="text",
            author_handle=f"@a{n}",
            sentiment_label=p.sentiment,
            country=p.country,
            topics=list(p.topics),
            media=[],
            extra={},
        )
        session.add(record)
        session.flush()
        if p.department:
            session.add(
                Item(
                    post_pk=record.id,
                    department=p.department,
                    rule="r",
                    why="w",
                    created_at=_at(p),
                    updated_at=_at(p),
                    first_response_due_at=None
                    if p.due_after is None
                    else _at(p) + timedelta(minutes=p.due_after),
                    first_responded_at=None
                    if p.reply_after is None
                    else _at(p) + timedelta(minutes=p.reply_after),
                )
            )
    serving = Campaign(
        slug="stores",
        name="Stores",
        department="marketing",
        objective_id="store_visits",
        starts_at=MONDAY,
        ends_at=END,
        created_by_id=user.id,
        created_at=MONDAY,
    )
    other = Campaign(
        slug="other",
        name="Other",
        department="marketing",
        objective_id="calm_conversation",
        starts_at=MONDAY,
        ends_at=END,
        created_by_id=user.id,
        created_at=MONDAY,
    )
    session.add_all([serving, other])
    session.flush()
    for n, (kind, status, day, campaign, objective, department, reply_to) in enumerate(OUTBOX):
        cid = {"stores": serving.id, "other": other.id}.get(campaign or "")
        session.add(
            OutboxPost(
                channel="mastodon",
                kind=kind,
                text="ours",
                department=department,
                status=status,
                key=f"k{n}",
                author_id=user.id,
                campaign_id=cid,
                objective_id=objective,
                reply_to=reply_to,
                published_at=MONDAY + timedelta(days=day)
                if status == OutboxStatus.PUBLISHED
                else None,
                created_at=MONDAY,
                updated_at=MONDAY,
            )
        )
    for value, day, country in READINGS:
        session.add(
            KpiReading(
                kpi="store_clicks_gb",
                value=value,
                country=country,
                measured_on=MONDAY.replace(hour=0) + timedelta(days=day),
                recorded_by_id=user.id,
                recorded_at=NOW,
            )
        )
    session.flush()


OUTBOX: list[tuple[OutboxKind, OutboxStatus, int, str | None, str | None, str, str | None]] = [
    (OutboxKind.POST, OutboxStatus.PUBLISHED, 0, "stores", None, "marketing", None),
    (OutboxKind.POST, OutboxStatus.PUBLISHED, 8, "stores", None, "marketing", None),
    (OutboxKind.POST, OutboxStatus.SCHEDULED, 9, "stores", None, "marketing", None),
    (OutboxKind.POST, OutboxStatus.PUBLISHED, 9, None, "store_visits", "marketing", None),
    (OutboxKind.POST, OutboxStatus.PUBLISHED, 10, "other", None, "marketing", None),
    (OutboxKind.REPLY, OutboxStatus.PUBLISHED, 1, None, None, "customer_service", "mastodon:o0"),
    (OutboxKind.REPLY, OutboxStatus.PUBLISHED, 15, None, None, "customer_service", "bluesky:o2"),
    (OutboxKind.REPLY, OutboxStatus.PUBLISHED, 16, None, None, "pr", "mastodon:o1"),
    (OutboxKind.REPLY, OutboxStatus.FAILED, 16, None, None, "customer_service", "mastodon:o1"),
]
READINGS = [(100.0, 0, "GB"), (40.0, 3, "GB"), (70.0, 15, "GB"), (500.0, 15, "DE")]

OBJECTIVE = Objective.model_validate(
    {
        "id": "store_visits",
        "department": "customer_service",
        "starts": "2026-11-02",
        "kpis": [{"id": "x", "metric": "mentions", "target": 1, "by": "2027-03-31"}],
    }
)


def kpi(**fields: Any) -> Kpi:
    base: dict[str, Any] = {"id": "x", "by": "2027-03-31", "target": 0.5}
    return Kpi.model_validate({**base, **fields})


def tallies(session: Session, k: Kpi) -> list[Tally]:
    from zoneinfo import ZoneInfo

    return queries.tallies(
        session, OBJECTIVE, k, WEEKS, END, now=NOW, where=ZoneInfo("Europe/London")
    )


def _counted(keep: Any) -> list[list[P]]:
    out: list[list[P]] = [[] for _ in WEEKS]
    for p in POSTS:
        week = _week(_at(p))
        if week is not None and keep(p):
            out[week].append(p)
    return out


@pytest.mark.usefixtures("data")
def test_post_shares_per_week_with_filters(session: Session) -> None:
    for fields, keep in (
        ({}, lambda p: True),
        ({"channel": "mastodon"}, lambda p: p.channel == "mastodon"),
        ({"country": "GB"}, lambda p: p.country == "GB"),
        ({"topic": "product:airfry_5"}, lambda p: "product:airfry_5" in p.topics),
        ({"department": "pr"}, lambda p: p.department == "pr"),
    ):
        weeks = _counted(keep)
        negative = tallies(session, kpi(metric="negative_share", **fields))
        assert [(t.hits, t.total) for t in negative] == [
            (sum(p.sentiment == "negative" for p in w), len(w)) for w in weeks
        ], fields
        health = tallies(session, kpi(metric="brand_health", **fields))
        assert [(t.hits, t.total) for t in health] == [
            (
                sum(p.sentiment == "positive" for p in w),
                sum(p.sentiment in ("positive", "negative") for p in w),
            )
            for w in weeks
        ], fields
    mentions = kpi(metric="mentions", target=100)
    assert series(mentions, tallies(session, mentions)) == [
        float(sum(len(w) for w in _counted(lambda p: True)[: n + 1])) for n in range(3)
    ]


@pytest.mark.usefixtures("data")
def test_items_first_reply_and_sla_of_the_objectives_department(session: Session) -> None:
    # The objective's department (customer service) unless the key result names another.
    for fields, department in (({}, "customer_service"), ({"department": "all"}, None)):
        weeks = _counted(lambda p, d=department: p.department and d in (None, p.department))
        reply = tallies(session, kpi(metric="first_reply_minutes", target=30, **fields))
        for got, week in zip(reply, weeks, strict=True):
            minutes = [int(p.reply_after) for p in week if p.reply_after is not None]
            assert sum(got.minutes.values()) == len(minutes)
            if minutes:
                assert statistics.median(minutes) == pytest.approx(
                    value_of(kpi(metric="first_reply_minutes", target=1), got)
                )
        sla = tallies(session, kpi(metric="sla_compliance", target=0.9, **fields))
        for got, week in zip(sla, weeks, strict=True):
            timed = [p for p in week if p.due_after is not None]
            within = [
                p for p in timed if p.reply_after is not None and p.reply_after <= p.due_after
            ]
            late = [
                p
                for p in timed
                if (p.reply_after is not None and p.reply_after > p.due_after)
                or (p.reply_after is None and _at(p) + timedelta(minutes=p.due_after) < NOW)
            ]
            assert (got.hits, got.total) == (len(within), len(within) + len(late))


@pytest.mark.usefixtures("data")
def test_our_posts_and_replies(session: Session) -> None:
    published = tallies(session, kpi(metric="posts_published", target=10))
    expected = [0, 0, 0]
    for kind, status, day, campaign, objective, _, _ in OUTBOX:
        serves = campaign == "stores" or objective == "store_visits"
        if kind is OutboxKind.POST and status is OutboxStatus.PUBLISHED and serves:
            expected[day // 7] += 1
    assert [t.hits for t in published] == expected
    replies = tallies(session, kpi(metric="replies_sent", target=10))
    expected = [0, 0, 0]
    for kind, status, day, _, _, department, _ in OUTBOX:
        if kind is OutboxKind.REPLY and status is OutboxStatus.PUBLISHED:
            expected[day // 7] += department == "customer_service"
    assert [t.hits for t in replies] == expected
    # A reply's country is the answered post's.
    french = tallies(session, kpi(metric="replies_sent", target=10, country="FR"))
    assert sum(t.hits for t in french) == 1


@pytest.mark.usefixtures("data")
def test_readings_by_country_summed_or_latest(session: Session) -> None:
    gb = [r for r in READINGS if r[2] == "GB"]
    summed = tallies(session, kpi(id="store_clicks_gb", metric="reading", target=1, country="GB"))
    assert [t.hits for t in summed] == [sum(v for v, d, _ in gb if d // 7 == w) for w in range(3)]
    latest = kpi(id="store_clicks_gb", metric="reading", target=1, country="GB", aggregate="latest")
    assert series(latest, tallies(session, latest)) == [40.0, 40.0, 70.0]
    everywhere = tallies(session, kpi(id="store_clicks_gb", metric="reading", target=1))
    assert sum(t.hits for t in everywhere) == sum(v for v, _, _ in READINGS)


@pytest.mark.usefixtures("data")
def test_progress_of_acme_now(session: Session, acme_policy: Policy) -> None:
    goals = objective_report.progress(session, acme_policy, NOW)
    found = {k.kpi.id: k for g in goals for o in g.objectives for k in o.kpis}
    clicks = found["store_clicks_gb"]
    assert clicks.value == sum(v for v, _, c in READINGS if c == "GB")
    assert clicks.status in (Status.ON_TRACK, Status.BEHIND)
    # The last 7 days up to today (22 Nov) for a weekly share: 16 to 22 Nov.
    recent = [p for p in POSTS if NOW - timedelta(days=7) < _at(p) <= NOW and p.day >= 0]
    shares = [p.sentiment == "negative" for p in recent]
    assert found["negative_share"].value == pytest.approx(sum(shares) / len(shares))
    store = next(o for g in goals for o in g.objectives if o.objective.id == "store_visits")
    assert [(c.name, c.published) for c in store.campaigns] == [("Stores", 2)]
    assert found["launch_posts"].value == 3


@pytest.mark.usefixtures("data")
def test_a_departments_digest_lists_its_objectives(session: Session, acme_policy: Policy) -> None:
    from townhall.insights import render
    from townhall.insights.digest import IsoWeek, build_digest

    digest = build_digest(session, acme_policy, "customer_service", IsoWeek(2026, 47), NOW)
    # ACME's key results name no department: a department's are those of the objectives it owns.
    owned = [o for o in acme_policy.objectives.objectives if o.department == "customer_service"]
    assert [line.kpi for line in digest.objectives] == [k.label for o in owned for k in o.kpis]
    text = render.digest_text(acme_policy, digest)
    assert "OBJECTIVES" in text
    for line in digest.objectives:
        assert line.why in text
    assert '<h2 style="font-size: 1.1em">Objectives</h2>' in render.digest_html(acme_policy, digest)
    pr = build_digest(session, acme_policy, "pr", IsoWeek(2026, 47), NOW)
    assert {line.kpi for line in pr.objectives} == {
        k.label for o in acme_policy.objectives.objectives if o.department == "pr" for k in o.kpis
    }
