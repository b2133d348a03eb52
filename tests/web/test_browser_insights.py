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

MARKS = "svg .mark-rect path, svg .mark-line path, svg .mark-symbol path"


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


def _posts_figure(page: Any) -> int:
    text = page.locator(".figure", has_text="Posts").locator(".figure-value").first.inner_text()
    return int(re.sub(r"[^\d]", "", text))


def test_every_chart_draws_and_a_filter_changes_the_numbers(site: Any, page: Any) -> None:
    everything, on_mastodon = _feed(site)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/login")
    page.get_by_label("E-mail").fill("sofia.rossi@acme.example")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/inbox")

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
