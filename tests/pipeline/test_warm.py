"""A radar warmed from the stored posts answers as the radar that saw them all: a restarted
process or a worker taking over the radar stage neither misses nor repeats an alert."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from townhall.db import make_engine, session_factory
from townhall.org.policy import Policy
from townhall.pipeline.runner import Pipeline
from townhall.pipeline.warm import warm
from townhall.posts import Post, parse_post
from townhall.radar.alerts import Alert
from townhall.radar.replay import Radar, RadarSettings
from townhall.routing.rules import router_for
from townhall.understand.enrich import Understander

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> list[Post]:
    """Four hours of ACME traffic with the melted-basket crisis one hour in."""
    out = tmp_path_factory.mktemp("warm") / "day.jsonl"
    subprocess.run(
        [sys.executable, "-m", "townhall.cli", "simulate", "--seed", "11", "--hours", "4",
         "--rate", "150", "--crisis-at", "1", "--start", "2026-11-30T08:00:00Z",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return [parse_post(line) for line in out.read_bytes().splitlines() if line.strip()]


def radar_of(policy: Policy) -> Radar:
    return Radar(policy, RadarSettings(viral_threshold=policy.crisis.viral_threshold))


def alerts_of(radar: Radar, pairs: list[tuple[Post, Any]]) -> list[tuple[str, str, str, str]]:
    raised: list[Alert] = []
    for start in range(0, len(pairs), 100):
        batch = sorted(pairs[start : start + 100], key=lambda pair: pair[0].created_at)
        raised.extend(radar.observe(batch))
    return [(a.kind, a.story, str(a.severity), a.topic or "") for a in raised]


def test_a_warmed_radar_alerts_as_the_one_that_saw_everything(
    day: list[Post], make_database_url: Callable[[], str], acme_policy: Policy
) -> None:
    engine = make_engine(make_database_url())
    sessions = session_factory(engine)
    understander = Understander.from_policy(acme_policy)
    seen_all = radar_of(acme_policy)
    pipeline = Pipeline(sessions, acme_policy, understander, router_for(acme_policy), seen_all)
    half = len(day) // 2  # two hours in: the crisis is under way and alerted
    first, second = day[:half], day[half:]
    for start in range(0, len(first), 100):
        pipeline.process_batch(first[start : start + 100], NOW)

    warmed = radar_of(acme_policy)
    assert warm(warmed, sessions) == half
    cold = radar_of(acme_policy)
    pairs = list(zip(second, understander.enrich(second), strict=True))

    expected = alerts_of(seen_all, pairs)
    assert alerts_of(warmed, pairs) == expected
    # Not trivially equal: a radar without that memory alerts the running crisis again.
    assert alerts_of(cold, pairs) != expected
    engine.dispose()


def test_posts_stored_after_the_cut_are_left_to_the_radar(
    day: list[Post], make_database_url: Callable[[], str], acme_policy: Policy
) -> None:
    engine = make_engine(make_database_url())
    sessions = session_factory(engine)
    pipeline = Pipeline(sessions, acme_policy, Understander.from_policy(acme_policy))
    pipeline.process_batch(day[:50], datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    pipeline.process_batch(day[50:80], datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    cut = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert warm(radar_of(acme_policy), sessions, stored_before=cut) == 50
    newest = max(post.created_at for post in day[:80])
    at_newest = sum(post.created_at == newest for post in day[:80])
    assert warm(radar_of(acme_policy), sessions, hours=0) == at_newest  # the newest only
    engine.dispose()
