"""The new dashboard panels over a fixed data set (SQLite here, PostgreSQL with
``TOWNHALL_TEST_DATABASE_URL``): volume per topic, the previous period inside volume and brand
health, and the world map. Every expectation is computed from the posts the test stores."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from townhall.cases.crisis import topic_name
from townhall.insights import charts, dashboard, topic_metrics, trend_charts, world_map
from townhall.insights.metrics import Filter, Visibility
from townhall.insights.periods import Grain, Period
from townhall.insights.trend_panels import day_label, earlier
from townhall.models import PostRecord

LONDON = ZoneInfo("Europe/London")
WEEK = Period(date(2026, 11, 14), date(2026, 11, 20), LONDON)
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
EVERYONE = Visibility(frozenset(), everything=True)


@dataclass(frozen=True)
class P:
    """One stored post: days after the week's first day (negative: the week before)."""

    day: int
    hour: int
    channel: str
    sentiment: str | None
    country: str | None
    topics: tuple[str, ...]


POSTS = [
    P(0, 9, "mastodon", "positive", "GB", ("product:airfry_5", "brand:acme")),
    P(0, 11, "mastodon", "negative", "GB", ("brand:acme", "product:airfry_5")),  # same, reordered
    P(1, 10, "bluesky", "negative", "FR", ("product:kettleone",)),
    P(1, 12, "bluesky", "neutral", "US", ("competitor:globex", "brand:acme")),
    P(2, 8, "mastodon", None, None, ()),
    P(3, 15, "mastodon", "positive", "US", ("product:smartscale",)),
    P(4, 9, "bluesky", "positive", "DE", ("product:blender_pro",)),
    P(5, 16, "mastodon", "negative", "GB", ("product:airfry_5",)),
    P(6, 22, "mastodon", "positive", "SG", ("product:kettleone", "product:blender_pro")),
    # The week before, for the previous period.
    P(-7, 9, "mastodon", "positive", "GB", ("brand:acme",)),
    P(-7, 10, "mastodon", "positive", "GB", ("brand:acme",)),
    P(-6, 10, "bluesky", "negative", "FR", ("product:airfry_5",)),
    P(-2, 10, "mastodon", "negative", "US", ("product:airfry_5",)),
    # After the week: counted nowhere.
    P(7, 1, "mastodon", "negative", "GB", ("product:airfry_5",)),
]


def _at(p: P) -> datetime:
    local = datetime.combine(WEEK.first + timedelta(days=p.day), datetime.min.time())
    return local.replace(hour=p.hour, tzinfo=LONDON).astimezone(UTC)


@pytest.fixture
def stored(session: Session) -> list[P]:
    for n, p in enumerate(POSTS):
        at = _at(p)
        session.add(
            PostRecord(
                post_id=f"{p.channel}:d{n}",
                channel=p.channel,
                external_id=f"d{n}",
                created_at=at,
                ingested_at=at,
                text="text",
                author_handle=f"@a{n}",
                author_name=f"A{n}",
                author_followers=10,
                sentiment_label=p.sentiment,
                country=p.country,
                topics=list(p.topics),
                media=[],
                extra={},
            )
        )
    session.flush()
    return POSTS


def _ask(policy: Any, channel: str | None = None) -> dashboard.Ask:
    return dashboard.Ask(policy, WEEK, channel, None, EVERYONE, NOW)


def _in(p: P, channel: str | None = None) -> bool:
    return 0 <= p.day <= 6 and (channel is None or p.channel == channel)


@pytest.mark.parametrize("channel", [None, "mastodon"])
def test_volume_per_topic_counts_each_topic_per_day(
    session: Session, stored: list[P], channel: str | None
) -> None:
    buckets = WEEK.buckets(Grain.DAY)
    got = topic_metrics.topic_volume(session, Filter(WEEK.start, WEEK.end, channel), buckets, top=3)
    inside = [p for p in stored if _in(p, channel)]
    totals = Counter(t for p in inside for t in set(p.topics))
    expected_top = sorted(totals, key=lambda t: (-totals[t], t))[:3]
    assert got.topics == expected_top
    for topic in expected_top:
        assert got.per_bucket[topic] == [
            sum(1 for p in inside if p.day == d and topic in p.topics) for d in range(7)
        ]
    assert got.others == [
        sum(1 for p in inside if p.day == d and set(p.topics) - set(expected_top)) for d in range(7)
    ]


def test_the_topic_panel_names_topics_for_people(
    session: Session, stored: list[P], acme_policy: Any
) -> None:
    chart = dashboard.PANELS["topics"](session, _ask(acme_policy))
    inside = [p for p in stored if _in(p)]
    totals = Counter(t for p in inside for t in p.topics)
    top = sorted(totals, key=lambda t: (-totals[t], t))[: topic_metrics.TOP_TOPICS]
    names = [topic_name(acme_policy, t) for t in top]
    assert "ACME AirFry 5" in names and not any(":" in n for n in names)
    assert chart.columns == ["Day", *names, trend_charts.OTHER_TOPICS]
    assert [r[0] for r in chart.rows] == [day_label(b.first, Grain.DAY) for b in WEEK.buckets()]


def test_volume_and_health_carry_the_previous_period_day_by_day(
    session: Session, stored: list[P], acme_policy: Any
) -> None:
    ask = _ask(acme_policy)
    volume = dashboard.PANELS["volume"](session, ask)
    health = dashboard.PANELS["health"](session, ask)
    before = earlier(WEEK, WEEK.buckets())
    assert [b.first for b in before] == [
        WEEK.previous().first + timedelta(days=n) for n in range(7)
    ]
    for d, (row, hrow) in enumerate(zip(volume.rows, health.rows, strict=True)):
        now = [p for p in stored if p.day == d]
        then = [p for p in stored if p.day == d - 7]
        assert row[4] == len(now)
        assert row[5] == day_label(before[d].first, Grain.DAY)
        assert row[6] == len(then)
        assert row[7] == f"{len(now) - len(then):+,}"

        def share(posts: list[P]) -> float | None:
            pos = sum(p.sentiment == "positive" for p in posts)
            both = pos + sum(p.sentiment == "negative" for p in posts)
            return pos / both if both else None

        assert hrow[1] == ("" if share(now) is None else f"{share(now):.0%}")
        assert hrow[3] == ("" if share(then) is None else f"{share(then):.0%}")
    earlier_points = volume.spec["datasets"][charts.PREVIOUS]
    assert sum(v["posts"] for v in earlier_points) == sum(1 for p in stored if -7 <= p.day < 0)


def test_the_map_panel_colours_the_countries_heard(
    session: Session, stored: list[P], acme_policy: Any
) -> None:
    chart = dashboard.PANELS["map"](session, _ask(acme_policy))
    inside = Counter(p.country or "" for p in stored if _in(p))
    drawn = {
        world_map.numeric_code(c): n
        for c, n in inside.items()
        if world_map.numeric_code(c) in world_map.atlas_ids()
    }
    assert {v["id"]: v["posts"] for v in chart.spec["datasets"][charts.DATA]} == {
        **drawn,
        world_map.numeric_code("SG"): inside["SG"],  # in the data, too small to draw
    }
    assert chart.points == len(drawn)
    assert sorted(r[1] for r in chart.rows) == sorted(inside.values())
    assert dashboard.country_name("GB") in [r[0] for r in chart.rows]
