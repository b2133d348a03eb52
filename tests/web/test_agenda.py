"""The /agenda page and its Markdown export: the same agenda (crises, cards and what was done
with them, the calendar ahead, the period's numbers), hostile titles escaped, and a login
required."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from townhall.db import session_factory, transaction
from townhall.insights import render
from townhall.insights.agenda import build_agenda
from townhall.models import (
    CardReceipt,
    CardStatus,
    CrisisRoom,
    CrisisStatus,
    InsightCard,
    PlannedEntry,
    User,
)
from web.conftest import Site

EVIL = '<img src=x onerror="alert(1)">'
ESCAPED = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"


def _data(site: Site) -> None:
    now = site.clock()
    with transaction(session_factory(site.engine)) as session:
        grace = session.scalar(select(User).where(User.email == "grace.lindqvist@acme.example"))
        assert grace is not None
        session.add(
            CrisisRoom(
                title=f"Fire at the Leeds store {EVIL}",
                story="forum:1",
                lead_department="pr",
                status=CrisisStatus.ACTIVE,
                risk=0.81,
                opened_at=now - timedelta(days=2),
                opened_by="radar",
                updated_at=now,
            )
        )
        card = InsightCard(
            title="38% of our Mastodon audience is in Texas",
            from_department="marketing",
            for_departments=["email"],
            status=CardStatus.PUBLISHED,
            created_at=now - timedelta(days=3),
            published_at=now - timedelta(days=3),
        )
        session.add(card)
        session.flush()
        session.add(
            CardReceipt(
                card_id=card.id,
                user_id=grace.id,
                seen_at=now - timedelta(days=2),
                acted_at=now - timedelta(days=1),
                action=f"Briefed the press office {EVIL}",
            )
        )
        session.add(
            PlannedEntry(
                kind="email",
                title="December newsletter",
                department="email",
                starts_at=now + timedelta(days=2),
                created_by_id=grace.id,
                created_at=now,
            )
        )


def test_the_agenda_page_and_its_export(site: Site, client: httpx.Client) -> None:
    _data(site)
    earlier = site.clock() - timedelta(hours=2)
    site.feed(
        site.post("My ACME kettle leaks", created_at=earlier),
        site.post("Where is my ACME order?", created_at=earlier),
    )
    assert client.get("/agenda").status_code in (303, 401)  # a login first
    assert site.login(client).status_code == 303
    page = client.get("/agenda")
    assert page.status_code == 200
    html = page.text
    assert "Fire at the Leeds store" in html and ESCAPED in html and EVIL not in html
    assert "38% of our Mastodon audience is in Texas" in html
    assert f"Briefed the press office {ESCAPED}" in html
    assert "December newsletter" in html
    with session_factory(site.engine)() as session:
        now = site.clock()
        agenda = build_agenda(session, site.policy, now - timedelta(days=7), now, now)
    assert agenda.posts == 2
    assert f'<td id="agenda-posts">{agenda.posts}</td>' in html
    assert f'<td id="agenda-items">{agenda.items.new}</td>' in html

    export = client.get("/agenda.md", params={"since": "7d"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/markdown")
    assert export.text == render.agenda_markdown(site.policy, agenda)


def test_a_bad_period_is_refused(site: Site, client: httpx.Client) -> None:
    assert site.login(client).status_code == 303
    assert client.get("/agenda", params={"since": "forever"}).status_code == 422
    assert client.get("/agenda.md", params={"until": "yesterday"}).status_code == 422
    narrow = client.get("/agenda", params={"since": "14d", "until": "2026-11-01"})
    assert narrow.status_code == 200 and "From Mon 19 Oct 2026 00:00" in narrow.text
