"""`townhall digest` and `townhall agenda`: the dry run prints the digest (text or HTML), a
send goes to a local SMTP server and prints one JSON line, errors say what to do."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import select
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.connectors.standin import free_port
from townhall.db import make_engine, migrate, session_factory, transaction
from townhall.models import (
    AuditEvent,
    CardStatus,
    CrisisRoom,
    CrisisStatus,
    InsightCard,
    Item,
    PostRecord,
    SlaBreach,
)
from townhall.org.loader import load_policy

pytestmark = pytest.mark.timeout(60)

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"
WEEK_START = datetime(2026, 11, 16, tzinfo=UTC)  # Monday of 2026-W47 (London is on UTC)
HOSTILE = "\x1b[31mred\x1b[0m <script>alert(1)</script>"
ITEMS = 3


@dataclass
class Mailbox:
    """What the local SMTP server received."""

    messages: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def database(
    make_database_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A database with PR's week 47: three items (one breached, hostile), a crisis, a card."""
    url = make_database_url()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    monkeypatch.setenv("TOWNHALL_POLICY", str(ACME))
    monkeypatch.delenv("TOWNHALL_SMTP_URL", raising=False)
    get_settings.cache_clear()
    engine = make_engine(url)
    migrate(engine)
    with transaction(session_factory(engine)) as session:
        for n in range(ITEMS):
            created = WEEK_START + timedelta(days=n, hours=10)
            post = PostRecord(
                post_id=f"forum:{n}",
                channel="forum",
                external_id=str(n),
                created_at=created,
                ingested_at=created,
                text=HOSTILE if n == 0 else f"Question {n}",
                author_handle=f"@a{n}",
                sentiment_label="negative",
                media=[],
                extra={},
                topics=[],
            )
            session.add(post)
            session.flush()
            due = created + timedelta(minutes=30)
            item = Item(
                post_pk=post.id,
                department="pr",
                rule="test",
                why="test",
                first_response_due_at=due,
                first_responded_at=created + timedelta(minutes=10 * (n + 1)),
                created_at=created,
                updated_at=created,
            )
            session.add(item)
            session.flush()
            if n == 0:
                session.add(
                    SlaBreach(
                        item_id=item.id,
                        department="pr",
                        clock="resolution",
                        due_at=due,
                        breached_at=due,
                    )
                )
        session.add(
            CrisisRoom(
                title="Fire at the Leeds store",
                story="forum:0",
                lead_department="pr",
                status=CrisisStatus.ACTIVE,
                opened_at=WEEK_START + timedelta(days=1),
                opened_by="radar",
                updated_at=WEEK_START,
            )
        )
        session.add(
            InsightCard(
                title="38% of our Mastodon audience is in Texas",
                from_department="marketing",
                for_departments=["pr"],
                status=CardStatus.PUBLISHED,
                created_at=WEEK_START + timedelta(days=2),
                published_at=WEEK_START + timedelta(days=2),
            )
        )
    engine.dispose()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1 (a free port first), named by TOWNHALL_SMTP_URL."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    monkeypatch.setenv("TOWNHALL_SMTP_URL", f"smtp://127.0.0.1:{port}")
    get_settings.cache_clear()
    yield box
    controller.stop()


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_dry_run_prints_the_digest(database: str) -> None:
    result = run("digest", "--department", "pr", "--week", "2026-W47", "--dry-run")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("ACME weekly digest: Public relations, week 47\n")
    routed = next(line for line in text.splitlines() if "Routed to Public relations" in line)
    assert routed.split()[-2:] == [str(ITEMS), "0"]
    # First replies after 10, 20 and 30 minutes: all within the 30-minute SLA.
    assert f"100% ({ITEMS} of {ITEMS})" in text and "20 min" in text
    assert "Fire at the Leeds store" in text
    assert "38% of our Mastodon audience is in Texas" in text
    assert "\x1b" not in text  # the post's escape codes never reach the terminal

    html = run("digest", "--department", "pr", "--week", "2026-W47", "--dry-run", "--html")
    assert html.exit_code == 0, html.output
    assert html.stdout.startswith("<!DOCTYPE html>")
    assert "&lt;script&gt;" in html.stdout and "<script>" not in html.stdout


def test_errors_say_what_to_do(database: str) -> None:
    unknown = run("digest", "--department", "nobody", "--dry-run")
    assert unknown.exit_code == 2 and "unknown 'nobody'" in unknown.stderr
    week = run("digest", "--department", "pr", "--week", "2026-47", "--dry-run")
    assert week.exit_code == 2 and "2026-W47" in week.stderr
    no_smtp = run("digest", "--department", "pr", "--week", "2026-W47")
    assert no_smtp.exit_code == 1 and "TOWNHALL_SMTP_URL" in no_smtp.stderr


def test_a_send_goes_out_and_is_recorded(database: str, mailbox: Mailbox) -> None:
    result = run("digest", "--department", "pr", "--week", "2026-W47")
    assert result.exit_code == 0, result.output
    line = orjson.loads(result.stdout)
    people = [p.email for p in load_policy(ACME).people_in("pr")]
    assert line["department"] == "pr" and line["week"] == "2026-W47"
    assert line["sent_to"] == people
    assert len(mailbox.messages) == 1
    content = mailbox.messages[0].content
    assert isinstance(content, bytes)
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["Subject"] == "ACME weekly digest: Public relations, week 47"
    assert message["Message-ID"].strip() == line["message_id"]

    chosen = run("digest", "--department", "pr", "--week", "2026-W47", "--to", "x@example.org")
    assert chosen.exit_code == 0, chosen.output
    assert orjson.loads(chosen.stdout)["sent_to"] == ["x@example.org"]
    engine = make_engine(database)
    with session_factory(engine)() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id == "pr/2026-W47")
        ).all()
    engine.dispose()
    # Only the department's own copy counts for the schedule.
    assert sorted(actions) == ["digest.sent", "digest.sent_to"]


def test_agenda_prints_markdown(database: str) -> None:
    result = run("agenda", "--since", "7d", "--until", "2026-11-22")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("# ACME social meeting\n")
    assert f"- Posts heard: {ITEMS}" in text
    assert "Fire at the Leeds store" in text
    assert "38% of our Mastodon audience is in Texas" in text
    assert "\x1b" not in text
    bad = run("agenda", "--since", "a while")
    assert bad.exit_code == 2 and "7d" in bad.stderr
