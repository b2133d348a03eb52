"""The publisher against a local Mastodon (through Mastodon.py): published once, unknown
outcomes reconciled before any retry, rate limits waited out, refusals kept, missed posts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from networks import TOKEN_ENV, mastodon_channel, policy_with
from townhall.config import Settings
from townhall.connectors.html_text import html_to_text
from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.connectors.standin import LocalServer
from townhall.db import make_engine, session_factory
from townhall.models import Item, OutboxAttempt, OutboxKind, OutboxPost, OutboxStatus, Role, User
from townhall.org.accounts import upsert_user
from townhall.org.loader import load_policy
from townhall.org.policy import Policy
from townhall.publishing import drafts
from townhall.publishing.publisher import OutboxPublisher


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def standin() -> Iterator[MastodonStandin]:
    yield MastodonStandin(domain="mastodon.example", username="acme", token="t0k3n")


@pytest.fixture
def server(standin: MastodonStandin) -> Iterator[LocalServer]:
    with LocalServer(standin.app) as local:
        yield local


@pytest.fixture
def world(
    tmp_path: Path,
    server: LocalServer,
    make_database_url: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[sessionmaker[Session], Policy, Clock, Callable[..., OutboxPublisher]]]:
    monkeypatch.setenv(TOKEN_ENV, "t0k3n")
    policy = load_policy(policy_with(tmp_path, mastodon_channel(server.url)))
    engine: Engine = make_engine(make_database_url())
    sessions = session_factory(engine)
    clock = Clock()
    settings = Settings(home=tmp_path, channel_timeout=5, publish_lease=60)
    made: list[OutboxPublisher] = []

    def publisher(**overrides: object) -> OutboxPublisher:
        p = OutboxPublisher(sessions, lambda: policy, settings.model_copy(update=overrides), clock)
        made.append(p)
        return p

    yield sessions, policy, clock, publisher
    for p in made:
        p.close()
    engine.dispose()


def _user(session: Session, role: Role = Role.APPROVER) -> User:
    return upsert_user(
        session,
        email="sofia.rossi@acme.example",
        name="Sofia Rossi",
        department="customer_service",
        role=role,
        password="not-used-here",
        now=datetime.now(UTC),
    )


def _post(sessions: sessionmaker[Session], policy: Policy, now: datetime, text: str) -> int:
    with sessions() as session, session.begin():
        post = drafts.create_draft(
            session, policy, channel="mastodon", text=text, author=_user(session), now=now
        )
        assert post.status == OutboxStatus.APPROVED
        return post.id


def _get(sessions: sessionmaker[Session], post_id: int) -> OutboxPost:
    with sessions() as session:
        post = session.get(OutboxPost, post_id)
        assert post is not None
        return post


def _creates(standin: MastodonStandin) -> int:
    return sum(1 for r in standin.requests if r.startswith("POST /api/v1/statuses"))


def test_an_approved_post_is_published_once_with_its_link(world, standin) -> None:
    sessions, policy, clock, publisher = world
    post_id = _post(sessions, policy, clock.now, "Our repair café opens on Saturday!")

    first = publisher().run_once()
    again = publisher().run_once()

    assert (first.published, again.published) == (1, 0)
    assert [s["content"] for s in standin.published] == [
        "<p>Our repair café opens on Saturday!</p>"
    ]
    post = _get(sessions, post_id)
    assert post.status == OutboxStatus.PUBLISHED and post.attempts == 1
    assert post.remote_id == standin.published[0]["id"]
    assert post.remote_url == standin.published[0]["url"]
    with sessions() as session:
        outcomes = session.scalars(select(OutboxAttempt.outcome)).all()
    assert outcomes == ["published"]


def test_a_reply_mentions_the_author_and_stops_the_first_response_clock(
    world, standin, make_post
) -> None:
    sessions, policy, clock, publisher = world
    mention = standin.add_mention("@dave@social.example", "my kettle leaks")
    from townhall.pipeline.runner import Pipeline

    incoming = make_post(
        1, id=f"mastodon:{mention['id']}", author={"handle": "@dave@social.example"}
    )
    Pipeline(sessions, policy).process_batch([incoming], clock.now)
    with sessions() as session, session.begin():
        item = session.scalars(select(Item)).one()
        reply = drafts.write_reply(
            session, policy, item.id, OutboxKind.REPLY, "Sorry! DM us your order number.",
            actor=_user(session), now=clock.now,
        )  # fmt: skip
        reply_id, item_id = reply.id, item.id

    clock.now += timedelta(minutes=3)
    assert publisher().run_once().published == 1

    sent = standin.published[0]
    assert sent["in_reply_to_id"] == mention["id"]
    # Mastodon shows a mention by its user name, linked to the account.
    assert html_to_text(sent["content"]) == "@dave Sorry! DM us your order number."
    with sessions() as session:
        item = session.get(Item, item_id)
        assert item is not None and item.first_responded_at == clock.now
    assert _get(sessions, reply_id).status == OutboxStatus.PUBLISHED


def test_an_unknown_outcome_is_reconciled_and_never_sent_twice(world, standin) -> None:
    sessions, policy, clock, publisher = world
    post_id = _post(sessions, policy, clock.now, "Stored, then the server fell over")
    standin.fail_creates(1, 500)  # the status is stored, the answer is a 500

    first = publisher().run_once()
    assert first.unknown == 1 and _get(sessions, post_id).status == OutboxStatus.UNKNOWN

    second = publisher().run_once()
    assert second.reconciled == 1 and second.published == 0
    post = _get(sessions, post_id)
    assert post.status == OutboxStatus.PUBLISHED and post.remote_id == standin.published[0]["id"]
    assert len(standin.published) == 1 and _creates(standin) == 1


def test_a_dead_publishers_claim_is_reconciled_then_sent_once(world, standin) -> None:
    sessions, policy, clock, publisher = world
    post_id = _post(sessions, policy, clock.now, "Claimed by a publisher that died")
    dead = publisher()
    assert dead._claim(10)  # claimed and committed; the process dies before the call

    live = publisher(publish_lease=60)
    assert live.run_once().published == 0  # the lease has not run out: hands off
    clock.now += timedelta(seconds=61)
    summary = live.run_once()

    assert (summary.retried, summary.published) == (1, 1)
    assert len(standin.published) == 1
    assert _get(sessions, post_id).status == OutboxStatus.PUBLISHED


def test_a_rate_limit_waits_until_the_reset(world, standin) -> None:
    sessions, policy, clock, publisher = world
    post_id = _post(sessions, policy, clock.now, "Wait for it")
    reset = standin.force_rate_limit(5, clock.now + timedelta(minutes=4))

    summary = publisher().run_once()

    post = _get(sessions, post_id)
    assert summary.retried == 1 and post.status == OutboxStatus.APPROVED
    assert post.error_kind == "rate_limited" and post.next_attempt_at == reset
    assert publisher().run_once().published == 0  # not before the reset
    standin.force_rate_limit(0)
    clock.now = reset + timedelta(seconds=1)
    assert publisher().run_once().published == 1


def test_a_refusal_fails_with_the_networks_reason(world, standin) -> None:
    sessions, policy, clock, publisher = world
    post_id = _post(sessions, policy, clock.now, "Hello")
    with sessions() as session, session.begin():
        # The code of conduct stops a too-long draft before the outbox; a network may still
        # refuse what was accepted (its limits changed since, or an instance counts otherwise).
        stored = session.get(OutboxPost, post_id)
        assert stored is not None
        stored.text = "x" * 501

    summary = publisher().run_once()

    post = _get(sessions, post_id)
    assert summary.failed == 1 and post.status == OutboxStatus.FAILED
    assert "character limit of 500" in post.error and post.error_kind == "rejected"
    assert standin.published == []


def test_an_overdue_post_is_missed_not_posted_late(world, standin) -> None:
    sessions, policy, clock, publisher = world
    post_id = _post(sessions, policy, clock.now, "Happy Monday!")
    clock.now += timedelta(minutes=policy.publishing.missed_after_minutes + 1)

    summary = publisher().run_once()

    assert summary.missed == 1 and _get(sessions, post_id).status == OutboxStatus.MISSED
    assert standin.published == []


def test_a_rate_limited_channel_is_not_called_again_in_the_same_pass(world, standin) -> None:
    sessions, policy, clock, publisher = world
    ids = [_post(sessions, policy, clock.now, f"Post {n}") for n in range(3)]
    standin.force_rate_limit(10, clock.now + timedelta(minutes=4))

    summary = publisher().run_once()

    assert summary.retried == 3 and _creates(standin) <= 1
    assert {_get(sessions, i).error_kind for i in ids} == {"rate_limited"}
