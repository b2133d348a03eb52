"""Which posts open an item that waits in a queue: the policy decides, with its reason shown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from townhall.models import AuditEvent, Item, ItemStatus
from townhall.org.policy import Policy
from townhall.pipeline.runner import Pipeline
from townhall.posts import Post
from townhall.routing.rules import RouteDecision, route_by_channel
from townhall.understand.enrich import Enrichment


def test_a_closing_rule_files_the_item_as_done_without_sla_clocks(
    session: Session, make_post, now, acme_policy: Policy
) -> None:
    """Spam and chatter are recorded with their reason, closed at once, and never fall due."""
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")

    def router(post: Post, _enrichment: Enrichment) -> RouteDecision:
        decision = route_by_channel(acme_policy, post.channel)
        if post.text == "lol":
            return replace(decision, rule="chatter", close=True, why="Chatter: no reply needed.")
        return decision

    understood = Enrichment("neutral", 0.0, "other", 0.9, False, 0.0, "en", "GB", "nano", [])

    class Understanding:
        def enrich(self, posts: Sequence[Post]) -> list[Enrichment]:
            return [understood for _ in posts]

    pipeline = Pipeline(factory, acme_policy, Understanding(), router)
    pipeline.process_batch([make_post(1, text="lol"), make_post(2)], now)

    closed, open_ = sorted(session.scalars(select(Item)), key=lambda i: i.status != "done")
    assert (closed.status, closed.rule, closed.why) == (
        ItemStatus.DONE,
        "chatter",
        "Chatter: no reply needed.",
    )
    assert closed.resolved_at is not None
    assert (closed.first_response_due_at, closed.resolution_due_at) == (None, None)
    assert open_.status == ItemStatus.NEW and open_.first_response_due_at is not None
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "item.routed")).all()
    assert sorted(e.details["closed"] for e in events) == [False, True]
