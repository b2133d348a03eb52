"""The objectives page in Debian Chromium: a key result's chart is drawn by the vendored
vega-embed under the site's CSP (marks in the SVG), with its status in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from support import CHROMIUM
from townhall.db import session_factory, transaction
from townhall.models import KpiReading, User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian Chromium is not installed at /usr/bin/chromium "
        "(make installs it: apt-get install chromium)",
    ),
]

MARKS = "svg .mark-line path, svg .mark-symbol path"


def test_a_key_result_chart_draws_against_its_line(site: Any, page: Any) -> None:
    start = datetime(2026, 11, 2, tzinfo=UTC)
    with transaction(session_factory(site.engine)) as session:
        sofia = session.scalar(select(User).where(User.email == "sofia.rossi@acme.example"))
        assert sofia is not None
        for week, value in enumerate((120.0, 80.0, 95.0)):
            session.add(
                KpiReading(
                    kpi="store_clicks_gb",
                    value=value,
                    country="GB",
                    measured_on=start + timedelta(days=7 * week),
                    recorded_by_id=sofia.id,
                    recorded_at=site.clock(),
                )
            )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/login")
    page.get_by_label("E-mail").fill("sofia.rossi@acme.example")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/inbox")

    page.goto("/objectives")
    chart = page.locator("#chart-kpi-store_clicks_gb")
    page.locator("#chart-kpi-store_clicks_gb[data-drawn]").wait_for()
    assert chart.get_attribute("data-drawn") == "true"
    assert chart.locator(MARKS).count() > 0
    objective, kpi = site.policy.objectives.kpi("store_clicks_gb")
    total = 120 + 80 + 95
    today = site.clock().date()
    line = kpi.target * (today - objective.starts).days / (kpi.by - objective.starts).days
    expected = "On track" if total >= line else "Behind"
    assert page.locator("#status-store_clicks_gb").inner_text() == expected
    assert f"{total} clicks" in page.locator("#value-store_clicks_gb").inner_text()
    assert not errors, errors
