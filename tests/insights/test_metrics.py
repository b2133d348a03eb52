"""The dashboards' queries over a fixed data set (SQLite here, PostgreSQL in CI): every
expectation is computed from the rows the test inserts."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from townhall.insights import metrics
from townhall.insights.charts import median_minutes
from townhall.insights.metrics import Filter, Visibility
from townhall.insights.periods import Grain, Period
from townhall.models import CrisisRoom, Item, PostRecord, Role
from townhall.org.accounts import upsert_user

LONDON = ZoneInfo("Europe/London")
WEEK = Period(date(2026, 11, 14), date(2026, 11, 20), LONDON)
T0 = datetime(2026, 11, 14, 0, 30, tzinfo=UTC)


@dataclass(frozen=True)
class P:
    """One post of the fixed set."""

    at: datetime
    channel: str
    sentiment: str | None
    intent: str | None
    country: str | None
    topics: tuple[str, ...]
    handle: str
    followers: int


POSTS = [
    P(T0, "mastodon", "positive", "praise", "GB", ("brand:acme",), "@ann", 100),
    P(
        T0 + timedelta(hours=5),
        "mastodon",
        "negative",
        "complaint",
        "GB",
        ("product:kettleone",),
        "@bob",
        5000,
    ),
    P(
        T0 + timedelta(days=1),
        "bluesky",
        "negative",
        "complaint",
        "FR",
        ("product:kettleone",),
        "@ann",
        150,
    ),
    P(
        T0 + timedelta(days=1, hours=2),
        "bluesky",
        "neutral",
        "question",
        "US",
        ("competitor:globex", "brand:acme"),
        "@cat",
        90,
    ),
    P(T0 + timedelta(days=3), "mastodon", None, None, None, (), "@dan", 10),
    P(
        T0 + timedelta(days=6, hours=23),
        "mastodon",
        "positive",
        "praise",
        "US",
        ("competitor:globex",),
        "@ann",
        120,
    ),
    # Outside the week: the evening before it starts, and the first minute after it ends.
    P(
        datetime(2026, 11, 13, 23, 59, tzinfo=UTC),
        "mastodon",
        "negative",
        "complaint",
        "GB",
        (),
        "@eve",
        1,
    ),
    P(
        datetime(2026, 11, 21, 0, 0, tzinfo=UTC),
        "bluesky",
        "positive",
        "praise",
        "GB",
        (),
        "@eve",
        1,
    ),
]


def _in(p: P, period: Period = WEEK) -> bool:
    return period.start <= p.at < period.end


def _store(session: Session, posts: list[P], prefix: str = "m") -> list[PostRecord]:
    records = []
    for n, p in enumerate(posts):
        record = PostRecord(
            post_id=f"{p.channel}:{prefix}{n}",
            channel=p.channel,
            external_id=f"{prefix}{n}",
            created_at=p.at,
            ingested_at=p.at,
            text="text",
            author_handle=p.handle,
            author_name=p.handle.strip("@").title(),
            author_followers=p.followers,
            sentiment_label=p.sentiment,
            intent=p.intent,
            country=p.country,
            topics=list(p.topics),
            media=[],
            extra={},
        )
        session.add(record)
        records.append(record)
    session.flush()
    return records


@pytest.fixture
def posts(session: Session) -> list[PostRecord]:
    return _store(session, POSTS)


def test_totals_and_volume_by_day(session: Session, posts: list[PostRecord]) -> None:
    flt = Filter(WEEK.start, WEEK.end)
    inside = [p for p in POSTS if _in(p)]
    got = metrics.totals(session, flt)
    assert got.posts == len(inside)
    assert got.positive == sum(p.sentiment == "positive" for p in inside)
    assert got.negative == sum(p.sentiment == "negative" for p in inside)
    rows = metrics.volume(session, flt, WEEK.buckets(Grain.DAY))
    assert len(rows) == 7 * 3
    expected = Counter(((p.at.astimezone(LONDON).date()), p.sentiment or "neutral") for p in inside)
    assert {(r.day, r.sentiment): r.posts for r in rows if r.posts} == dict(expected)


def test_a_channel_filter_narrows_every_count(session: Session, posts: list[PostRecord]) -> None:
    flt = Filter(WEEK.start, WEEK.end, channel="bluesky")
    inside = [p for p in POSTS if _in(p) and p.channel == "bluesky"]
    assert metrics.totals(session, flt).posts == len(inside)
    assert dict(metrics.intents(session, flt)) == Counter(p.intent or "other" for p in inside)


def test_days_follow_the_zone_across_the_clocks_going_back(session: Session) -> None:
    # 23:30 UTC on 24 Oct is 00:30 BST on 25 Oct; 23:30 UTC on 25 Oct is 23:30 GMT that day.
    at = [datetime(2026, 10, 24, 23, 30, tzinfo=UTC), datetime(2026, 10, 25, 23, 30, tzinfo=UTC)]
    _store(session, [P(a, "mastodon", "positive", None, None, (), "@x", 1) for a in at])
    period = Period(date(2026, 10, 24), date(2026, 10, 26), LONDON)
    rows = metrics.volume(session, Filter(period.start, period.end), period.buckets())
    counted = {r.day: r.posts for r in rows if r.sentiment == "positive"}
    assert counted == {date(2026, 10, 24): 0, date(2026, 10, 25): 2, date(2026, 10, 26): 0}


def test_share_of_voice_authors_and_countries(session: Session, posts: list[PostRecord]) -> None:
    flt = Filter(WEEK.start, WEEK.end)
    inside = [p for p in POSTS if _in(p)]
    voices = [("ACME", ["brand:", "product:"]), ("Globex", ["competitor:globex"])]
    got = dict(metrics.share_of_voice(session, flt, voices))
    assert got["ACME"] == sum(
        any(t.startswith(("brand:", "product:")) for t in p.topics) for p in inside
    )
    assert got["Globex"] == sum("competitor:globex" in p.topics for p in inside)

    by_posts = metrics.top_authors(session, flt, by="posts", limit=2)
    counts = Counter((p.handle, p.channel) for p in inside)
    reach = {k: max(p.followers for p in inside if (p.handle, p.channel) == k) for k in counts}
    # Most posts first; ties go to the larger following, then the handle.
    ranked = sorted(counts, key=lambda k: (-counts[k], -reach[k], k[0]))
    assert [(a.handle, a.channel, a.posts) for a in by_posts] == [
        (h, c, counts[(h, c)]) for h, c in ranked[:2]
    ]
    by_reach = metrics.top_authors(session, flt, by="reach", limit=1)
    loudest = max(inside, key=lambda p: p.followers)
    assert (by_reach[0].handle, by_reach[0].followers) == (loudest.handle, loudest.followers)

    assert dict(metrics.countries(session, flt)) == Counter(p.country or "" for p in inside)


# -- items ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class I:  # noqa: E742 (an item of the fixed set)
    """One item: its department, assignee, minutes to first reply and to resolution (None
    when not yet), and its first-response SLA in minutes."""

    department: str
    person: str | None
    reply: int | None
    resolve: int | None
    sla: int | None


ITEMS = [
    I("customer_service", "Dan", 10, 60, 30),
    I("customer_service", "Dan", 45, None, 30),
    I("customer_service", "Sofia", 4, 20, 30),
    I("customer_service", None, None, None, 30),  # unanswered, overdue at NOW
    I("customer_service", "Sofia", None, None, 60 * 24 * 30),  # unanswered, still running
    I("pr", "Grace", 7, 90, 60),
    I("pr", "Grace", 120, None, 60),
]
NOW = T0 + timedelta(days=2)


@pytest.fixture
def items(session: Session, posts: list[PostRecord]) -> list[Item]:
    people = {}
    for name, department in (
        ("Dan", "customer_service"),
        ("Sofia", "customer_service"),
        ("Grace", "pr"),
    ):
        people[name] = upsert_user(
            session,
            email=f"{name.lower()}@acme.example",
            name=name,
            department=department,
            role=Role.MEMBER,
            password="secret",
            now=T0,
        )
    quiet = [P(T0, "mastodon", None, None, None, (), f"@i{n}", 1) for n in range(len(ITEMS))]
    extra = _store(session, quiet, "i")
    out = []
    for record, spec in zip(extra, ITEMS, strict=True):
        opened = T0 + timedelta(hours=1)
        item = Item(
            post_pk=record.id,
            department=spec.department,
            rule="r",
            why="w",
            assignee_id=people[spec.person].id if spec.person else None,
            created_at=opened,
            updated_at=opened,
            first_response_due_at=opened + timedelta(minutes=spec.sla) if spec.sla else None,
            first_responded_at=opened + timedelta(minutes=spec.reply)
            if spec.reply is not None
            else None,
            resolved_at=opened + timedelta(minutes=spec.resolve)
            if spec.resolve is not None
            else None,
        )
        session.add(item)
        out.append(item)
    session.flush()
    return out


EVERYONE = Visibility(frozenset(), everything=True)


def test_first_reply_times_per_department(session: Session, items: list[Item]) -> None:
    flt = Filter(WEEK.start, WEEK.end)
    rows = {
        r.key: r
        for r in metrics.response_times(
            session, flt, EVERYONE, clock="first_reply", by="department"
        )
    }
    for department in ("customer_service", "pr"):
        minutes = [i.reply for i in ITEMS if i.department == department and i.reply is not None]
        got = rows[department]
        assert got.items == len(minutes)
        assert got.mean_seconds == pytest.approx(statistics.mean(minutes) * 60, abs=0.01)
        assert median_minutes(got.minutes) == statistics.median(minutes)


def test_resolution_times_per_person_only_count_what_the_person_sees(
    session: Session, items: list[Item]
) -> None:
    flt = Filter(WEEK.start, WEEK.end)
    seen = Visibility(frozenset({"customer_service"}))
    rows = {
        r.key: r
        for r in metrics.response_times(session, flt, seen, clock="resolution", by="person")
    }
    expected: dict[str, list[int]] = {}
    for i in ITEMS:
        if i.department == "customer_service" and i.resolve is not None:
            expected.setdefault(i.person or "Nobody", []).append(i.resolve)
    assert {k: r.items for k, r in rows.items()} == {k: len(v) for k, v in expected.items()}
    for name, minutes in expected.items():
        assert rows[name].mean_seconds == pytest.approx(statistics.mean(minutes) * 60, abs=0.01)
    assert "Grace" not in rows


def test_sla_compliance(session: Session, items: list[Item]) -> None:
    rows = {
        r.department: r
        for r in metrics.sla_compliance(session, Filter(WEEK.start, WEEK.end), EVERYONE, NOW)
    }
    opened = T0 + timedelta(hours=1)
    for department in ("customer_service", "pr"):
        mine = [i for i in ITEMS if i.department == department and i.sla]
        within = sum(i.reply is not None and i.reply <= i.sla for i in mine)
        late = sum(
            (i.reply is not None and i.reply > i.sla)
            or (i.reply is None and opened + timedelta(minutes=i.sla) < NOW)
            for i in mine
        )
        got = rows[department]
        assert (got.within, got.late, got.running) == (within, late, len(mine) - within - late)
        assert got.compliance == within / (within + late)


def test_crisis_history_by_week_and_outcome(session: Session) -> None:
    rooms = [
        (datetime(2026, 11, 3, 9, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC), "advocate"),
        (datetime(2026, 11, 5, 9, tzinfo=UTC), datetime(2026, 11, 6, tzinfo=UTC), None),
        (datetime(2026, 11, 17, 9, tzinfo=UTC), None, None),
        (datetime(2026, 10, 1, 9, tzinfo=UTC), None, None),  # before the period
    ]
    for n, (opened, resolved, outcome) in enumerate(rooms):
        session.add(
            CrisisRoom(
                title=f"Room {n}",
                story=f"forum:{n}",
                lead_department="pr",
                opened_at=opened,
                opened_by="radar",
                resolved_at=resolved,
                outcome=outcome,
                updated_at=opened,
            )
        )
    session.flush()
    period = Period(date(2026, 11, 2), date(2026, 11, 20), LONDON)
    weeks = period.buckets(Grain.WEEK)
    got = metrics.crisis_history(session, weeks)
    expected = Counter()
    for opened, resolved, outcome in rooms:
        if period.start <= opened < period.end:
            week = next(w.first for w in weeks if w.start <= opened < w.end)
            expected[(week, "open" if resolved is None else outcome or "resolved")] += 1
    assert {(d, o): n for d, o, n in got} == dict(expected)


def test_nothing_in_an_empty_period(session: Session, posts: list[PostRecord]) -> None:
    empty = Period(date(2025, 1, 1), date(2025, 1, 7), LONDON)
    flt = Filter(empty.start, empty.end)
    assert metrics.totals(session, flt) == metrics.Totals(0, 0, 0)
    assert metrics.totals(session, flt).health is None
    assert all(r.posts == 0 for r in metrics.volume(session, flt, empty.buckets()))
    assert metrics.intents(session, flt) == []
    assert metrics.response_times(session, flt, EVERYONE, clock="first_reply", by="person") == []


def test_the_headline_median_reads_every_department_seen(
    session: Session, items: list[Item], acme_policy: Any
) -> None:
    from townhall.insights import dashboard

    ask = dashboard.Ask(acme_policy, WEEK, None, None, EVERYONE, NOW)
    replies = [i.reply for i in ITEMS if i.reply is not None]
    assert dashboard.overall_median(session, ask, WEEK) == statistics.median(replies)
    only_cs = dashboard.Ask(
        acme_policy, WEEK, None, None, Visibility(frozenset({"customer_service"})), NOW
    )
    cs = [i.reply for i in ITEMS if i.reply is not None and i.department == "customer_service"]
    assert dashboard.overall_median(session, only_cs, WEEK) == statistics.median(cs)
    assert dashboard.overall_median(session, ask, WEEK.previous()) is None
