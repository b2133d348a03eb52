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
