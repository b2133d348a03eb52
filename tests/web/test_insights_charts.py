"""The new insights panels on the page and as exports: the world map (shapes by URL in the
page, inlined for PNG/SVG/JSON), volume per topic, and the influencer's sentiment chart."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from townhall.db import session_factory, transaction
from townhall.insights import world_map
from townhall.models import PostRecord

FEED = [
    ("I love my ACME KettleOne, brilliant kettle!", "Leeds, UK", 0),
    ("My ACME AirFry 5 broke again, terrible.", "Paris, France", 1),
    ("Is Globex better than ACME? The Globex kettle looks nice.", "Austin, Texas", 2),
    ("The ACME AirFry 5 is great", "Berlin, Germany", 3),
    ("My ACME KettleOne leaks", "Leeds, UK", 9),  # the week before
]


def _feed(site: Any) -> None:
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    posts = [
        site.post(text, author={"location": where}, created_at=start - timedelta(days=n))
        for text, where, n in FEED
    ]
    site.feed_understood(posts)


def _countries(site: Any) -> dict[str, int]:
    """Posts per stored country over the page's default week (as the database holds them)."""
    since = datetime(2026, 11, 14, 0, 0, tzinfo=UTC)
    with transaction(session_factory(site.engine)) as session:
        rows = session.scalars(select(PostRecord.country).where(PostRecord.created_at >= since))
        got: dict[str, int] = {}
        for country in rows:
            if country:
                got[country] = got.get(country, 0) + 1
    return got


def _spec(html: str, name: str) -> dict[str, Any]:
    match = re.search(rf'<script type="application/json" id="spec-{name}">(.*?)</script>', html)
    assert match, f"no spec for {name}"
    loaded: dict[str, Any] = json.loads(match.group(1))
    return loaded


def test_the_page_has_the_map_by_url_and_the_topic_chart(
    site: Any, logged_in: httpx.Client
) -> None:
    _feed(site)
    page = logged_in.get("/insights")
    assert page.status_code == 200
    spec = _spec(page.text, "map")
    assert spec["data"]["url"] == world_map.ATLAS_URL
    countries = _countries(site)
    assert len(countries) >= 3, countries  # the feed's places were understood
    assert {v["id"] for v in spec["datasets"]["figures"]} == {
        world_map.numeric_code(c) for c in countries
    }
    shapes = logged_in.get(world_map.ATLAS_URL)
    assert shapes.status_code == 200
    assert shapes.json()["type"] == "Topology"
    topics = _spec(page.text, "topics")
    names = {v["topic"] for v in topics["datasets"]["figures"] if v["posts"]}
    assert {"ACME KettleOne", "ACME AirFry 5"} <= names, names
    assert not any(":" in name for name in names)


def test_map_and_topic_exports_are_images(site: Any, logged_in: httpx.Client) -> None:
    _feed(site)
    for name in ("map", "topics"):
        png = logged_in.get(f"/insights/chart/{name}.png")
        assert png.status_code == 200, name
        assert png.headers["content-type"] == "image/png"
        assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(png.content[16:20], "big") > 500  # width, at twice the pixels
        svg = logged_in.get(f"/insights/chart/{name}.svg")
        assert svg.status_code == 200, name
        assert svg.headers["content-type"].startswith("image/svg+xml")
        assert svg.text.lstrip().startswith("<svg") and "<path" in svg.text
    svg = logged_in.get("/insights/chart/map.svg").text
    heard = svg[svg.index("layer_1_marks") :]
    labelled = re.findall(r'<path aria-label="Posts: (\d+); Country: ([^"]+)"', heard)
    countries = _countries(site)
    assert sorted(int(n) for n, _ in labelled) == sorted(countries.values())
    spec = logged_in.get("/insights/chart/map.json").json()
    assert spec["data"]["values"]["type"] == "Topology"  # self-contained


def test_the_tables_carry_the_previous_period(site: Any, logged_in: httpx.Client) -> None:
    _feed(site)
    rows = list(csv.reader(io.StringIO(logged_in.get("/insights/table/volume.csv").text)))
    assert rows[0][-3:] == ["Previous period", "Posts then", "Change"]
    assert sum(int(r[6]) for r in rows[1:]) == sum(1 for *_, n in FEED if 7 <= n < 14)
    assert sum(int(r[4]) for r in rows[1:]) == sum(1 for *_, n in FEED if n < 7)
    health = list(csv.reader(io.StringIO(logged_in.get("/insights/table/health.csv").text)))
    assert health[0] == ["Day", "Brand health", "Previous period", "Brand health then", "Change"]
    topics = list(csv.reader(io.StringIO(logged_in.get("/insights/table/topics.csv").text)))
    assert topics[0][0] == "Day" and "ACME AirFry 5" in topics[0]


def test_an_influencer_profile_draws_their_weekly_sentiment(
    site: Any, logged_in: httpx.Client
) -> None:
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    author = {"handle": "@loud@example.social", "name": "Loud", "followers": 50_000}
    posts = [
        site.post(text, author=author, created_at=start - timedelta(days=n))
        for text, n in (
            ("I love my ACME KettleOne, brilliant!", 0),
            ("My ACME KettleOne broke, terrible and useless.", 8),
        )
    ]
    site.feed_understood(posts)
    page = logged_in.get("/influencers/voice", params={"handle": author["handle"]})
    assert page.status_code == 200
    spec = _spec(page.text, "sentiment")
    weeks = spec["datasets"]["figures"]
    assert len(weeks) == 2
    assert weeks[0]["sentiment"] < 0 < weeks[1]["sentiment"]  # oldest first
    assert 'src="/static/insights.js"' in page.text
