"""The insights page and its exports, over posts fed through the pipeline."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

TEXTS = {
    "positive": "I love my ACME KettleOne, brilliant kettle!",
    "negative": "My ACME KettleOne broke again, terrible and useless.",
    "rival": "Is Globex better than ACME? Thinking about the Globex kettle.",
}


def _feed(site: Any) -> dict[str, int]:
    """Posts on two channels over the last days (the app's clock is Fri 20 Nov 14:00 UTC), and
    some in the 7 days before; returns how many of each the test fed."""
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    posts = []
    plan = [
        ("mastodon", "positive", 0),
        ("mastodon", "negative", 1),
        ("bluesky", "positive", 2),
        ("bluesky", "rival", 3),
        ("mastodon", "positive", 4),
        ("mastodon", "negative", 9),
        ("bluesky", "negative", 10),
    ]
    for channel, kind, days_ago in plan:
        post = site.post(TEXTS[kind], channel=channel, created_at=start - timedelta(days=days_ago))
        posts.append(post)
    site.feed_understood(posts)
    return {
        "this_week": sum(1 for _, _, d in plan if d < 7),
        "mastodon_this_week": sum(1 for c, _, d in plan if d < 7 and c == "mastodon"),
        "week_before": sum(1 for _, _, d in plan if 7 <= d < 14),
    }


def _posts_figure(html: str) -> int:
    match = re.search(r'figure-label">Posts</span>\s*<strong class="figure-value">([\d,]+)<', html)
    assert match, "no posts figure"
    return int(match.group(1).replace(",", ""))


def test_the_page_counts_posts_and_compares_with_the_period_before(
    site: Any, logged_in: httpx.Client
) -> None:
    fed = _feed(site)
    page = logged_in.get("/insights")
    assert page.status_code == 200
    assert _posts_figure(page.text) == fed["this_week"]
    moved = (fed["this_week"] - fed["week_before"]) / fed["week_before"]
    assert f"{moved:+.0%} on the 7 days before" in page.text
    for name in ("volume", "health", "intents", "voice", "countries", "sla", "crises"):
        assert f'id="spec-{name}"' in page.text or f'id="panel-{name}"' in page.text
    channel = logged_in.get("/insights", params={"channel": "mastodon"})
    assert _posts_figure(channel.text) == fed["mastodon_this_week"]


def test_csv_defuses_formulas(site: Any, logged_in: httpx.Client) -> None:
    post = site.post(TEXTS["positive"], author={"name": '=HYPERLINK("http://x")'})
    site.feed_understood([post])
    got = logged_in.get("/insights/table/authors.csv")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0] == ["Author", "Posts"]
    names = [row[0] for row in rows[1:]]
    assert any(name.startswith("'=HYPERLINK") for name in names), names
    assert not any(name.startswith("=") for name in names)


def test_png_and_svg_exports(site: Any, logged_in: httpx.Client) -> None:
    _feed(site)
    png = logged_in.get("/insights/chart/volume.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    svg = logged_in.get("/insights/chart/volume.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in svg.text[:400] and "<path" in svg.text
    spec = logged_in.get("/insights/chart/volume.json", params={"days": 30})
    assert spec.json()["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


def test_an_unknown_chart_is_not_found(logged_in: httpx.Client) -> None:
    assert logged_in.get("/insights/chart/nothing.png").status_code == 404
    assert logged_in.get("/insights/table/nothing.csv").status_code == 404


@pytest.mark.parametrize("value", ["", "2026-13-40", "yesterday"])
def test_bad_dates_fall_back_to_the_last_7_days(logged_in: httpx.Client, value: str) -> None:
    page = logged_in.get("/insights", params={"from": value, "to": value})
    assert page.status_code == 200
    assert "Sat 14 Nov 2026 to Fri 20 Nov 2026 (7 days)" in page.text


def test_a_department_the_person_does_not_see_is_refused(
    site: Any, logged_in: httpx.Client
) -> None:
    # Customer service sees every department's items but Human resources' (ACME's policy).
    person = site.policy.permissions
    from townhall.org.permissions import Action, Actor

    seen = person.departments_for(
        Actor("customer_service", "approver"), Action.VIEW, site.policy.department_ids
    )
    hidden = [d for d in site.policy.department_ids if not seen.allows(d)]
    assert hidden, "the test needs a department Sofia may not see"
    assert logged_in.get("/insights", params={"department": hidden[0]}).status_code == 403
    assert (
        logged_in.get("/insights/table/sla.csv", params={"department": hidden[0]}).status_code
        == 403
    )
    assert logged_in.get("/insights", params={"department": "customer_service"}).status_code == 200


def test_a_department_filter_counts_only_posts_routed_there(
    site: Any, logged_in: httpx.Client
) -> None:
    _feed(site)
    everything = _posts_figure(logged_in.get("/insights").text)
    routed = {
        department: _posts_figure(
            logged_in.get("/insights", params={"department": department}).text
        )
        for department in ("customer_service", "marketing")
    }
    assert sum(routed.values()) <= everything
    assert routed["customer_service"] > 0


def test_hostile_names_are_escaped_in_tables_and_specs(site: Any, logged_in: httpx.Client) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    site.feed_understood([site.post(TEXTS["positive"], author={"name": hostile})])
    page = logged_in.get("/insights")
    assert hostile not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text  # the table cell, escaped
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page.text  # the JSON spec, escaped
