"""The insight cards pages: publishing from one's own team (and refused for another), the
board's order, a receipt per person on opening a card, "We acted on this", and proposals that
only their team sees and decides, with hostile text escaped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from townhall.db import session_factory, transaction
from townhall.models import AuditEvent, CardReceipt, CardStatus, InsightCard
from web.conftest import PASSWORD, LiveServer, Site

SOFIA = "sofia.rossi@acme.example"  # customer service
GRACE = "grace.lindqvist@acme.example"  # PR
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def grace(site: Site, live_server: LiveServer) -> Iterator[httpx.Client]:
    """A second browser, logged in as Grace (PR)."""
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=10) as http:
        assert site.login(http, GRACE).status_code == 303
        yield http


@pytest.fixture
def sofia(site: Site, client: httpx.Client) -> httpx.Client:
    """The client, logged in as Sofia (customer service)."""
    assert site.login(client, SOFIA).status_code == 303
    return client


def publish(site: Site, client: httpx.Client, **values: object) -> httpx.Response:
    token = site.csrf_of(client.get("/cards/new").text)
    data: dict[str, object] = {
        "title": "Half of the KettleOne complaints are about the lid",
        "body": "Seen in last week's contacts.",
        "from_department": "customer_service",
        "for": ["pr", "back_office"],
        "figure_label": ["KettleOne complaints", "About the lid", ""],
        "figure_value": ["48", "24", ""],
        "link": "/insights?from=2026-11-13&to=2026-11-20",
        "csrf_token": token,
    }
    data.update(values)
    return client.post("/cards/new", data=data)


def card_id(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_a_team_publishes_a_card_that_the_teams_it_is_for_see_first(
    site: Site, sofia: httpx.Client, grace: httpx.Client
) -> None:
    number = card_id(publish(site, sofia))
    page = sofia.get(f"/cards/{number}").text
    assert "From <strong>Customer service</strong> for Public relations, Back office" in page
    assert "<dt>About the lid</dt><dd>24</dd>" in page
    assert 'href="/insights?from=2026-11-13&amp;to=2026-11-20"' in page
    with session_factory(site.engine)() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "card.publish"))
        assert event is not None and event.actor == SOFIA

    other = card_id(publish(site, sofia, title="For sales only", **{"for": ["sales"]}))
    board = grace.get("/cards").text
    mine, rest = board.split('id="others"')
    assert "For Public relations" in mine and f'id="card-{number}"' in mine
    assert f'id="card-{other}"' in rest and f'id="card-{other}"' not in mine


def test_nobody_publishes_for_another_team_and_bad_values_come_back(
    site: Site, sofia: httpx.Client
) -> None:
    refused = publish(site, sofia, from_department="pr")
    assert refused.status_code == 403
    bad = publish(site, sofia, link="javascript:alert(1)")
    assert bad.status_code == 422
    assert 'id="card-error"' in bad.text
    assert 'value="Half of the KettleOne complaints are about the lid"' in bad.text
    with session_factory(site.engine)() as session:
        assert session.scalar(select(func.count(InsightCard.id))) == 0


def test_opening_a_card_is_recorded_once_and_actions_are_shown(
    site: Site, sofia: httpx.Client, grace: httpx.Client
) -> None:
    number = card_id(publish(site, sofia))
    first = grace.get(f"/cards/{number}").text
    assert "Seen by 1 person" in first
    assert "Seen by 1 person" in grace.get(f"/cards/{number}").text
    with session_factory(site.engine)() as session:
        count = session.scalar(
            select(func.count(CardReceipt.id)).where(CardReceipt.card_id == number)
        )
        assert count == 1

    token = site.csrf_of(first)
    empty = grace.post(f"/cards/{number}/act", data={"action": "  ", "csrf_token": token})
    assert empty.status_code == 422 and 'id="act-error"' in empty.text
    done = grace.post(
        f"/cards/{number}/act",
        data={"action": f"Briefed the press office {HOSTILE}", "csrf_token": token},
    )
    assert done.status_code == 303
    page = sofia.get(f"/cards/{number}").text
    assert "Seen by 2 people · acted on by 1" in page
    assert "<strong>Grace Lindqvist</strong>: Briefed the press office &lt;script&gt;" in page
    assert HOSTILE not in page
    with session_factory(site.engine)() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "card.act"))
        assert event is not None and event.actor == GRACE


def test_a_proposal_is_seen_and_decided_by_its_team_only_and_escaped(
    site: Site, sofia: httpx.Client, grace: httpx.Client
) -> None:
    with transaction(session_factory(site.engine)) as session:
        card = InsightCard(
            title=f"Negative posts about {HOSTILE} jumped to 40% (from 10%)",
            body="",
            from_department="customer_service",
            for_departments=["pr"],
            evidence={"figures": [{"label": HOSTILE, "value": "40%"}]},
            status=CardStatus.PROPOSED,
            kind="negative_topic",
            fingerprint="negative_topic:x:2026-W47",
            link="//evil.example/insights",
            created_at=datetime(2026, 11, 20, 13, 0, tzinfo=UTC),
        )
        session.add(card)
        session.flush()
        number = card.id

    board = sofia.get("/cards").text
    proposals = board.split('id="proposals"')[1].split('id="for-mine"')[0]
    assert f'id="card-{number}"' in proposals
    assert f'action="/cards/{number}/publish"' in proposals
    assert "&lt;script&gt;" in proposals and HOSTILE not in board
    assert "evil.example" not in board  # a link off the site is never shown

    assert f'id="card-{number}"' not in grace.get("/cards").text
    assert grace.get(f"/cards/{number}").status_code == 404
    token = site.csrf_of(grace.get("/cards").text)
    assert grace.post(f"/cards/{number}/publish", data={"csrf_token": token}).status_code == 404

    token = site.csrf_of(board)
    published = sofia.post(f"/cards/{number}/publish", data={"csrf_token": token})
    assert published.status_code == 303
    assert f'id="card-{number}"' in grace.get("/cards").text.split('id="others"')[0]
    again = sofia.post(f"/cards/{number}/dismiss", data={"csrf_token": token})
    assert again.status_code == 409


def test_in_the_browser_a_card_is_published_opened_and_acted_on(site: Site, page: Any) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/login")
    page.get_by_label("E-mail").fill(SOFIA)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/inbox")
    page.goto("/cards")
    page.get_by_role("link", name="Share what we learned").click()
    page.get_by_label("What did your team learn?").fill("Lid complaints doubled")
    page.get_by_label("Public relations").check()
    page.locator('input[name="figure_label"]').first.fill("Lid complaints, last 7 days")
    page.locator('input[name="figure_value"]').first.fill("24")
    page.get_by_role("button", name="Publish the card").click()
    expect(page.locator("#card-title")).to_have_text("Lid complaints doubled")
    expect(page.locator("#figures")).to_contain_text("Lid complaints, last 7 days")
    expect(page.locator("#card-reach")).to_have_text("Seen by 1 person")
    page.get_by_label("We acted on this").fill("Asked QA for the batch numbers")
    page.get_by_role("button", name="We acted on this").click()
    expect(page.locator("#card-actions")).to_contain_text(
        "Sofia Rossi: Asked QA for the batch numbers"
    )
    # The stylesheet applies (the CSP allows it): figures are laid out as a row.
    assert page.locator("#figures").evaluate("e => getComputedStyle(e).display") == "flex"
    assert errors == []
