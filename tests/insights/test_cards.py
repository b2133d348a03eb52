"""Insight cards as a service: who may publish from where, proposals decided once by their
department, receipts recorded once per person, actions recorded and audited, the board."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townhall.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from townhall.insights import cards
from townhall.insights.cards import Figure
from townhall.models import AuditEvent, CardReceipt, CardStatus, InsightCard, Role, User
from townhall.org.accounts import upsert_user
from townhall.org.policy import Policy

MakeUser = Callable[..., User]


@pytest.fixture
def person(session: Session, now: datetime) -> MakeUser:
    """A factory of people: ``person(email, department, name=..., role=...)``."""

    def make(email: str, department: str, name: str = "", role: str = Role.MEMBER) -> User:
        user = upsert_user(
            session,
            email=email,
            name=name or email.split("@")[0].title(),
            department=department,
            role=role,
            password="secret",
            now=now,
        )
        session.flush()
        return user

    return make


def _events(session: Session, card: InsightCard, action: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(
                AuditEvent.subject_type == "card",
                AuditEvent.subject_id == str(card.id),
                AuditEvent.action == action,
            )
        )
    )


def _card(
    session: Session, policy: Policy, actor: User, now: datetime, **values: object
) -> InsightCard:
    fields: dict[str, object] = {
        "title": "Texas loves the AirFry 5",
        "body": "A third of the Mastodon audience is there.",
        "from_department": actor.department,
        "for_departments": ["email"],
        "figures": [Figure("Share of Mastodon posts from Texas", "38%")],
        "link": "/insights?channel=mastodon&from=2026-11-13",
    }
    fields.update(values)
    return cards.create(session, policy, actor=actor, now=now, **fields)  # type: ignore[arg-type]


def _proposal(
    session: Session, department: str, now: datetime, n: int = 1, for_: str = "pr"
) -> InsightCard:
    card = InsightCard(
        title=f"Negative posts about ACME AirFry 5 jumped ({n})",
        body="",
        from_department=department,
        for_departments=[for_],
        evidence={"figures": [{"label": "Negative share", "value": "40%"}]},
        status=CardStatus.PROPOSED,
        kind="negative_topic",
        fingerprint=f"negative_topic:product:airfry_5:2026-W{n:02d}",
        created_at=now,
    )
    session.add(card)
    session.flush()
    return card


def test_a_person_publishes_from_their_department_and_it_is_audited(
    session: Session, acme_policy: Policy, person: MakeUser, now: datetime
) -> None:
    maya = person("maya@acme.example", department="marketing", name="Maya Patel")
    card = _card(session, acme_policy, maya, now, for_departments=["email", "sales", "email"])
    assert card.status == CardStatus.PUBLISHED
    assert card.from_department == "marketing"
    assert card.for_departments == ["email", "sales"]
    assert card.published_at == now and card.published_by_id == maya.id
    assert cards.figures_of(card) == [Figure("Share of Mastodon posts from Texas", "38%")]
    [event] = _events(session, card, "card.publish")
    assert event.actor == "maya@acme.example"
    assert event.details["for"] == ["email", "sales"]


def test_nobody_publishes_for_another_department_but_an_admin(
    session: Session, acme_policy: Policy, person: MakeUser, now: datetime
) -> None:
    dan = person("dan@acme.example", department="customer_service")
    with pytest.raises(PermissionDeniedError, match="Marketing"):
        _card(session, acme_policy, dan, now, from_department="marketing")
    admin = person("root@acme.example", department="it", role=Role.ADMIN)
    card = _card(session, acme_policy, admin, now, from_department="marketing")
    assert card.from_department == "marketing"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"title": "   "}, "title"),
        ({"for_departments": []}, "for"),
        ({"for_departments": ["nowhere"]}, "not a department"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"link": "https://evil.example/insights"}, "link"),
        ({"link": "//evil.example/insights"}, "link"),
        ({"figures": [Figure("Share", "")]}, "figure 1"),
        ({"figures": [Figure(f"f{i}", "1") for i in range(cards.MAX_FIGURES + 1)]}, "at most"),
    ],
)
def test_a_card_that_will_not_do_is_refused_with_a_reason(
    session: Session,
    acme_policy: Policy,
    person: MakeUser,
    now: datetime,
    values: dict[str, object],
    message: str,
) -> None:
    maya = person("maya@acme.example", department="marketing")
    with pytest.raises(InputError, match=message):
        _card(session, acme_policy, maya, now, **values)


def test_empty_figure_rows_are_dropped_and_no_link_is_fine(
    session: Session, acme_policy: Policy, person: MakeUser, now: datetime
) -> None:
    maya = person("maya@acme.example", department="marketing")
    card = _card(
        session, acme_policy, maya, now, figures=[Figure(" ", ""), Figure("A", "1")], link=""
    )
    assert cards.figures_of(card) == [Figure("A", "1")]
    assert card.link is None


def test_seeing_a_card_is_recorded_once_per_person(
    session: Session, acme_policy: Policy, person: MakeUser, now: datetime
) -> None:
    maya = person("maya@acme.example", department="marketing")
    chloe = person("chloe@acme.example", department="email")
    card = _card(session, acme_policy, maya, now)
    first = cards.see(session, card, chloe, now)
    again = cards.see(session, card, chloe, now + timedelta(hours=2))
    cards.see(session, card, maya, now + timedelta(hours=3))
    assert first.id == again.id
    assert again.seen_at == now
    count = session.scalar(select(func.count(CardReceipt.id)).where(CardReceipt.card_id == card.id))
    assert count == 2
    [view] = cards.views_of(session, [card])
    assert view.seen == 2 and view.actions == []


def test_acting_on_a_card_records_who_did_what_and_when(
    session: Session, acme_policy: Policy, person: MakeUser, now: datetime
) -> None:
    maya = person("maya@acme.example", department="marketing")
    chloe = person("chloe@acme.example", department="email", name="Chloe Martin")
    card = _card(session, acme_policy, maya, now)
    later = now + timedelta(hours=1)
    receipt = cards.act(session, card, chloe, "  Targeted the December newsletter at Texas ", later)
    assert receipt.action == "Targeted the December newsletter at Texas"
    assert receipt.seen_at == later and receipt.acted_at == later
    [view] = cards.views_of(session, [card])
    assert view.seen == 1
    assert view.actions == [
        cards.Action("Chloe Martin", "Targeted the December newsletter at Texas", later)
    ]
    [event] = _events(session, card, "card.act")
    assert event.actor == "chloe@acme.example"
    with pytest.raises(InputError):
        cards.act(session, card, chloe, "   ", later)


def test_a_proposal_is_decided_once_by_its_department(
    session: Session, acme_policy: Policy, person: MakeUser, now: datetime
) -> None:
    dan = person("dan@acme.example", department="customer_service")
    grace = person("grace@acme.example", department="pr")
    card = _proposal(session, "customer_service", now)
    with pytest.raises(PermissionDeniedError, match="Customer service"):
        cards.publish(session, acme_policy, card, actor=grace, now=now)
    with pytest.raises(ConflictError):
        cards.act(session, card, dan, "Too early", now)
    later = now + timedelta(minutes=5)
    cards.publish(session, acme_policy, card, actor=dan, now=later)
    assert card.status == CardStatus.PUBLISHED
    assert card.published_at == later and card.published_by_id == dan.id
    with pytest.raises(ConflictError):
        cards.dismiss(session, acme_policy, card, actor=dan, now=later)
    assert [e.actor for e in _events(session, card, "card.publish")] == ["dan@acme.example"]

    other = _proposal(session, "customer_service", now, n=2)
    cards.dismiss(session, acme_policy, other, actor=dan, now=later)
    assert other.status == CardStatus.DISMISSED and other.published_at is None
    assert len(_events(session, other, "card.dismiss")) == 1


def test_the_board_puts_my_department_first_and_shows_my_proposals_only(
    session: Session, acme_policy: Policy, person: MakeUser, now: datetime
) -> None:
    maya = person("maya@acme.example", department="marketing")
    chloe = person("chloe@acme.example", department="email")
    dan = person("dan@acme.example", department="customer_service")
    for_email = _card(session, acme_policy, maya, now, title="For email", for_departments=["email"])
    newer = _card(
        session,
        acme_policy,
        maya,
        now + timedelta(hours=1),
        title="For sales",
        for_departments=["sales"],
    )
    newest = _card(
        session,
        acme_policy,
        maya,
        now + timedelta(hours=2),
        title="Both",
        for_departments=["email", "sales"],
    )
    proposal = _proposal(session, "customer_service", now)

    seen_by_chloe = cards.board(session, chloe)
    assert [v.card.id for v in seen_by_chloe.for_mine] == [newest.id, for_email.id]
    assert [v.card.id for v in seen_by_chloe.others] == [newer.id]
    assert seen_by_chloe.proposals == []
    assert [v.card.id for v in cards.board(session, dan).proposals] == [proposal.id]

    with pytest.raises(NotFoundError):
        cards.get_for(session, proposal.id, chloe)
    assert cards.get_for(session, proposal.id, dan).id == proposal.id
    assert cards.get_for(session, newer.id, dan).id == newer.id


def test_cards_shared_with_a_department_in_a_week(
    session: Session, acme_policy: Policy, person: MakeUser, now: datetime
) -> None:
    maya = person("maya@acme.example", department="marketing")
    inside = _card(session, acme_policy, maya, now - timedelta(days=1), for_departments=["email"])
    _card(session, acme_policy, maya, now - timedelta(days=9), for_departments=["email"])
    _card(session, acme_policy, maya, now - timedelta(days=1), for_departments=["sales"])
    _proposal(session, "marketing", now - timedelta(days=1), for_="email")
    found = cards.shared_with(session, "email", now - timedelta(days=7), now)
    assert [v.card.id for v in found] == [inside.id]
