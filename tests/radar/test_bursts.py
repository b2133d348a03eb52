"""Burst detection: fires on a growing negative surge, not on campaigns, handfuls or daily peaks."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from townhall.radar.bursts import (
    BUCKET,
    Burst,
    BurstDetector,
    BurstSettings,
    NaiveDetector,
    prior_season,
)

MONDAY = datetime(2026, 11, 16, tzinfo=UTC).timestamp()  # a Monday, 00:00 UTC
HOUR = 3600.0


def calm_day(rng: random.Random, start: float, days: int = 1) -> list[tuple[float, bool, str]]:
    """(time, negative, topic) posts: 40 posts/hour × the daily profile, 5% negative."""
    posts: list[tuple[float, bool, str]] = []
    for h in range(24 * days):
        rate = 40 * prior_season(int(((start + h * HOUR - MONDAY) // HOUR) % 168))
        for _ in range(int(rate)):
            posts.append((start + h * HOUR + rng.uniform(0, HOUR), rng.random() < 0.05, "p:x"))
    return sorted(posts)


def run(detector: BurstDetector, posts: list[tuple[float, bool, str]], end: float) -> list[Burst]:
    found: list[Burst] = []
    for n, (at, negative, topic) in enumerate(posts):
        found += detector.advance(at)
        detector.add(at, [topic], negative, f"id{n}")
    return found + detector.advance(end)


def test_a_calm_day_with_its_daily_peak_raises_nothing() -> None:
    rng = random.Random(1)
    posts = calm_day(rng, MONDAY, days=2)
    assert run(BurstDetector(), posts, MONDAY + 48 * HOUR) == []


def test_a_growing_negative_surge_fires_early_and_escalates() -> None:
    rng = random.Random(2)
    posts = calm_day(rng, MONDAY)
    start = MONDAY + 10 * HOUR
    # negative posts at 6, 12, 24, 48 per hour over four hours
    for h, rate in enumerate((6, 12, 24, 48)):
        posts += [(start + h * HOUR + rng.uniform(0, HOUR), True, "p:x") for _ in range(rate)]
    bursts = run(BurstDetector(), sorted(posts), MONDAY + 24 * HOUR)
    assert bursts, "the surge was missed"
    first = bursts[0]
    assert first.topic == "p:x" and first.severity in ("watch", "warning")
    assert start < first.at <= start + 2 * HOUR
    assert "critical" in {b.severity for b in bursts}
    assert first.count >= 5 and first.expected < first.count
    assert "negative posts about p:x" in first.why()


def test_a_positive_campaign_spike_does_not_fire() -> None:
    rng = random.Random(3)
    posts = calm_day(rng, MONDAY)
    start = MONDAY + 14 * HOUR
    # 600 posts in an hour, 5% of them (mis)labelled negative
    posts += [(start + rng.uniform(0, HOUR), rng.random() < 0.05, "p:x") for _ in range(600)]
    assert run(BurstDetector(), sorted(posts), MONDAY + 24 * HOUR) == []


def test_a_handful_of_complaints_that_do_not_grow_does_not_fire() -> None:
    rng = random.Random(4)
    posts = calm_day(rng, MONDAY)
    at = MONDAY + 11 * HOUR
    posts += [(at + 60 * k, True, "p:x") for k in range(4)]
    assert run(BurstDetector(), sorted(posts), MONDAY + 24 * HOUR) == []


def test_one_busy_thread_is_one_voice() -> None:
    detector = BurstDetector()
    at = MONDAY + 12 * HOUR
    for k in range(40):
        detector.add(at + k, ["p:x"], True, f"r{k}", story="thread-1")
    assert detector.advance(at + BUCKET * 3) == []


def test_a_long_negative_thread_is_one_voice_but_as_many_new_voices_fire() -> None:
    rng = random.Random(6)
    calm = calm_day(rng, MONDAY)
    start = MONDAY + 10 * HOUR
    surge = sorted(start + rng.uniform(0, 4 * HOUR) for _ in range(120))  # 30 per hour, 4 hours

    def bursts(story_of: str) -> list[Burst]:
        posts = sorted(
            [(at, negative, "p:x", f"c{n}") for n, (at, negative, _) in enumerate(calm)]
            + [(at, True, "p:x", story_of or f"s{n}") for n, at in enumerate(surge)]
        )
        detector, found = BurstDetector(), list[Burst]()
        for n, (at, negative, topic, story) in enumerate(posts):
            found += detector.advance(at)
            detector.add(at, [topic], negative, f"id{n}", story=story)
        return found + detector.advance(MONDAY + 24 * HOUR)

    # 120 angry replies in one thread: the story's risk watches it, not the burst detector
    assert bursts("thread-1") == []
    # the same 120 posts from 120 different stories are a surge
    fired = bursts("")
    assert fired and fired[0].topic == "p:x" and start < fired[0].at <= start + 2 * HOUR


def test_a_lower_threshold_fires_earlier_on_the_same_surge() -> None:
    rng = random.Random(2)
    posts = calm_day(rng, MONDAY)
    start = MONDAY + 10 * HOUR
    for h, rate in enumerate((6, 12, 24, 48)):
        posts += [(start + h * HOUR + rng.uniform(0, HOUR), True, "p:x") for _ in range(rate)]
    posts.sort()
    default = run(BurstDetector(), posts, MONDAY + 24 * HOUR)
    sensitive = run(BurstDetector(BurstSettings(cusum_threshold=4.0)), posts, MONDAY + 24 * HOUR)
    assert default and sensitive
    assert start < sensitive[0].at < default[0].at


@pytest.mark.parametrize("threshold", [0.0, -1.0, 11.0])
def test_the_threshold_must_be_positive_and_reachable(threshold: float) -> None:
    with pytest.raises(ValueError, match="cusum_threshold"):
        BurstSettings(cusum_threshold=threshold)


def test_naive_rule_fires_on_the_daily_peak_after_a_quiet_night() -> None:
    rng = random.Random(5)
    posts = calm_day(rng, MONDAY, days=2)
    naive = NaiveDetector()
    alarms: list[tuple[str, float]] = []
    for at, negative, topic in posts:
        alarms += naive.advance(at)
        naive.add(at, [topic], negative)
    alarms += naive.advance(MONDAY + 48 * HOUR)
    assert alarms  # the point of the comparison: mean + 3σ ignores the hour of the day


def test_a_far_off_date_closes_a_bounded_number_of_buckets(monkeypatch) -> None:
    from townhall.radar import bursts

    detector = bursts.BurstDetector()
    naive = bursts.NaiveDetector()
    closes: list[int] = []
    real = detector._close
    monkeypatch.setattr(detector, "_close", lambda b: closes.append(b) or real(b))
    start = 1_790_000_000.0
    for d in (detector, naive):
        d.add(start, ["product:airfry_5"], True, *(["p1"] if d is detector else []))
        d.advance(start + 600)
    year_2999 = 32_503_680_000.0
    detector.add(year_2999, ["product:airfry_5"], True, "p2")
    detector.advance(year_2999 + 300)
    naive.add(year_2999, ["product:airfry_5"], True)
    naive.advance(year_2999 + 300)

    assert 2 <= len(closes) <= bursts.MAX_CATCHUP + 2
    assert closes[-1] == int(year_2999 // bursts.BUCKET)
