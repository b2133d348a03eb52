"""The simulated day: determinism, validity, volume, timing, cascades and the crisis."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from townhall.connectors.simulator import generate_day
from townhall.connectors.simulator.process import (
    branching_ratio,
    day_profile,
    lomax_delay,
    poisson,
    thinning,
)
from townhall.posts import Post

START = datetime(2026, 11, 20, tzinfo=UTC)
STORY = "airfry5-melted-basket"


@pytest.fixture(scope="module")
def day() -> list[Post]:
    return generate_day(seed=7, start=START)


def test_same_seed_same_day_and_different_seed_differs(day: list[Post]) -> None:
    again = generate_day(seed=7, start=START)
    assert [p.to_json() for p in again] == [p.to_json() for p in day]
    other = generate_day(seed=8, start=START)
    assert [p.id for p in other] != [p.id for p in day]
    assert [p.text for p in other[:50]] != [p.text for p in day[:50]]


def test_every_post_round_trips_through_the_post_model(day: list[Post]) -> None:
    for post in day:
        again = Post.model_validate(post.to_json())
        assert again == post
        assert post.id.startswith(f"{post.channel}:")
        assert post.created_at.tzinfo is not None
    assert len({p.id for p in day}) == len(day)


def test_sorted_by_time_and_inside_the_day(day: list[Post]) -> None:
    times = [p.created_at for p in day]
    assert times == sorted(times)
    assert times[0] >= START
    assert times[-1] < START + timedelta(hours=24)


def test_volume_of_a_default_day(day: list[Post]) -> None:
    assert 1500 <= len(day) <= 4000
    channels = Counter(p.channel for p in day)
    assert set(channels) == {"mastodon", "bluesky", "forum", "rss"}
    assert channels["rss"] < channels["forum"] < channels["bluesky"]
    assert sum(p.reshare_of is not None for p in day) > 200
    assert sum(p.reply_to is not None for p in day) > 200


def test_rate_scales_the_volume() -> None:
    small = generate_day(seed=3, start=START, base_rate_per_hour=15, crisis_at_hours=None)
    big = generate_day(seed=3, start=START, base_rate_per_hour=60, crisis_at_hours=None)
    assert 2.5 < len(big) / len(small) < 6


def test_channel_style_ids_and_handles(day: list[Post]) -> None:
    for post in day:
        handle = post.author.handle
        if post.channel == "mastodon":
            assert post.external_id.isdigit()
            assert handle.startswith("@") and handle.count("@") == 2
        elif post.channel == "bluesky":
            assert post.external_id.startswith("at://did:plc:")
            assert "." in handle and not handle.startswith("@")
        elif post.channel == "forum":
            assert post.external_id.isdigit()
            assert post.group
        else:
            assert post.external_id.startswith("https://")
            assert post.extra["title"] and post.text.startswith(post.extra["title"])


def test_followers_are_heavy_tailed(day: list[Post]) -> None:
    authors = {p.author.handle: p.author for p in day}
    followers = sorted(a.followers for a in authors.values())
    median = followers[len(followers) // 2]
    assert 20 <= median <= 2000
    assert followers[-1] >= 10_000
    assert any(a.verified for a in authors.values())
    locations = {a.location for a in authors.values()}
    assert None in locations and len(locations) > 50


def test_non_english_share(day: list[Post]) -> None:
    langs = Counter(p.extra["sim_lang"] for p in day if p.text)
    share = 1 - langs["en"] / sum(langs.values())
    assert 0.08 <= share <= 0.25
    assert {"es", "fr", "de", "pt", "it", "nl"} <= set(langs)
    tagged = Counter(p.lang for p in day if p.lang)
    assert tagged["es"] > 0 and tagged["de"] > 0


def test_intent_and_sentiment_metadata(day: list[Post]) -> None:
    intents = Counter(p.extra["sim_intent"] for p in day)
    assert {"complaint", "question", "praise", "spam", "outage", "press_inquiry"} <= set(intents)
    assert {p.extra["sim_sentiment"] for p in day} == {"positive", "neutral", "negative"}


def test_day_profile_more_posts_at_midday_than_at_night(day: list[Post]) -> None:
    hours = Counter(p.created_at.hour for p in day if p.reshare_of is None and p.reply_to is None)
    assert hours[12] > 4 * hours[3]
    assert day_profile(11.5) > 5 * day_profile(3.0)
    assert sum(day_profile(h / 10) for h in range(240)) / 240 == pytest.approx(1.0, rel=0.02)


def test_reshares_and_replies_follow_existing_earlier_posts(day: list[Post]) -> None:
    seen: dict[str, Post] = {}
    for post in day:
        parent_id = post.reshare_of or post.reply_to
        if parent_id is not None:
            assert post.reshare_of is None or post.reply_to is None
            parent = seen.get(parent_id)
            assert parent is not None, f"{post.id} points at {parent_id}, not an earlier post"
            assert parent.created_at < post.created_at
            if post.reshare_of:
                assert len(post.text) < 250
                assert parent.reshare_of is None  # reshares point at the original
            if post.reply_to:
                assert parent.channel == post.channel
        seen[post.id] = post


def test_cascades_are_bounded() -> None:
    posts = generate_day(seed=11, start=START, base_rate_per_hour=120)
    size = Counter(p.reshare_of or p.reply_to for p in posts if p.reshare_of or p.reply_to)
    assert max(size.values()) <= 400


def test_crisis_post_in_the_owners_club_with_a_photo(day: list[Post]) -> None:
    crisis = [p for p in day if p.extra.get("sim_story") == STORY]
    origin = crisis[0]
    assert origin.channel == "forum" and origin.group == "ACME owners club"
    assert origin.created_at == START + timedelta(hours=9.5)
    assert "AirFry 5" in origin.text and "pictures" in origin.text
    assert origin.media and origin.media[0]["url"].startswith("https://")  # type: ignore[index]
    assert "melted" in origin.media[0]["alt"]  # type: ignore[index]
    assert origin.extra["sim_sentiment"] == "negative"
    # first it stays in the group …
    first_hour = [p for p in crisis if p.created_at < origin.created_at + timedelta(hours=1)]
    assert len(first_hour) >= 3
    assert all(p.channel == "forum" and p.group == "ACME owners club" for p in first_hour)
    assert sum(p.reply_to == origin.id for p in first_hour) >= 3


def test_crisis_grows_and_spreads(day: list[Post]) -> None:
    crisis = [p for p in day if p.extra.get("sim_story") == STORY]
    origin = crisis[0]
    by_hour = Counter(
        int((p.created_at - origin.created_at).total_seconds() // 3600) for p in crisis
    )
    assert sum(by_hour[h] for h in (5, 6, 7)) / 3 > 3 * by_hour[0]
    assert sum(by_hour[h] for h in range(4, 8)) > sum(by_hour[h] for h in range(0, 4))
    assert {"mastodon", "bluesky", "rss"} <= {p.channel for p in crisis}
    assert sum(p.reshare_of is not None for p in crisis) > 50
    press = [p for p in crisis if p.extra["sim_intent"] == "press_inquiry"]
    assert press and press[0].channel == "mastodon" and press[0].author.verified
    assert any(p.channel == "bluesky" and p.author.followers > 50_000 for p in crisis)
    blog = [p for p in crisis if p.channel == "rss"]
    assert blog and "AirFry 5" in blog[0].extra["title"]
    assert Counter(p.extra["sim_sentiment"] for p in crisis).most_common(1)[0][0] == "negative"


def test_no_crisis_and_short_days() -> None:
    calm = generate_day(seed=7, start=START, crisis_at_hours=None)
    assert not [p for p in calm if "sim_story" in p.extra]
    morning = generate_day(seed=7, start=START, hours=6)
    assert morning and max(p.created_at for p in morning) < START + timedelta(hours=6)
    assert not [p for p in morning if "sim_story" in p.extra]


def test_start_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        generate_day(start=datetime(2026, 11, 20))


def test_process_primitives_are_pure_and_sane() -> None:
    import random

    rng = random.Random(1)
    counts = [poisson(rng, 2.0) for _ in range(4000)]
    assert sum(counts) / len(counts) == pytest.approx(2.0, rel=0.08)
    arrivals = thinning(random.Random(2), lambda t: 10.0, 10.0, 100.0)
    assert len(arrivals) == pytest.approx(1000, rel=0.1)
    assert arrivals == sorted(arrivals)
    delays = [lomax_delay(rng, 0.15, 1.5) for _ in range(2000)]
    assert min(delays) >= 0 and max(delays) <= 18
    assert branching_ratio(100_000, "negative", "bluesky") > branching_ratio(
        100, "negative", "bluesky"
    )
    assert branching_ratio(500, "negative", "mastodon") > branching_ratio(
        500, "positive", "mastodon"
    )
