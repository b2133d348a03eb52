"""The meeting agenda over a fixed data set: the period's numbers, open crises, breaches by
department, shared cards with what was done with them, the next seven days of the calendar
by day, the plans' next steps; and its Markdown, with hostile text escaped."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from factories import make_user
from townhall.errors import InputError
from townhall.insights import render
from townhall.insights.agenda import Agenda, build_agenda, parse_since, period_start, until_of
from townhall.models import (
    CardReceipt,
    CardStatus,
    CommunicationPlan,
    CrisisRoom,
    CrisisStatus,
    InsightCard,
    Item,
    PlannedEntry,
    PlanStatus,
    PlanStep,
    PostRecord,
    SlaBreach,
    User,
)
from townhall.org.policy import Policy

__all__ = ["make_user"]

# Europe/London is on UTC in November: these UTC times are the company's wall clock.
START = datetime(2026, 11, 13, 9, 0, tzinfo=UTC)
END = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = END
EVIL = "[click](javascript:alert(1)) <img src=x onerror=alert(1)> *bold*"

# (created, sentiment, department, breached) of each post and its item.
POSTS = [
    (START - timedelta(hours=1), "negative", "pr", True),  # before the period
    (START + timedelta(hours=1), "negative", "pr", True),
    (START + timedelta(days=1), "positive", "customer_service", True),
    (START + timedelta(days=2), "negative", "customer_service", True),
    (START + timedelta(days=3), None, "marketing", False),
    (END, "positive", "pr", True),  # the end is excluded
]
# (title, status, lead, opened, resolved)
ROOMS = [
    ("Fire at the Leeds store", CrisisStatus.ACTIVE, "pr", START + timedelta(days=1), None),
    (
        "Still smouldering",
        CrisisStatus.WATCHING,
        "customer_service",
        START - timedelta(days=9),
        None,
    ),
    ("Late refunds", CrisisStatus.RESOLVED, "pr", START, START + timedelta(days=2)),
    ("Next week's", CrisisStatus.ACTIVE, "pr", END + timedelta(hours=1), None),
]


def _add_posts(session: Session) -> None:
    for n, (created, sentiment, department, breached) in enumerate(POSTS):
        post = PostRecord(
            post_id=f"forum:a{n}",
            channel="forum",
            external_id=f"a{n}",
            created_at=created,
            ingested_at=created,
            text="ACME kettle",
            author_handle=f"@a{n}",
            sentiment_label=sentiment,
            media=[],
            extra={},
            topics=[],
        )
        session.add(post)
        session.flush()
        item = Item(
            post_pk=post.id,
            department=department,
            rule="test",
            why="test",
            first_response_due_at=created + timedelta(minutes=30),
            created_at=created,
            updated_at=created,
        )
        session.add(item)
        session.flush()
        if breached:
            due = created + timedelta(minutes=30)
            session.add(
                SlaBreach(
                    item_id=item.id,
                    department=department,
                    clock="first_response",
                    due_at=due,
                    breached_at=due,
                )
            )


def _add_cards(session: Session, maya: User, grace: User) -> None:
    def card(title: str, published: datetime, status: CardStatus) -> InsightCard:
        found = InsightCard(
            title=title,
            from_department="marketing",
            for_departments=["pr", "email"],
            status=status,
            created_at=published,
            published_at=published if status is CardStatus.PUBLISHED else None,
        )
        session.add(found)
        session.flush()
        return found

    texas = card(
        "38% of our Mastodon audience is in Texas", START + timedelta(days=1), CardStatus.PUBLISHED
    )
    older = card("Subject line A won", START - timedelta(days=20), CardStatus.PUBLISHED)
    card("Stale finding", START - timedelta(days=20), CardStatus.PUBLISHED)  # nothing done in it
    card("Only a proposal", START + timedelta(days=1), CardStatus.PROPOSED)
    session.add_all(
        [
            CardReceipt(card_id=texas.id, user_id=maya.id, seen_at=START + timedelta(days=1)),
            CardReceipt(
                card_id=texas.id,
                user_id=grace.id,
                seen_at=START + timedelta(days=2),
                acted_at=START + timedelta(days=2, hours=1),
                action=EVIL,
            ),
            CardReceipt(
                card_id=older.id,
                user_id=grace.id,
                seen_at=START - timedelta(days=19),
                acted_at=START + timedelta(days=3),
                action="Tried the subject line on Mastodon",
            ),
        ]
    )


def _add_plans_and_calendar(session: Session, grace: User) -> None:
    plan = CommunicationPlan(
        name="AirFry 5 recall",
        purpose="recall",
        department="pr",
        status=PlanStatus.OPEN,
        created_by_id=grace.id,
        created_at=START,
    )
    closed = CommunicationPlan(
        name="Finished plan",
        purpose="other",
        department="pr",
        status=PlanStatus.DONE,
        created_by_id=grace.id,
        created_at=START,
    )
    session.add_all([plan, closed])
    session.flush()
    for position, (title, due, done) in enumerate(
        [
            ("Holding statement", END - timedelta(days=1), END - timedelta(days=1)),
            ("Customer e-mail", END + timedelta(days=2), None),
            ("Follow-up post", END + timedelta(days=4), None),
        ]
    ):
        session.add(
            PlanStep(
                plan_id=plan.id,
                position=position,
                title=title,
                owner_department="pr",
                due_at=due,
                done_at=done,
            )
        )
    session.add(
        PlanStep(
            plan_id=closed.id,
            position=0,
            title="Never shown",
            owner_department="pr",
            due_at=START,
            done_at=START,
        )
    )
    for title, starts in [
        ("December newsletter", END + timedelta(days=1, hours=1)),
        ("Gift guide", END + timedelta(days=1, hours=5)),
        (EVIL, END + timedelta(days=3)),
        ("Too far ahead", END + timedelta(days=8)),
    ]:
        session.add(
            PlannedEntry(
                kind="email",
                title=title,
                department="email",
                starts_at=starts,
                created_by_id=grace.id,
                created_at=START,
            )
        )


@pytest.fixture
def agenda(session: Session, acme_policy: Policy, make_user: Callable[..., User]) -> Agenda:
    maya = make_user("maya.patel@acme.example", department="marketing", name="Maya Patel")
    grace = make_user("grace.lindqvist@acme.example", department="pr", name="Grace Lindqvist")
    _add_posts(session)
    for title, status, lead, opened, resolved in ROOMS:
        session.add(
            CrisisRoom(
                title=title,
                story=f"forum:{title}",
                lead_department=lead,
                status=status,
                risk=0.64,
                opened_at=opened,
                opened_by="radar",
                resolved_at=resolved,
                updated_at=opened,
            )
        )
    _add_cards(session, maya, grace)
    _add_plans_and_calendar(session, grace)
    session.flush()
    return build_agenda(session, acme_policy, START, END, NOW)


def _in_period() -> list[tuple[datetime, str | None, str, bool]]:
    return [p for p in POSTS if START <= p[0] < END]


def test_the_numbers_are_the_periods(agenda: Agenda) -> None:
    inside = _in_period()
    assert agenda.posts == len(inside)
    labels = [p[1] or "unknown" for p in inside]
    assert agenda.post_sentiment == {k: labels.count(k) for k in set(labels)}
    assert agenda.items.new == len(inside)
    breached = [p for p in POSTS if p[3] and START <= p[0] + timedelta(minutes=30) < END]
    assert agenda.items.breaches == len(breached)
    departments = {p[2] for p in breached}
    expected = sorted(
        ((d, sum(1 for p in breached if p[2] == d)) for d in departments),
        key=lambda row: (-row[1], row[0]),
    )
    assert agenda.breaches == expected


def test_open_crises_with_lead_and_risk(agenda: Agenda) -> None:
    open_in_period = [r for r in ROOMS if r[1] is not CrisisStatus.RESOLVED and r[3] < END]
    assert [r.title for r in agenda.crises] == [
        r[0] for r in sorted(open_in_period, key=lambda r: r[3])
    ]
    assert all(r.risk == 0.64 for r in agenda.crises)


def test_cards_and_what_was_done_with_them(agenda: Agenda) -> None:
    cards = {s.card.title: s for s in agenda.cards}
    assert set(cards) == {"38% of our Mastodon audience is in Texas", "Subject line A won"}
    texas = cards["38% of our Mastodon audience is in Texas"]
    assert texas.seen == 2
    assert [(r.who, r.action) for r in texas.acted] == [("Grace Lindqvist", EVIL)]
    assert [r.action for r in cards["Subject line A won"].acted] == [
        "Tried the subject line on Mastodon"
    ]


def test_calendar_by_day_and_next_steps(agenda: Agenda) -> None:
    days = [(day, [e.title for e in found]) for day, found in agenda.coming_up]
    # Planned sends and the open plan's steps not done, within 7 days of the end.
    ahead = sorted(
        [
            (END + timedelta(days=1, hours=1), "December newsletter"),
            (END + timedelta(days=1, hours=5), "Gift guide"),
            (END + timedelta(days=2), "Customer e-mail"),
            (END + timedelta(days=3), EVIL),
            (END + timedelta(days=4), "Follow-up post"),
        ]
    )
    expected: dict[object, list[str]] = {}
    for moment, title in ahead:
        expected.setdefault(moment.date(), []).append(title)
    assert days == list(expected.items())
    assert [(s.plan_name, s.title) for s in agenda.next_steps] == [
        ("AirFry 5 recall", "Customer e-mail")
    ]


def test_markdown_lists_everything_escaped(agenda: Agenda, acme_policy: Policy) -> None:
    text = render.agenda_markdown(acme_policy, agenda)
    for title in ("Fire at the Leeds store", "Still smouldering", "AirFry 5 recall"):
        assert title in text
    assert "38% of our Mastodon audience is in Texas" in text
    assert "Public relations" in text and "Customer service" in text
    assert "Tried the subject line on Mastodon" in text
    assert "Late refunds" not in text  # resolved
    assert "Too far ahead" not in text
    # No live link, image or HTML: the brackets and angle brackets are escaped.
    assert not re.search(r"(?<!\\)\[click(?<!\\)\]\(", text)
    assert not re.search(r"(?<!\\)<img", text) and not re.search(r"(?<!\\)\*bold", text)
    assert r"\[click\](javascript:alert(1)) \<img src=x onerror=alert(1)\> \*bold\*" in text


def test_periods() -> None:
    assert parse_since("7d") == timedelta(days=7)
    assert parse_since("36h") == timedelta(hours=36)
    assert parse_since("2w") == timedelta(weeks=2)
    for bad in ("7", "0d", "-1d", "7y", "400d"):
        with pytest.raises(InputError):
            parse_since(bad)
    assert until_of(END.date(), "Europe/London") == datetime(2026, 11, 21, tzinfo=UTC)
    # Two weeks back across the end of summer time still start at midnight in London.
    end = until_of(datetime(2026, 11, 1).date(), "Europe/London")
    start = period_start(end, parse_since("14d"), "Europe/London")
    assert start == datetime(2026, 10, 18, 23, 0, tzinfo=UTC)
