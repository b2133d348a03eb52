"""One post that breaks the pipeline is set aside as a dead letter; the rest of its batch is
stored, and the dead letter replays once the cause is fixed."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine, session_factory
from townhall.models import DeadLetter, Item, PostRecord
from townhall.pipeline.runner import Pipeline
from townhall.posts import Post
from townhall.routing.rules import RouteDecision, route_by_channel
from townhall.understand.enrich import Enrichment


class Bomb:
    """A router that fails on posts whose text says "boom" (until defused)."""

    def __init__(self, policy: object) -> None:
        self.policy = policy
        self.armed = True
        self.calls = 0

    def __call__(self, post: Post, enrichment: Enrichment) -> RouteDecision:
        self.calls += 1
        if self.armed and "boom" in post.text:
            raise ZeroDivisionError("a bug in a routing rule")
        return route_by_channel(self.policy, post.channel, "test")  # type: ignore[arg-type]


@pytest.fixture
def sessions(session: Session) -> sessionmaker[Session]:
    return sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_failing_post_becomes_a_dead_letter_and_the_rest_is_stored(
    sessions, session, acme_policy, make_post, now
) -> None:
    from townhall.understand.enrich import Understander

    bomb = Bomb(acme_policy)
    pipeline = Pipeline(sessions, acme_policy, Understander.from_policy(acme_policy), bomb)
    posts = [make_post(n) for n in range(1, 12)]
    posts[6] = make_post(7, text="my kettle went boom")
    seen: list[int] = []

    result = pipeline.process_batch(
        posts, now, within=lambda s, r: seen.append(r.stored), source="day.jsonl"
    )

    assert (result.read, result.stored, result.dead) == (11, 10, 1)
    assert seen == [10]  # the cursor callback ran once, after everything that could be stored
    assert _count(session, PostRecord) == 10 and _count(session, Item) == 10
    dead = session.scalars(select(DeadLetter)).one()
    assert (dead.source, dead.post_id) == ("day.jsonl", posts[6].id)
    assert dead.error == "ZeroDivisionError: a bug in a routing rule"
    assert Post.model_validate(dead.post) == posts[6]

    bomb.armed = False
    again = pipeline.process_batch([Post.model_validate(dead.post)], now)
    assert (again.stored, again.dead) == (1, 0)


def test_a_busy_database_is_not_blamed_on_a_post(sessions, acme_policy, make_post, now) -> None:
    from sqlalchemy.exc import OperationalError

    def busy(post: Post, enrichment: Enrichment) -> RouteDecision:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    from townhall.understand.enrich import Understander

    pipeline = Pipeline(sessions, acme_policy, Understander.from_policy(acme_policy), busy)
    with pytest.raises(OperationalError):
        pipeline.process_batch([make_post(1)], now)


def test_dead_letters_are_listed_and_replayed_from_the_command_line(
    make_database_url: Callable[[], str], monkeypatch, make_post, now
) -> None:
    url = make_database_url()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    with session_factory(engine)() as session, session.begin():
        session.add(
            DeadLetter(
                source="day.jsonl",
                post_id="mastodon:100001",
                post=make_post(1).to_json(),
                error="ZeroDivisionError: fixed since",
                created_at=now,
            )
        )
    try:
        listed = CliRunner().invoke(app, ["dead-letters", "list"])
        assert listed.exit_code == 0
        assert orjson.loads(listed.stdout)["post_id"] == "mastodon:100001"

        replayed = CliRunner().invoke(app, ["dead-letters", "replay"])
        assert replayed.exit_code == 0, replayed.stderr
        assert orjson.loads(replayed.stdout) == {"replayed": 1, "failed": 0}
        assert CliRunner().invoke(app, ["dead-letters", "list"]).stdout == ""
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(PostRecord)) == 1
    finally:
        engine.dispose()
        get_settings.cache_clear()
