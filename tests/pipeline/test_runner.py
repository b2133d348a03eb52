"""The pipeline stores each post once, opens items, and writes the routing to the audit log."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from townhall.models import AuditEvent, Item, ItemStatus, PostRecord
from townhall.pipeline.runner import Pipeline


@pytest.fixture
def pipeline(session: Session, acme_policy) -> Pipeline:
    # Every Pipeline session shares the test's connection, so the test's rollback undoes it all.
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    return Pipeline(factory, acme_policy)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_each_post_is_stored_once_across_batches(pipeline, session, make_post, now):
    first = pipeline.process_batch([make_post(1), make_post(2)], now)
    again = pipeline.process_batch([make_post(2), make_post(3)], now)

    assert (first.read, first.stored, first.duplicates, first.items) == (2, 2, 0, 2)
    assert (again.read, again.stored, again.duplicates, again.items) == (2, 1, 1, 1)
    assert _count(session, PostRecord) == 3
    assert _count(session, Item) == 3


def test_repeats_inside_one_batch_are_duplicates(pipeline, session, make_post, now):
    result = pipeline.process_batch([make_post(5), make_post(5), make_post(5)], now)

    assert (result.stored, result.duplicates) == (1, 2)
    assert _count(session, PostRecord) == 1


def test_same_external_id_on_another_channel_is_another_post(pipeline, make_post, now):
    a = make_post(7, id="mastodon:42", channel="mastodon")
    b = make_post(7, id="rss:42", channel="rss")

    assert pipeline.process_batch([a, b], now).stored == 2


def test_items_go_to_the_channels_default_owner_and_say_why(pipeline, session, make_post, now):
    pipeline.process_batch([make_post(1), make_post(2, id="rss:9", channel="rss")], now)

    rows = session.execute(
        select(PostRecord.channel, Item.department, Item.rule, Item.why, Item.status)
        .join(Item, Item.post_pk == PostRecord.id)
        .order_by(PostRecord.channel)
    ).all()
    assert [(r.channel, r.department, r.rule, r.status) for r in rows] == [
        ("mastodon", "customer_service", "channel_default", ItemStatus.NEW),
        ("rss", "pr", "channel_default", ItemStatus.NEW),
    ]
    assert "default owner of the rss channel" in rows[1].why


def test_plain_reshares_are_stored_without_an_item(pipeline, session, make_post, now):
    original = make_post(1)
    reshare = make_post(2, text="", reshare_of=original.id)
    quote = make_post(3, text="Same here!!", reshare_of=original.id)

    result = pipeline.process_batch([original, reshare, quote], now)

    assert (result.stored, result.items) == (3, 2)


def test_every_routing_decision_is_audited(pipeline, session, make_post, now: datetime):
    pipeline.process_batch([make_post(1), make_post(2)], now)

    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "item.routed")).all()
    item_ids = {str(i) for i in session.scalars(select(Item.id))}
    assert {e.subject_id for e in events} == item_ids
    assert all(e.actor == "system" and e.details["rule"] == "channel_default" for e in events)
    assert all(e.at == now for e in events)


def test_post_fields_round_trip(pipeline, session, make_post, now):
    post = make_post(
        1,
        text="Ünïcödé ✓ <script>alert(1)</script>",
        group="ACME owners club",
        media=[{"url": "https://img.example/1.jpg", "alt": "melted basket"}],
        source_app="tusky",
    )
    pipeline.process_batch([post], now)

    row = session.scalars(select(PostRecord)).one()
    assert row.text == post.text
    assert row.created_at == post.created_at
    assert row.group_name == "ACME owners club"
    assert row.media == [{"url": "https://img.example/1.jpg", "alt": "melted basket"}]
    assert row.extra == {"source_app": "tusky"}
    assert (row.channel, row.external_id, row.post_id) == ("mastodon", "100001", "mastodon:100001")


def test_audit_log_refuses_changes(pipeline, session, make_post, now):
    from sqlalchemy import delete
    from sqlalchemy.exc import DBAPIError

    pipeline.process_batch([make_post(1)], now)
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(delete(AuditEvent))


def test_new_posts_are_stored_with_what_was_understood(session, make_post, now, acme_policy):
    from townhall.understand.enrich import Understander

    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    understander = Understander.from_policy(acme_policy)
    pipeline = Pipeline(factory, acme_policy, understander)
    post = make_post(
        1,
        text="The #AirFry5 basket melted after two weeks. Is anyone at ACME going to answer?",
        author={"handle": "@x@y.z", "location": "London, ON", "followers": 4_200},
    )

    pipeline.process_batch([post], now)

    row = session.scalars(select(PostRecord)).one()
    expected = understander.enrich([post])[0]  # the model's quality is `townhall eval`'s job
    assert (row.intent, row.intent_confidence) == (expected.intent, expected.intent_confidence)
    assert row.actionable == expected.actionable
    assert row.sentiment_label == "negative"
    assert row.sentiment_score is not None and row.sentiment_score < 0
    assert (row.language, row.country, row.reach) == ("en", "CA", "micro")
    assert row.topics == ["brand:acme", "product:airfry_5"]
    assert row.toxicity is not None and 0 <= row.toxicity < 0.5


def test_understood_posts_are_routed_by_the_policy_rules(session, make_post, now, acme_policy):
    from townhall.routing.rules import router_for
    from townhall.understand.enrich import Understander

    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    understander = Understander.from_policy(acme_policy)
    pipeline = Pipeline(factory, acme_policy, understander, router_for(acme_policy))
    post = make_post(
        1,
        text="Our melted AirFry 5 baskets are a disgrace. ACME, where is your statement?",
        author={"handle": "@reporter@news.example", "followers": 250_000, "verified": True},
    )

    pipeline.process_batch([post], now)

    item = session.scalars(select(Item)).one()
    expected = router_for(acme_policy)(post, understander.enrich([post])[0])
    assert (item.department, item.rule, item.priority) == (
        expected.department,
        expected.rule,
        expected.priority,
    )
    assert item.supporting == list(expected.supporting)
    assert item.matched == expected.matched and item.why == expected.why
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "item.routed")).one()
    assert event.details["rule"] == expected.rule and event.why == expected.why


def test_without_understanding_the_channel_owner_takes_the_item(
    session, make_post, now, acme_policy
):
    from townhall.routing.rules import router_for

    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    pipeline = Pipeline(factory, acme_policy, None, router_for(acme_policy))

    pipeline.process_batch([make_post(1, id="rss:1", channel="rss")], now)

    item = session.scalars(select(Item)).one()
    assert (item.department, item.rule, item.matched) == (
        "pr",
        "channel_default",
        {"channel": "rss"},
    )
