"""Plain helpers shared by test modules (importable as ``support``: ``tests/`` is on the path)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from townhall.routing.rules import RouteFacts

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday
REACH = ("nano", "micro", "mid", "macro", "mega")


def facts(**overrides: Any) -> RouteFacts:
    """What routing knows of an item: a neutral English post at noon, with ``overrides``."""
    base = RouteFacts(
        intent="other",
        sentiment="neutral",
        actionable=False,
        toxicity=0.0,
        topics=(),
        language="en",
        country="GB",
        reach="nano",
        verified=False,
        channel="mastodon",
        group=None,
        text="",
        created_at=NOON,
    )
    return replace(base, **overrides)


CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium, which the browser tests drive through Playwright."""

TEST_PASSWORD = "correct horse battery"
"""The password of the web tests' people (``tests/web/conftest.py`` creates them)."""


def log_in_browser(page: Any, email: str = "sofia.rossi@acme.example") -> None:
    """Log ``email`` in on a Playwright ``page`` of the live server, landing on the inbox."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/inbox**")
