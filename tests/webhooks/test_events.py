"""Each event is emitted where it happens, in that change's transaction: SLA breaches, crisis
rooms opened and moved, drafts waiting for approval, posts published or refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from townhall.cases import crisis
from townhall.cases.tasks import work_queues
from townhall.connectors.base import Sent
from townhall.db import transaction
from townhall.errors import ChannelRejectedError
from townhall.models import CrisisStatus, OutboxKind, Role, WebhookDelivery
from townhall.org.accounts import upsert_user
from townhall.publishing import drafts
from townhall.publishing.publisher import OutboxPublisher
from townhall.webhooks import service
from townhall.webhooks.events import EVENTS


def _listen(session, settings, now, events=tuple(EVENTS)) -> None:
    service.add_endpoint(
        session,
        settings,
        name="all",
        url="https://all.example/",
        events=list(events),
        actor="admin@acme.example",
        now=now,
    )


def _sent(session, event: str) -> list[dict[str, Any]]:
    session.flush()
    return [
        d.payload["data"]
        for d in session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.event == event)
            .order_by(WebhookDelivery.id)
        )
    ]


@pytest.fixture
def people(make_user):
    return {
        "omar": make_user("omar.haddad@acme.example", "pr", "Omar Haddad"),
        "dan": make_user("dan.murphy@acme.example", name="Dan Murphy"),
        "ana": make_user("ana@acme.example", name="Ana Approver", role=Role.APPROVER),
    }


def test_crisis_opened_and_changed(session, settings, acme_policy, people, make_item, now):
    _listen(session, settings, now)
    make_item("My AirFry 5 basket melted", post_id="forum:1", channel="forum")

    room = crisis.open_room(
        session,
        acme_policy,
        story="forum:1",
        topic="product:airfry_5",
        title="Melted basket",
        now=now,
        by=people["dan"].email,
    )
    crisis.set_room_status(session, room.id, CrisisStatus.ACTIVE, actor=people["omar"], now=now)

    (opened,) = _sent(session, "crisis.opened")
    assert opened["room_id"] == room.id and opened["link"] == f"/crises/{room.id}"
    assert (opened["status"], opened["lead_department"]) == ("watching", "pr")
    (changed,) = _sent(session, "crisis.changed")
    assert (changed["previous_status"], changed["status"]) == ("watching", "active")


def test_sla_breached_names_the_clock_and_where_it_escalates(
    session, settings, acme_policy, make_item, now
):
    _listen(session, settings, now, ["sla.breached"])
    item = make_item("Where is my refund?")
    item.first_response_due_at = now - timedelta(minutes=5)
    session.flush()

    work_queues(session, acme_policy, now)

    (breach,) = _sent(session, "sla.breached")
    assert breach["item_id"] == item.id and breach["link"] == f"/items/{item.id}"
    assert breach["clock"] == "first_response"
    assert breach["department"] == "customer_service"
    assert breach["escalated_to"] == "customer_service"  # first to its own approver
    assert work_queues(session, acme_policy, now).breaches == 0
    assert len(_sent(session, "sla.breached")) == 1


def test_a_reply_waiting_for_approval_is_announced_once(
    session, settings, acme_policy, people, make_item, now
):
    _listen(session, settings, now, ["draft.awaiting_approval"])
    item = make_item("Where can I buy a KettleOne?")

    reply = drafts.write_reply(
        session,
        acme_policy,
        item.id,
        OutboxKind.REPLY,
        "At acme.example/shop",
        actor=people["dan"],
        now=now,
    )

    (waiting,) = _sent(session, "draft.awaiting_approval")
    assert waiting["outbox_id"] == reply.id and waiting["item_id"] == item.id
    assert waiting["link"] == f"/drafts/{reply.id}"
    assert "Customer service" in waiting["waiting_for"]
    assert "text" not in waiting and "At acme.example/shop" not in str(waiting)


class FakeNetwork:
    """A publisher that accepts or refuses every post."""

    def __init__(self, refuse: bool) -> None:
        self.refuse = refuse

    def publish(self, outgoing: Any) -> Sent:
        if self.refuse:
            raise ChannelRejectedError("The network refused the post: too long.")
        return Sent(remote_id="109", url="https://mastodon.example/@acme/109")

    def find_published(self, outgoing: Any, since: Any) -> None:
        return None


@pytest.mark.parametrize("refuse", [False, True])
def test_posts_published_or_refused_are_announced(sessions, settings, acme_policy, clock, refuse):
    with transaction(sessions) as session:
        _listen(session, settings, clock(), ["post.published", "post.failed"])
        author = upsert_user(
            session,
            email="ada@acme.example",
            name="Ada",
            department="customer_service",
            role=Role.ADMIN,
            password="not used here at all",
            now=clock(),
        )
        post = drafts.create_draft(
            session,
            acme_policy,
            channel="mastodon",
            text="Our repair café opens Saturday!",
            author=author,
            now=clock(),
        )
        post_id = post.id
    publisher = OutboxPublisher(
        sessions, lambda: acme_policy, settings, clock, connectors=lambda _: FakeNetwork(refuse)
    )
    try:
        publisher.run_once()
    finally:
        publisher.close()

    with sessions() as session:
        published, failed = _sent(session, "post.published"), _sent(session, "post.failed")
    if refuse:
        assert published == [] and len(failed) == 1
        assert failed[0]["outbox_id"] == post_id
        assert failed[0]["error"] == "The network refused the post: too long."
    else:
        assert failed == [] and len(published) == 1
        assert published[0]["remote_url"] == "https://mastodon.example/@acme/109"
        assert published[0]["status"] == "published"
