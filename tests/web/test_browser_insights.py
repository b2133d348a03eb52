"""The insights dashboard in Debian Chromium: every chart is drawn by the vendored vega-embed
bundle under the site's CSP (no CDN, no eval), and changing a filter changes the figures."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from support import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian Chromium is not installed at /usr/bin/chromium "
        "(make installs it: apt-get install chromium)",
    ),
]

MARKS = "svg .mark-rect path, svg .mark-line path, svg .mark-symbol path, svg .mark-shape path"


def _feed(site: Any) -> tuple[int, int]:
    """Posts on mastodon and bluesky over the last week; (all posts, mastodon posts)."""
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    texts = [
        ("mastodon", "I love my ACME KettleOne, brilliant!", "Leeds, UK"),
        ("mastodon", "My ACME KettleOne broke, terrible.", "Paris, France"),
        ("bluesky", "Globex or ACME? The Globex one looks nice.", "Austin, Texas"),
        ("bluesky", "ACME AirFry 5 is great", "Berlin, Germany"),
        ("mastodon", "Is the ACME SmartScale any good?", "Leeds, UK"),
    ]
    posts = [
        site.post(
            text, channel=channel, author={"location": where}, created_at=start - timedelta(days=n)
        )
        for n, (channel, text, where) in enumerate(texts)
    ]
    site.feed_understood(posts)
    return len(texts), sum(1 for c, _, _ in texts if c == "mastodon")


def _login(page: Any) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill("sofia.rossi@acme.example")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/inbox")


def _posts_figure(page: Any) -> int:
    text = page.locator(".figure", has_text="Posts").locator(".figure-value").first.inner_text()
    return int(re.sub(r"[^\d]", "", text))


def test_every_chart_draws_and_a_filter_changes_the_numbers(site: Any, page: Any) -> None:
    everything, on_mastodon = _feed(site)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page)
    page.goto("/insights")
    charts = page.locator(".chart[data-spec]")
    count = charts.count()
    assert count >= 6
    page.wait_for_function(
        "n => document.querySelectorAll('.chart[data-drawn]').length === n", arg=count
    )
    for n in range(count):
        chart = charts.nth(n)
        assert chart.get_attribute("data-drawn") == "true", chart.get_attribute("id")
        assert chart.locator(MARKS).count() > 0, chart.get_attribute("id")
    assert _posts_figure(page) == everything
    assert not errors, errors

    page.get_by_label("Channel").select_option("mastodon")
    page.wait_for_url(re.compile(r"channel=mastodon"))
    assert _posts_figure(page) == on_mastodon
    page.locator("#chart-volume[data-drawn=true]").wait_for()


def test_the_map_shows_the_demo_countries_and_topics_draw_lines(site: Any, page: Any) -> None:
    from sqlalchemy import func, select

    from townhall.connectors.simulator.scenario import generate_day
    from townhall.db import session_factory, transaction
    from townhall.insights.dashboard import country_name
    from townhall.insights.world_map import atlas_ids, numeric_code
    from townhall.models import PostRecord

    # The demo's day (as `townhall demo` plays it) up to the app's clock, 14:00.
    day = generate_day(seed=7, start=datetime(2026, 11, 20, tzinfo=UTC))
    site.feed_understood([p for p in day if p.created_at < site.clock()])
    with transaction(session_factory(site.engine)) as session:
        stored = dict(
            session.execute(
                select(PostRecord.country, func.count(PostRecord.id))
                .where(PostRecord.country.is_not(None))
                .group_by(PostRecord.country)
            ).all()
        )
    expected = {
        f"Posts: {n}; Country: {country_name(c)}"
        for c, n in stored.items()
        if numeric_code(c) in atlas_ids()
    }
    assert len(expected) >= 3, stored
    _login(page)
    page.goto("/insights")
    page.locator("#chart-map[data-drawn=true]").wait_for()
    shapes = page.locator("#chart-map svg .layer_1_marks path")
    labels = {shapes.nth(n).get_attribute("aria-label") for n in range(shapes.count())}
    assert labels == expected
    land = page.locator("#chart-map svg .layer_0_marks path").count()
    assert land > 150  # every country's shape, grey where nobody posted
    page.locator("#chart-topics[data-drawn=true]").wait_for()
    names = page.locator("#table-topics thead th").all_text_contents()[1:]
    assert len(names) >= 2 and not any(":" in n for n in names), names
    lines = page.locator("#chart-topics svg .mark-line path")
    assert lines.count() == len(names)  # a line per topic
    legend = page.locator("#chart-topics svg .role-legend-label text").all_text_contents()
    assert legend == names


def test_an_influencer_profile_draws_their_weekly_sentiment(site: Any, page: Any) -> None:
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    author = {"handle": "@loud@example.social", "name": "Loud", "followers": 50_000}
    texts = [("I love my ACME KettleOne, brilliant!", 0), ("My ACME KettleOne broke, awful.", 8)]
    site.feed_understood(
        [site.post(text, author=author, created_at=start - timedelta(days=n)) for text, n in texts]
    )
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page)
    page.goto("/influencers/voice?handle=@loud@example.social")
    page.locator("#chart-sentiment[data-drawn=true]").wait_for()
    weeks = page.locator("#weeks tbody tr").count()
    assert weeks == len(texts)
    assert page.locator("#chart-sentiment svg .mark-symbol path").count() == weeks
    assert not errors, errors
