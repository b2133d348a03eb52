"""The radar over enriched posts: story alerts, burst alerts, de-duplication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from townhall.posts import Post
from townhall.radar.cascades import simulate_cascades
from townhall.radar.forecast import ForecastModel, fit_forecaster
from townhall.radar.replay import Radar, is_negative
from townhall.understand.enrich import Enrichment

START = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def model() -> ForecastModel:
    return fit_forecaster(simulate_cascades(800, seed=202))


def enrichment(label: str = "negative", intent: str = "complaint", topics=()) -> Enrichment:
    return Enrichment(
        sentiment_label=label,  # type: ignore[arg-type]
        sentiment_score=-0.6 if label == "negative" else 0.6,
        intent=intent,  # type: ignore[arg-type]
        intent_confidence=0.9,
        actionable=False,
        toxicity=0.0,
        language="en",
        country=None,
        reach="nano",
        topics=list(topics),
    )


def post(n: int, minutes: float, **fields: object) -> Post:
    data: dict[str, object] = {
        "id": f"forum:{n}",
        "channel": "forum",
        "created_at": (START + timedelta(minutes=minutes)).isoformat(),
        "text": "x",
        "author": {"handle": f"user{n}", "followers": 150},
        "group": "ACME owners club",
    }
    data.update(fields)
    return Post.model_validate(data)


def test_negative_is_negative_sentiment_or_a_complaint_that_is_not_positive():
    assert is_negative(enrichment("negative", "question"))
    assert is_negative(enrichment("neutral", "complaint"))
    assert not is_negative(enrichment("positive", "complaint"))


def test_a_growing_negative_thread_raises_one_crisis_alert_per_severity(model):
    radar = Radar(forecaster=model)
    origin = post(1, 0, media=[{"type": "image", "url": "https://x.example/1.jpg"}])
    alerts = radar.observe([(origin, enrichment(topics=["product:airfry_5"]))])
    assert alerts == []  # one post in one group is not a crisis yet
    photo = [{"type": "image", "url": "https://x.example/2.jpg"}]
    batch = [
        (post(10 + k, 5 + 5 * k, reply_to="forum:1", media=photo), enrichment()) for k in range(10)
    ]
    alerts = radar.observe(batch)
    crisis = [a for a in alerts if a.kind == "crisis"]
    assert [a.severity for a in crisis] == ["watch"]
    first = crisis[0]
    assert first.topic == "product:airfry_5"  # replies inherit the story's topic
    assert first.story == "forum:1" and first.post_ids[0] == "forum:1"
    assert "ACME owners club" in first.why
    # more of the same at the same severity: no new alert
    more = [(post(30 + k, 60 + k, reply_to="forum:10"), enrichment()) for k in range(2)]
    assert [a for a in radar.observe(more) if a.kind == "crisis"] == []
    assert radar.stories["forum:1"].posts == 13  # a reply to a reply is in the same story


def test_a_positive_thread_is_not_a_crisis(model):
    radar = Radar(forecaster=model)
    batch = [(post(1, 0), enrichment("positive", "praise", ["product:airfry_5"]))]
    batch += [
        (post(10 + k, 1 + k, reply_to="forum:1"), enrichment("positive", "praise"))
        for k in range(30)
    ]
    assert [a for a in radar.observe(batch) if a.kind == "crisis"] == []


def test_posts_without_topics_raise_no_story_alerts(model):
    radar = Radar(forecaster=model)
    batch = [(post(1, 0), enrichment())]
    batch += [(post(10 + k, 1 + k, reply_to="forum:1"), enrichment()) for k in range(30)]
    assert radar.observe(batch) == []


def test_a_surge_of_independent_complaints_raises_a_burst_alert_once(model):
    radar = Radar(forecaster=model)
    batch = [
        (post(100 + k, k * 1.5, channel="mastodon", group=None, id=f"mastodon:{k}"),
         enrichment(topics=["product:kettleone"]))
        for k in range(80)
    ]  # fmt: skip
    alerts = radar.observe(batch, now=START + timedelta(hours=3))
    bursts = [a for a in alerts if a.kind == "burst"]
    assert bursts and bursts[0].topic == "product:kettleone"
    severities = [a.severity for a in bursts]
    assert len(severities) == len(set(severities))  # each severity at most once per episode
    assert bursts[0].at > START


def _text_post(n: int, minutes: float, text: str, channel: str = "mastodon", **fields: object):
    return post(
        n,
        minutes,
        id=f"{channel}:{n}",
        channel=channel,
        text=text,
        group=fields.pop("group", None),
        **fields,
    )


def test_threads_on_one_product_and_incident_from_any_channel_are_one_story(model):
    radar = Radar(forecaster=model)
    airfry = ["product:airfry_5"]
    origin = _text_post(1, 0, "My AirFry 5 basket melted and cracked!", "forum")
    batch = [(origin, enrichment(topics=airfry))]
    batch += [
        (_text_post(10 + k, 5 + 4 * k, "same here", "forum", reply_to="forum:1"), enrichment())
        for k in range(3)
    ]
    dutch = _text_post(20, 20, "Smeltende mandjes bij de ACME AirFry 5?", "bluesky")
    batch += [(dutch, enrichment(topics=airfry))]
    batch += [
        (_text_post(30 + k, 25 + k, "die van mij ook", "bluesky", reply_to="bluesky:20"),
         enrichment())
        for k in range(4)
    ]  # fmt: skip
    reporter = _text_post(
        40, 30, "Reporter here, looking into ACME AirFry 5 baskets melting", author={
            "handle": "@reporter@news.example", "followers": 152_000, "verified": True}
    )  # fmt: skip
    batch += [(reporter, enrichment("neutral", "press_inquiry", airfry))]
    news = _text_post(50, 40, "Melting baskets: what's going on with the AirFry 5?", "rss")
    batch += [(news, enrichment(topics=airfry))]
    late = _text_post(60, 45, "My AirFry 5 arrived a day late", "bluesky")
    batch += [(late, enrichment(topics=airfry))]
    rival = _text_post(70, 50, "My Globex fryer basket melted", "bluesky")
    batch += [(rival, enrichment(topics=["competitor:globex"]))]
    alerts = radar.observe(batch)

    for member in ("forum:11", "bluesky:20", "bluesky:31", "mastodon:40", "rss:50"):
        assert radar.story_of(member) == "forum:1"
    assert radar.story_of("bluesky:60") == "bluesky:60"  # the same product, no incident
    assert radar.story_of("bluesky:70") == "bluesky:70"  # a competitor's trouble is not ours
    crisis = [a for a in alerts if a.kind == "crisis"]
    assert crisis, "the incident's threads together are a crisis"
    assert {a.story for a in crisis} == {"forum:1"}
    assert len({a.severity for a in crisis}) == len(crisis)  # one alert per severity
    assert all(a.topic == "product:airfry_5" for a in crisis)
    assert set(crisis[-1].details["stories"]) <= {"forum:1", "bluesky:20", "mastodon:40"}
    assert "melt" in crisis[-1].details["incident_kinds"]
    incident = radar.incidents["forum:1"]
    assert [s.root for s in incident.stories] == ["forum:1", "bluesky:20", "mastodon:40", "rss:50"]


def test_a_post_linking_to_an_incident_joins_it(model):
    radar = Radar(forecaster=model)
    url = "https://community.acme.example/t/melted/1"
    origin = _text_post(1, 0, "My AirFry 5 basket melted!", "forum", url=url)
    share = _text_post(2, 10, f"Look at this thread {url}", "bluesky")
    radar.observe(
        [(origin, enrichment(topics=["product:airfry_5"])), (share, enrichment(topics=[]))]
    )
    assert radar.story_of("bluesky:2") == "forum:1"


def test_one_loud_author_is_not_a_crisis_until_others_speak(model):
    radar = Radar(forecaster=model)
    big = {"handle": "@celebrity", "followers": 900_000, "verified": True}
    root = _text_post(1, 0, "ACME's KettleOne is junk", author=big)
    batch = [(root, enrichment(topics=["product:kettleone"]))]
    neutral = enrichment("neutral", "other")
    batch += [(_text_post(10 + k, 1 + k, "", reshare_of="mastodon:1"), neutral) for k in range(12)]
    batch += [(_text_post(30 + k, 20 + k, "still junk", reply_to="mastodon:1", author=big),
               enrichment()) for k in range(10)]  # fmt: skip
    assert [a for a in radar.observe(batch) if a.kind == "crisis"] == []
    others = [
        (_text_post(40 + k, 40 + k, "mine too", reply_to="mastodon:1"), enrichment())
        for k in range(4)
    ]
    assert [a.kind for a in radar.observe(others)].count("crisis") >= 1


def test_a_brand_burst_whose_posts_name_one_product_is_alerted_under_the_product(model):
    radar = Radar(forecaster=model)
    batch = [
        (_text_post(100 + k, k * 1.5, "@acme the KettleOne is awful"),
         enrichment(topics=["brand:acme", "product:kettleone"]))
        for k in range(80)
    ]  # fmt: skip
    alerts = radar.observe(batch, now=START + timedelta(hours=3))
    bursts = [a for a in alerts if a.kind == "burst"]
    assert bursts and {a.topic for a in bursts} == {"product:kettleone"}
    assert len([a.severity for a in bursts]) == len({a.severity for a in bursts})


def test_a_retried_batch_is_not_counted_twice(model):
    # The pipeline retries a failed batch post by post: the radar has seen those posts already.
    batch = [
        (post(100 + k, k * 1.5, channel="mastodon", group=None, id=f"mastodon:{k}"),
         enrichment(topics=["product:kettleone"]))
        for k in range(80)
    ]  # fmt: skip
    once, retried = Radar(forecaster=model), Radar(forecaster=model)
    first = once.observe(batch)
    assert retried.observe(batch) == first
    again = [alert for pair in batch for alert in retried.observe([pair])]
    assert again == []
    # From then on both radars see the same world: the same alerts, the same stories.
    more = [
        (post(300 + k, 130 + k, channel="mastodon", group=None, id=f"mastodon:{300 + k}"),
         enrichment(topics=["product:kettleone"]))
        for k in range(40)
    ]  # fmt: skip
    later = START + timedelta(hours=5)
    assert retried.observe(more, now=later) == once.observe(more, now=later)
    assert retried.stories.keys() == once.stories.keys()
    thread = [(post(1, 0), enrichment(topics=["product:airfry_5"]))] + [
        (post(500 + k, 1 + k, reply_to="forum:1"), enrichment(topics=["product:airfry_5"]))
        for k in range(6)
    ]
    once.observe(thread)
    retried.observe(thread)
    for pair in thread:
        retried.observe([pair])
    counted = [(s.posts, s.negative, len(s.voices)) for s in once.stories.values()]
    assert [(s.posts, s.negative, len(s.voices)) for s in retried.stories.values()] == counted
    assert once.stories["forum:1"].posts == 7
