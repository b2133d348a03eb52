"""The weekly digest: its figures for a fixed data set (each against the week before), the
e-mail that arrives at a local SMTP server (text and HTML, hostile text escaped), and the
schedule that sends once per department and ISO week.

The data set is a list of item specs; each expectation is counted from those specs in the
test with plain Python, never written down as a number.
"""

from __future__ import annotations

import email
import email.policy
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from factories import make_user
from townhall.config import Settings
from townhall.connectors.standin import free_port
from townhall.errors import InputError
from townhall.insights import render, tasks
from townhall.insights.digest import Digest, IsoWeek, build_digest, last_complete_week
from townhall.insights.figures import median
from townhall.models import (
    AuditEvent,
    CardReceipt,
    CardStatus,
    CrisisRoom,
    CrisisStatus,
    InsightCard,
    Item,
    ItemStatus,
    PlannedEntry,
    PostRecord,
    SlaBreach,
    User,
)
from townhall.org.policy import Policy
from townhall.radar.notify import SmtpServer
from townhall.web.worker import Deliverer

__all__ = ["make_user"]

pytestmark = pytest.mark.timeout(60)

WEEK = IsoWeek(2026, 47)
# Europe/London is on UTC in November, so these UTC times are PR's wall clock too.
START = datetime(2026, 11, 16, tzinfo=UTC)
END = START + timedelta(weeks=1)
BEFORE = START - timedelta(weeks=1)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
HOSTILE_AUTHOR = "<b>Eve</b> & co"


@dataclass(frozen=True)
class Spec:
    """One item of the data set."""

    department: str
    created: datetime
    due: datetime | None = None
    replied: datetime | None = None
    resolved: datetime | None = None
    sentiment: str | None = None
    breached: bool = False
    text: str = "My kettle broke"
    author: str = "Ann Example"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in November 2026 (UTC)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


SPECS = [
    # Week 47 for PR.
    Spec("pr", at(17, 10), at(17, 10, 30), at(17, 10, 10), at(18, 12), "negative"),
    Spec(
        "pr",
        at(18, 9),
        at(18, 9, 30),
        at(18, 10, 30),
        None,
        "negative",
        breached=True,
        text=HOSTILE,
        author=HOSTILE_AUTHOR,
    ),
    Spec("pr", at(19, 14), at(19, 14, 30), None, None, "positive", breached=True),
    Spec("pr", at(20, 8), None, at(20, 8, 20), None, "neutral"),
    # Week 46 for PR.
    Spec("pr", at(10, 10), at(10, 10, 30), at(10, 10, 5), at(10, 15), "positive"),
    Spec("pr", at(15, 23, 30), at(16, 0), at(16, 0, 30), None, None),
    # Another department's item: never in PR's digest.
    Spec("customer_service", at(18, 9), at(18, 10), None, None, "negative", breached=True),
]


@dataclass
class DataSet:
    """What the fixture stored."""

    items: dict[int, Spec] = field(default_factory=dict)
    user: User | None = None


def store(session: Session, specs: list[Spec], user: User) -> dict[int, Spec]:
    """Insert the specs' posts, items and breaches; item id → spec."""
    stored = {}
    for n, spec in enumerate(specs):
        post = PostRecord(
            post_id=f"mastodon:d{n}",
            channel="mastodon",
            external_id=f"d{n}",
            created_at=spec.created - timedelta(minutes=1),
            ingested_at=spec.created,
            text=spec.text,
            author_handle=f"@a{n}@example.social",
            author_name=spec.author,
            sentiment_label=spec.sentiment,
            media=[],
            extra={},
            topics=[],
        )
        session.add(post)
        session.flush()
        item = Item(
            post_pk=post.id,
            department=spec.department,
            status=ItemStatus.DONE if spec.resolved else ItemStatus.NEW,
            rule="test",
            why="test item",
            first_response_due_at=spec.due,
            first_responded_at=spec.replied,
            resolved_at=spec.resolved,
            created_at=spec.created,
            updated_at=spec.created,
        )
        session.add(item)
        session.flush()
        if spec.breached:
            assert spec.due is not None
            session.add(
                SlaBreach(
                    item_id=item.id,
                    department=spec.department,
                    clock="first_response",
                    due_at=spec.due,
                    breached_at=spec.due,
                )
            )
        stored[item.id] = spec
    session.flush()
    return stored


def room(
    session: Session,
    title: str,
    lead: str,
    opened: datetime,
    resolved: datetime | None = None,
    helping: tuple[str, ...] = (),
) -> CrisisRoom:
    """A crisis room."""
    found = CrisisRoom(
        title=title,
        story=f"forum:{title}",
        lead_department=lead,
        departments=list(helping),
        status=CrisisStatus.RESOLVED if resolved else CrisisStatus.ACTIVE,
        risk=0.7,
        opened_at=opened,
        opened_by="radar",
        resolved_at=resolved,
        updated_at=opened,
    )
    session.add(found)
    session.flush()
    return found


def card(
    session: Session,
    title: str,
    for_departments: list[str],
    published: datetime,
    status: CardStatus = CardStatus.PUBLISHED,
    **extra: Any,
) -> InsightCard:
    """An insight card from marketing."""
    found = InsightCard(
        title=title,
        body=extra.pop("body", ""),
        from_department="marketing",
        for_departments=for_departments,
        evidence=extra.pop("evidence", {}),
        status=status,
        created_at=published,
        published_at=published if status is CardStatus.PUBLISHED else None,
    )
    session.add(found)
    session.flush()
    return found


@pytest.fixture
def data(session: Session, make_user: Callable[..., User]) -> DataSet:
    """The fixed data set: items, breaches, crisis rooms, cards, calendar entries."""
    user = make_user("maya.patel@acme.example", department="marketing", name="Maya Patel")
    items = store(session, SPECS, user)
    room(session, "Fire at the Leeds store", "pr", at(18, 11))
    room(session, "Late refunds", "customer_service", at(9, 9), at(17, 16), ("pr",))
    room(session, "Ad misprint", "marketing", at(19, 9))
    room(session, "Old rumour", "pr", at(11, 9), at(12, 9))
    shared = card(
        session,
        "38% of our Mastodon audience is in Texas",
        ["pr", "email"],
        at(19, 12),
        body=HOSTILE,
        evidence={"figures": [{"label": "Texas share", "value": "38%"}]},
    )
    card(session, "Subject line A won", ["email"], at(19, 13))
    card(session, "Older finding", ["pr"], at(12, 10))
    card(session, "Not published", ["pr"], at(19, 14), CardStatus.PROPOSED)
    session.add(
        CardReceipt(
            card_id=shared.id,
            user_id=user.id,
            seen_at=at(19, 13),
            acted_at=at(20, 9),
            action="Targeted the newsletter at Texas",
        )
    )
    for title, department, starts in [
        ("Press briefing on the AirFry 5", "pr", at(24, 10)),
        ("December newsletter", "email", at(25, 9)),
        ("Too late: the week after next", "pr", at(30, 10)),
    ]:
        session.add(
            PlannedEntry(
                kind="email",
                title=title,
                department=department,
                starts_at=starts,
                created_by_id=user.id,
                created_at=START,
            )
        )
    session.flush()
    return DataSet(items, user)


# -- expectations, counted from the specs ---------------------------------------------------------
def _pr(start: datetime, end: datetime) -> list[Spec]:
    return [s for s in SPECS if s.department == "pr" and start <= s.created < end]


def _expected(start: datetime, end: datetime) -> dict[str, Any]:
    mine = _pr(start, end)
    pr_all = [s for s in SPECS if s.department == "pr"]
    decided = [s for s in mine if s.due and (s.replied or s.due < min(end, NOW))]
    met = [s for s in decided if s.replied and s.due and s.replied <= s.due]
    replies = [(s.replied - s.created).total_seconds() for s in mine if s.replied]
    sentiment: dict[str, int] = {}
    for s in mine:
        label = s.sentiment or "unknown"
        sentiment[label] = sentiment.get(label, 0) + 1
    return {
        "new": len(mine),
        "done": sum(1 for s in pr_all if s.resolved and start <= s.resolved < end),
        "open_at_end": sum(
            1 for s in pr_all if s.created < end and (s.resolved is None or s.resolved >= end)
        ),
        "first_reply_median": statistics.median(replies) if replies else None,
        "sla_due": len(decided),
        "sla_met": len(met),
        "breaches": sum(1 for s in pr_all if s.breached and s.due and start <= s.due < end),
        "sentiment": sentiment,
    }


@pytest.fixture
def digest(session: Session, acme_policy: Policy, data: DataSet) -> Digest:
    return build_digest(session, acme_policy, "pr", WEEK, NOW)


def test_item_figures_are_what_the_data_says(digest: Digest) -> None:
    for figures, (start, end) in [
        (digest.items, (START, END)),
        (digest.items_before, (BEFORE, START)),
    ]:
        expected = _expected(start, end)
        got = {key: getattr(figures, key) for key in expected}
        assert got == expected
    assert digest.items.new > 0 and digest.items_before.new > 0  # both weeks have data
    assert digest.open_now == sum(1 for s in SPECS if s.department == "pr" and not s.resolved)
    assert (digest.start, digest.end) == (START, END)


def test_worst_breaches_first_with_their_post(digest: Digest, data: DataSet) -> None:
    breached = [(i, s) for i, s in data.items.items() if s.department == "pr" and s.breached]
    assert breached and all(s.due for _, s in breached)

    def overrun(spec: Spec) -> float:
        assert spec.due is not None
        return ((spec.replied or min(END, NOW)) - spec.due).total_seconds()

    expected = sorted(breached, key=lambda pair: -overrun(pair[1]))
    assert [b.item_id for b in digest.breaches] == [i for i, _ in expected]
    assert [b.overrun for b in digest.breaches] == [overrun(s) for _, s in expected]
    hostile = next(b for b in digest.breaches if b.author == HOSTILE_AUTHOR)
    assert hostile.title == " ".join(HOSTILE.split())


def test_crises_that_touched_the_department(digest: Digest) -> None:
    titles = [r.title for r in digest.crisis_rooms]
    # Ad misprint is marketing's alone; Old rumour ended the week before.
    assert titles == ["Late refunds", "Fire at the Leeds store"]
    assert (digest.crises.opened, digest.crises.resolved, digest.crises.open_at_end) == (1, 1, 1)
    before = digest.crises_before
    assert (before.opened, before.resolved, before.open_at_end) == (2, 1, 1)


def test_cards_and_the_calendar_for_the_department(digest: Digest) -> None:
    assert [c.title for c in digest.cards] == ["38% of our Mastodon audience is in Texas"]
    assert digest.cards[0].figures == (("Texas share", "38%"),)
    assert digest.cards_before == 1
    assert [e.title for e in digest.coming_up] == ["Press briefing on the AirFry 5"]


def test_text_and_html_show_the_figures_and_escape(digest: Digest, acme_policy: Policy) -> None:
    text = render.digest_text(acme_policy, digest)
    html = render.digest_html(acme_policy, digest)
    assert text.startswith("ACME weekly digest: Public relations, week 47\n")
    median_words = render.duration(digest.items.first_reply_median)
    assert median_words != "–"
    for body in (text, html):
        assert median_words in body
        assert render.sla_text(digest.items) in body
        assert "Fire at the Leeds store" in body
        assert "Press briefing on the AirFry 5" in body
    assert HOSTILE_AUTHOR in text
    assert "<script>" not in html and "<img" not in html and "<b>Eve" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in html


# -- the e-mail over SMTP -------------------------------------------------------------------------
@dataclass
class Mailbox:
    """What the local SMTP server received."""

    port: int = 0
    messages: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"

    def received(self, i: int = 0) -> EmailMessage:
        content = self.messages[i].content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1 (its Controller cannot take port 0: a free port first)."""
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port, ready_timeout=10)
    controller.start()
    yield box
    controller.stop()


def _parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and rich is not None
    return plain.get_content(), rich.get_content()


def test_the_digest_arrives_with_text_and_html(
    digest: Digest, acme_policy: Policy, mailbox: Mailbox
) -> None:
    to = tasks.recipients(acme_policy, "pr")
    assert to == [p.email for p in acme_policy.people_in("pr")] and to
    sent = tasks.send_digest(SmtpServer("127.0.0.1", mailbox.port), acme_policy, digest, to)
    assert sent.sent_to == to
    assert len(mailbox.messages) == 1
    assert sorted(mailbox.messages[0].rcpt_tos) == sorted(to)
    message = mailbox.received()
    assert message["Subject"] == "ACME weekly digest: Public relations, week 47"
    assert message["Message-ID"].strip() == sent.message_id
    text, html = _parts(message)
    assert text.replace("\r\n", "\n") == render.digest_text(acme_policy, digest)
    routed = next(line for line in text.splitlines() if "Routed to Public relations" in line)
    assert routed.split()[-2:] == [str(digest.items.new), str(digest.items_before.new)]
    assert "&lt;script&gt;" in html and "<script>" not in html


# -- the schedule ---------------------------------------------------------------------------------
@pytest.fixture
def sessions(session: Session) -> sessionmaker[Session]:
    """Sessions on the test's connection: their commits are savepoints, rolled back after."""
    return sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )


def test_the_schedule_sends_once_per_week(
    data: DataSet,
    acme_policy: Policy,
    mailbox: Mailbox,
    session: Session,
    sessions: sessionmaker[Session],
) -> None:
    schedules = acme_policy.insights.digests
    assert schedules
    first = min(tasks.send_time(s, IsoWeek(2026, 48), "UTC") for s in schedules)
    sender = tasks.DigestSender(SmtpServer("127.0.0.1", mailbox.port))
    assert sender.run(sessions, acme_policy, lambda: first - timedelta(minutes=1)) == []
    assert mailbox.messages == []
    later = NOW + timedelta(hours=3)  # Monday 12:00: every schedule's time has passed
    sent = sender.run(sessions, acme_policy, lambda: later)
    assert sorted(sent) == sorted(f"{s.department}/2026-W47" for s in schedules)
    assert len(mailbox.messages) == len(schedules)
    # Due twice (the next pass, and another process that knows nothing): sent once.
    assert sender.run(sessions, acme_policy, lambda: later + timedelta(minutes=1)) == []
    fresh = tasks.DigestSender(SmtpServer("127.0.0.1", mailbox.port))
    assert fresh.run(sessions, acme_policy, lambda: later + timedelta(hours=1)) == []
    assert len(mailbox.messages) == len(schedules)
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == tasks.DIGEST_SENT))
    assert sorted(e.subject_id for e in events) == sorted(sent)
    subjects = sorted(mailbox.received(i)["Subject"] for i in range(len(schedules)))
    names = sorted(
        f"ACME weekly digest: {acme_policy.department(s.department).name}, week 47"
        for s in schedules
    )
    assert subjects == names


def test_a_failed_send_is_tried_again_later(
    data: DataSet, acme_policy: Policy, mailbox: Mailbox, sessions: sessionmaker[Session]
) -> None:
    closed = SmtpServer("127.0.0.1", free_port())  # nobody listens there
    sender = tasks.DigestSender(closed, timeout=2)
    later = NOW + timedelta(hours=3)
    assert sender.run(sessions, acme_policy, lambda: later) == []
    with sessions() as s:
        assert not tasks.already_sent(s, "pr", WEEK)
    sender.server = SmtpServer("127.0.0.1", mailbox.port)  # the server is back
    soon = later + tasks.RETRY_AFTER - timedelta(seconds=1)
    assert sender.run(sessions, acme_policy, lambda: soon) == []
    assert mailbox.messages == []
    sent = sender.run(sessions, acme_policy, lambda: later + tasks.RETRY_AFTER)
    assert "pr/2026-W47" in sent and len(mailbox.messages) == len(sent)


def test_the_background_loop_sends_the_digests_due(
    data: DataSet,
    acme_policy: Policy,
    mailbox: Mailbox,
    sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    settings = Settings(
        home=tmp_path,
        secret_key="test-secret-key-for-the-digest-loop-0123456789",
        smtp_url=f"smtp://127.0.0.1:{mailbox.port}",
    )
    later = NOW + timedelta(hours=3)
    web = SimpleNamespace(
        settings=settings,
        sessions=sessions,
        policy=acme_policy,
        clock=lambda: later,
        source=SimpleNamespace(version=1),
    )
    deliverer = Deliverer()
    deliverer.run(web)  # type: ignore[arg-type]
    deliverer.run(web)  # type: ignore[arg-type]
    assert len(mailbox.messages) == len(acme_policy.insights.digests)
    notifier = deliverer.notifier(web)  # type: ignore[arg-type]
    if notifier is not None:
        notifier.close()


# -- pure helpers ---------------------------------------------------------------------------------
def test_weeks() -> None:
    assert str(IsoWeek.parse("2026-W47")) == "2026-W47"
    assert IsoWeek.parse("2026-W47").monday == START.date()
    assert IsoWeek(2026, 1).shifted(-1) == IsoWeek(2025, 52)
    with pytest.raises(InputError):
        IsoWeek.parse("2026-47")
    with pytest.raises(InputError):
        IsoWeek.parse("2026-W54")
    # Sunday 23:30 in London is still week 47; Monday 00:30 makes it the last complete week.
    assert last_complete_week(at(22, 23, 30), "Europe/London") == IsoWeek(2026, 46)
    assert last_complete_week(at(23, 0, 30), "Europe/London") == WEEK
    # In summer London is UTC+1: the week starts at 23:00 UTC on the Sunday.
    start, _ = IsoWeek(2026, 27).bounds("Europe/London")
    assert start == datetime(2026, 6, 28, 23, 0, tzinfo=UTC)
    assert median([]) is None and median([3.0, 1.0, 2.0]) == 2.0


def test_durations_read_like_a_person_wrote_them() -> None:
    assert render.duration(None) == "–"
    assert render.duration(42) == "42 s"
    assert render.duration(20 * 60) == "20 min"
    assert render.duration(3 * 3600 + 5 * 60) == "3 h 5 min"
    assert render.duration(2 * 86400 + 4 * 3600) == "2 d 4 h"
