"""Rollups agree with a recount of the posts, whatever the ingest order, the batches, the
duplicates and the retried batches; and the dashboards read the same numbers from them."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine, session_factory
from townhall.insights import metrics, rollups, topic_metrics
from townhall.insights.metrics import Filter
from townhall.insights.periods import Grain, last_days
from townhall.models import PostRollup
from townhall.org.policy import Policy
from townhall.pipeline.runner import BatchResult, Pipeline
from townhall.posts import Post
from townhall.understand.enrich import Enrichment

ACME_POLICY = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"
START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS_5 = timedelta(days=5)
TOPICS = [
    "brand:acme",
    "product:kettleone",
    "competitor:globex",
    "competitor:globexia",
    'keyword:"brand:quoted',  # the posts' query finds "brand: inside it too
]
VOICES = [
    ("ACME", ["brand:", "product:"]),
    ("Globex", ["competitor:globex"]),  # a prefix of Globexia's topic too, as in the posts
    ("Globexia", ["competitor:globexia"]),
    ("Nobody", ["competitor:initech"]),
]


class FromExtra:
    """Understands a post as its ``extra`` says (so a test decides every counted field)."""

    def enrich(self, posts: Sequence[Post]) -> list[Enrichment]:
        return [
            Enrichment(
                sentiment_label=p.extra["sentiment"],
                sentiment_score=0.0,
                intent=p.extra["intent"],
                intent_confidence=1.0,
                actionable=False,
                toxicity=0.0,
                language="en",
                country=p.extra["country"],
                reach="small",
                topics=list(p.extra["topics"]),
            )
            for p in posts
        ]


def build_post(
    channel: str, native: int, minutes: int, fields: dict[str, object], start: datetime = START
) -> Post:
    """A post of ``channel`` created ``minutes`` after ``start``, understood as ``fields``."""
    return Post.model_validate(
        {
            "id": f"{channel}:{start:%Y%m%d}-{native}",
            "channel": channel,
            "created_at": (start + timedelta(minutes=minutes)).isoformat(),
            "text": f"ACME post {native}",
            "author": {"handle": f"@user{native % 4}@example.social", "followers": native},
            **fields,
        }
    )


# Plain data (channel, native id, minutes, fields): each example builds its posts in days of
# its own, so examples share one database (the audit log cannot be emptied between them).
posts = st.tuples(
    st.sampled_from(["mastodon", "bluesky"]),
    st.integers(0, 12),  # a small id space: the same post often arrives twice
    st.integers(0, 4 * 24 * 60),
    st.fixed_dictionaries(
        {
            "sentiment": st.sampled_from(["positive", "neutral", "negative"]),
            "intent": st.sampled_from(["complaint", "question", "praise", "other"]),
            "country": st.sampled_from([None, "GB", "US"]),
            "topics": st.lists(st.sampled_from(TOPICS), max_size=4),
        }
    ),
)
batches = st.lists(st.tuples(st.lists(posts, max_size=8), st.booleans()), max_size=6)
Plan = list[tuple[list[tuple[str, int, int, dict[str, object]]], bool]]


@pytest.fixture
def rollup_engine(make_database_url: Callable[[], str]) -> Iterator[Engine]:
    """A fresh database of its own (the pipeline commits)."""
    engine = make_engine(make_database_url())
    yield engine
    engine.dispose()


def _busy(session: Session, result: BatchResult) -> None:
    raise OperationalError("COMMIT", {}, Exception("the database went away"))


def _ingest(pipeline: Pipeline, plan: list[tuple[list[Post], bool]], now: datetime) -> None:
    for batch, fails_first in plan:
        if fails_first:  # the batch's transaction rolls back; the caller retries it
            with pytest.raises(OperationalError):
                pipeline.process_batch(batch, now, _busy)
        pipeline.process_batch(batch, now)


examples = iter(range(10**6))


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=batches)
def test_rollups_equal_a_recount_after_random_ingest(
    rollup_engine: Engine, acme_policy: Policy, plan: Plan
) -> None:
    start = START + timedelta(days=7 * next(examples))
    built = [([build_post(*p, start=start) for p in batch], fails) for batch, fails in plan]
    sessions = session_factory(rollup_engine)
    _ingest(Pipeline(sessions, acme_policy, FromExtra()), built, start + timedelta(days=5))

    def mine(found: Counter[rollups.Key]) -> Counter[rollups.Key]:
        return Counter({k: n for k, n in found.items() if start <= k[1] < start + DAYS_5})

    with sessions() as session:
        incremental = rollups.stored(session)
        assert mine(incremental) == mine(rollups.recount(session))
        distinct = {p.id for batch, _ in built for p in batch}
        assert sum(n for k, n in mine(incremental).items() if k[0] == "sentiment") == len(distinct)
        assert read_both_ways(session, start) is not None
        rollups.rebuild(session)
        assert rollups.stored(session) == incremental
        session.rollback()


def topic_panels(session: Session, start: datetime) -> list[object]:
    """Volume per topic (top 1 and top 5, every channel and one) and share of voice over
    the five days from ``start``."""
    period = last_days((start + timedelta(days=4)).date(), 5, UTC)
    out: list[object] = []
    for channel in (None, "bluesky"):
        flt = Filter(period.start, period.end, channel)
        for top in (1, 5):
            out.append(topic_metrics.topic_volume(session, flt, period.buckets(), top))
        out.append(metrics.share_of_voice(session, flt, VOICES))
        # A voice the voices rollups cannot count: the posts answer.
        out.append(metrics.share_of_voice(session, flt, [*VOICES, ("Kettles", ["product"])]))
    return out


def read_both_ways(session: Session, start: datetime) -> list[object]:
    """The topic panels from the rollups; asserts the posts give the same."""
    rolled = topic_panels(session, start)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(metrics, "_rolled", lambda flt: False)
        raw = topic_panels(session, start)
    assert rolled == raw
    return rolled


def test_rollups_count_what_the_pipeline_stored(rollup_engine: Engine, acme_policy: Policy):
    sessions = session_factory(rollup_engine)
    pipeline = Pipeline(sessions, acme_policy, FromExtra())
    fields = {"sentiment": "negative", "intent": "complaint", "country": None, "topics": []}
    first = build_post("mastodon", 1, 30, {**fields, "topics": ["brand:acme", "brand:acme"]})
    again = build_post("mastodon", 1, 30, {**fields, "sentiment": "positive"})
    later = build_post("bluesky", 2, 90, {**fields, "country": "GB"})
    pipeline.process_batch([first], START)
    pipeline.process_batch([again, later], START)

    with sessions() as session:
        got = rollups.stored(session)
    hour = START
    assert got == {
        ("sentiment", hour, "mastodon", "negative"): 1,
        ("intent", hour, "mastodon", "complaint"): 1,
        ("country", hour, "mastodon", ""): 1,
        ("topic", hour, "mastodon", "brand:acme"): 1,
        ("topics", hour, "mastodon", '["brand:acme"]'): 1,
        ("voices", hour, "mastodon", '["brand:acme"]'): 1,
        ("sentiment", hour + timedelta(hours=1), "bluesky", "negative"): 1,
        ("intent", hour + timedelta(hours=1), "bluesky", "complaint"): 1,
        ("country", hour + timedelta(hours=1), "bluesky", "GB"): 1,
    }


def test_dashboards_read_the_same_numbers_from_the_rollups(
    rollup_engine: Engine, acme_policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = session_factory(rollup_engine)
    sentiments, intents = ["positive", "neutral", "negative"], ["complaint", "question", "praise"]
    fixed = [
        build_post(
            ["mastodon", "bluesky", "forum"][n % 3],
            n,
            n * 97,
            {
                "sentiment": sentiments[n % 3 if n % 5 else 0],
                "intent": intents[n % 7 % 3],
                "country": [None, "GB", "US", "DE"][n % 4],
                "topics": [["brand:acme"], [], TOPICS[1:3], TOPICS[n % 4 :]][n % 4],
            },
        )
        for n in range(120)
    ]
    Pipeline(sessions, acme_policy, FromExtra()).process_batch(fixed, START)
    london = ZoneInfo("Europe/London")
    period = last_days((START + timedelta(days=7)).date(), 7, london)
    week = last_days((START + timedelta(days=7)).date(), 30, london)

    def panels(session: Session) -> list[object]:
        out: list[object] = []
        for p in (period, week):
            for channel in (None, "bluesky"):
                flt = Filter(p.start, p.end, channel)
                out += [
                    metrics.totals(session, flt),
                    metrics.volume(session, flt, p.buckets()),
                    metrics.volume(session, flt, p.buckets(Grain.WEEK)),
                    metrics.intents(session, flt),
                    metrics.countries(session, flt),
                    topic_metrics.topic_volume(session, flt, p.buckets(), 2),
                    topic_metrics.topic_volume(session, flt, p.buckets(Grain.WEEK)),
                    metrics.share_of_voice(session, flt, VOICES),
                ]
        return out

    with sessions() as session:
        rolled = panels(session)
        assert sum(r.posts for r in rolled[0::8]) > 0  # type: ignore[attr-defined]
        assert any(n for _, n in rolled[7]) and rolled[5].has_others  # type: ignore[attr-defined]
        with monkeypatch.context() as patch:
            patch.setattr(metrics, "_rolled", lambda flt: False)
            raw = panels(session)
        # With the rollups emptied, the panels show zeros: they really read them.
        session.execute(delete(PostRollup))
        emptied = panels(session)
    assert rolled == raw
    assert emptied != raw
    # The topic panels too (a list too long for a row would make them read the posts).
    assert emptied[5:8] != raw[5:8]
    assert not any(n for _, n in emptied[7])  # type: ignore[attr-defined]


def test_hours_and_whole_hours() -> None:
    moment = datetime(2026, 3, 29, 0, 59, 59, 5, tzinfo=UTC)
    assert rollups.hour_of(moment) == datetime(2026, 3, 29, 0, tzinfo=UTC)
    assert rollups.whole_hours(datetime(2026, 3, 29, 1, tzinfo=ZoneInfo("Europe/London")))
    assert not rollups.whole_hours(datetime(2026, 3, 29, 1, tzinfo=ZoneInfo("Asia/Kolkata")))


class Together(FromExtra):
    """Makes two pipelines check for stored posts before either inserts (a worker race)."""

    def __init__(self, barrier: threading.Barrier) -> None:
        self.barrier = barrier

    def enrich(self, posts: Sequence[Post]) -> list[Enrichment]:
        with contextlib.suppress(threading.BrokenBarrierError):  # a retry runs alone
            self.barrier.wait(timeout=10)
        return super().enrich(posts)


def test_racing_workers_count_each_post_once(rollup_engine: Engine, acme_policy: Policy):
    fields = {"sentiment": "neutral", "intent": "other", "country": "GB", "topics": []}
    batch = [build_post("mastodon", n, n, fields) for n in range(20)]
    barrier = threading.Barrier(2)
    sessions = session_factory(rollup_engine)
    stored: list[int] = []

    def worker() -> None:
        pipeline = Pipeline(sessions, acme_policy, Together(barrier))
        for _ in range(5):
            try:
                stored.append(pipeline.process_batch(batch, START).stored)
                return
            except OperationalError:  # SQLite: the other worker wrote first; retry
                barrier.abort()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(stored) == len(batch)
    with sessions() as session:
        got = rollups.stored(session)
        assert got == rollups.recount(session)
    assert sum(n for k, n in got.items() if k[0] == "country") == len(batch)


def test_rebuild_rollups_command_recounts(
    make_database_url: Callable[[], str], acme_policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_database_url()
    engine = make_engine(url)
    sessions = session_factory(engine)
    fields = {"sentiment": "positive", "intent": "praise", "country": "US", "topics": []}
    Pipeline(sessions, acme_policy, FromExtra()).process_batch(
        [build_post("mastodon", n, n * 50, fields) for n in range(6)], START
    )
    with sessions() as session, session.begin():
        expected = rollups.stored(session)
        session.execute(delete(PostRollup))  # as a database restored without its rollups
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    monkeypatch.setenv("TOWNHALL_POLICY", str(ACME_POLICY))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["insights", "rebuild-rollups"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["rows"] == len(expected)
    with sessions() as session:
        assert rollups.stored(session) == expected
    engine.dispose()


def test_posts_written_through_the_orm_keep_the_rollups(session: Session) -> None:
    from townhall.models import PostRecord

    def record(n: int, **fields: object) -> PostRecord:
        at = START + timedelta(minutes=40 * n)
        return PostRecord(
            post_id=f"forum:orm{n}",
            channel="forum",
            external_id=f"orm{n}",
            created_at=at,
            ingested_at=at,
            author_handle=f"@orm{n}",
            **fields,
        )

    kept = record(1, sentiment_label="negative", intent="complaint", topics=["brand:acme"])
    gone = record(2, country="GB")
    session.add_all([kept, gone, record(3)])
    session.flush()
    assert rollups.stored(session) == rollups.recount(session)

    kept.sentiment_label, kept.topics = "positive", ["product:kettleone"]
    session.delete(gone)
    session.flush()
    got = rollups.stored(session)
    assert got == rollups.recount(session)
    assert got[("sentiment", START, "forum", "positive")] == 1
    assert sum(n for k, n in got.items() if k[0] == "country") == 2


def test_a_topics_list_too_long_for_a_rollup_row_is_read_from_the_posts(
    session: Session,
) -> None:
    from townhall.models import PostRecord

    many = [f"keyword:{'very_long_keyword_' * 3}{n}" for n in range(40)]
    for n, topics in enumerate([[*many, "brand:acme"], ["competitor:globex"], ["brand:acme"]]):
        at = START + timedelta(minutes=50 * n)
        session.add(
            PostRecord(
                post_id=f"forum:long{n}",
                channel="forum",
                external_id=f"long{n}",
                created_at=at,
                ingested_at=at,
                author_handle="@long",
                topics=topics,
            )
        )
    session.flush()
    got = rollups.stored(session)
    assert got == rollups.recount(session)
    assert got[("topics", START, "forum", rollups.TOO_LONG)] == 1
    assert got[("topic", START, "forum", many[0])] == 1
    assert got[("voices", START, "forum", '["brand:acme"]')] == 1
    day = Filter(START, START + timedelta(days=1))
    assert metrics.topic_lists_rolled(session, day) is None  # the posts answer instead
    later = Filter(START + timedelta(hours=1), START + timedelta(days=1))
    assert metrics.topic_lists_rolled(session, later) == [(0, ("brand:acme",), 1)]
    panels = read_both_ways(session, START)
    assert panels[2] == [("ACME", 2), ("Globex", 1), ("Globexia", 0), ("Nobody", 0)]
    assert panels[1].has_others  # type: ignore[attr-defined]
