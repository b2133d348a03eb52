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
