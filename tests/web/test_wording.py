"""Rooms, alerts and items read as a person wrote them: names, not slugs or e-mail addresses.

The pages are rendered from the demo's own story (the simulator's day up to 11:00), so the
test sees what a person opening the demo sees.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from townhall.cases import crisis
from townhall.db import session_factory
from townhall.models import CrisisRoom, Item, PostRecord

SLUG = re.compile(r"\b(?:product|brand|competitor):[a-z0-9_]+")
EMAIL = re.compile(r"[\w.+-]+@acme\.example")
GRAMMAR = [
    re.compile(r"s's\b"),  # "Public relations's"
    re.compile(r"\b(?:pr|customer_service)'s\b"),  # a department id as a possessive
    re.compile(r"\ba (?=advocate\b)"),
    re.compile(r"\b(?:customer_service|back_office)\b"),  # an id with "_" is never a word
]


def visible_text(page: str) -> str:
    """The text a person reads: no tags, scripts or attributes, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def machine_words(page: str) -> list[str]:
    """Slugs, known people's e-mail addresses and broken grammar in a page's text."""
    text = visible_text(page)
    found = SLUG.findall(text) + EMAIL.findall(text)
    for pattern in GRAMMAR:
        found += [m.group(0) for m in pattern.finditer(text)]
    return found


def test_the_checker_catches_what_a_person_should_never_read() -> None:
    page = (
        '<h1 title="brand:acme">Crisis #1: brand:acme: “Wow”</h1>'
        "<p>— sofia.rossi@acme.example, Public relations's approval, now a advocate</p>"
    )
    assert machine_words(page) == [
        "brand:acme",
        "sofia.rossi@acme.example",
        "s's",
        "a ",
    ]
    assert machine_words('<a href="/inbox?topic=product:airfry_5">ACME AirFry 5</a>') == []


def test_topic_names_possessives_and_articles(site: Any) -> None:
    policy = site.policy
    assert crisis.topic_name(policy, "product:airfry_5") == "ACME AirFry 5"
    assert crisis.topic_name(policy, "brand:acme") == "ACME"
    assert crisis.topic_name(policy, "competitor:globex") == "Globex"
    assert crisis.topic_name(policy, "competitor:someone_else") == "someone else"
    assert (
        crisis.name_topics(policy, "most of them are about product:airfry_5")
        == "most of them are about ACME AirFry 5"
    )
    assert (
        crisis.readable(policy, "so customer_service leads with it and back_office supporting")
        == "so Customer service leads with IT and Back office supporting"
    )
    assert (
        crisis.readable(policy, "13 of the 2 available in sales")
        == "13 of the 2 available in Sales"
    )
    assert crisis.readable(
        policy,
        "so it escalates to the approver of customer_service: Sofia Rossi approves for "
        "customer_service (off shift, but it is overdue)",
    ) == (
        "so it escalates to the approver of Customer service: Sofia Rossi approves for "
        "Customer service (off shift, but it is overdue)"
    )
    assert (
        crisis.readable(policy, "it is about search, and it leads")
        == "it is about search, and it leads"
    )
    assert crisis.possessive("Public relations") == "Public relations'"
    assert crisis.possessive("Grace") == "Grace's"
    assert crisis.article("advocate") == "an" and crisis.article("detractor") == "a"


@pytest.fixture
def demo_morning(site: Any) -> Any:
    """The demo's day fed through the live pipeline up to 11:00: the radar opens a room."""
    from townhall.connectors.simulator.scenario import generate_day

    day = generate_day(seed=7, start=datetime(2026, 11, 20, tzinfo=UTC))
    site.feed_understood([p for p in day if p.created_at.hour < 11])
    return site


def form(client: httpx.Client, site: Any, page: str, path: str, **data: str) -> httpx.Response:
    token = site.csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token})


def test_the_demo_pages_name_products_and_people(demo_morning: Any, client: httpx.Client) -> None:
    site = demo_morning
    with session_factory(site.engine)() as session:
        room = session.scalars(select(CrisisRoom)).first()
        assert room is not None, "the demo's story opens a room by 11:00"
        item_id = session.scalar(
            select(Item.id)
            .join(PostRecord, PostRecord.id == Item.post_pk)
            .where(PostRecord.post_id == room.story)
        )
        author = session.scalar(
            select(PostRecord.author_name).where(PostRecord.post_id == room.story)
        )
    assert item_id is not None and author

    assert site.login(client, "grace.lindqvist@acme.example").status_code == 303
    room_page = client.get(f"/crises/{room.id}").text
    entry = room_page.split(f'action="/crises/{room.id}/answers/')[1].split('"')[0]
    saved = form(
        client, site, f"/crises/{room.id}", f"/crises/{room.id}/answers/{entry}", answer="Yes."
    )
    assert saved.status_code == 303
    form(client, site, f"/items/{item_id}", f"/items/{item_id}/assign", assignee="me")

    pages = {
        "crises": client.get("/crises").text,
        "room": client.get(f"/crises/{room.id}").text,
        "item": client.get(f"/items/{item_id}").text,
    }
    for name, page in pages.items():
        assert machine_words(page) == [], name

    text = visible_text(pages["room"])
    assert "— Grace Lindqvist," in text  # the answer, credited to her name
    assert author in text.split("The author's journey", 1)[1][:400]
    assert "Public relations' approval" in text
    alerts = visible_text(pages["crises"])
    label = r"\b(Crisis|Viral post|Complaint burst) \((watch|info|warning|critical)\)"
    assert re.search(label, alerts)
    assert "see the post</a>" in pages["crises"]
    assert "Part of the crisis" in visible_text(pages["item"])
