"""The author's history on the item: their other posts on the channel, what we said to them,
and nothing of an item the person may not see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select, update

from townhall.db import session_factory, transaction
from townhall.models import Item, OutboxKind, OutboxPost, OutboxStatus, PostRecord, User

JANE = {"handle": "@jane@example.social", "name": "Jane Okafor"}


def _said(site: Any, item_id: int, text: str, status: OutboxStatus) -> None:
    with transaction(session_factory(site.engine)) as session:
        sofia = session.scalars(select(User).where(User.name == "Sofia Rossi")).one()
        at = datetime(2026, 11, 20, 14, 2, 30, tzinfo=UTC)  # between her 2nd and 3rd post
        session.add(
            OutboxPost(
                channel="mastodon",
                kind=OutboxKind.REPLY,
                text=text,
                department="customer_service",
                status=status,
                key=f"said-{item_id}-{status}",
                item_id=item_id,
                reply_to_author=JANE["handle"],
                author_id=sofia.id,
                published_at=at if status == OutboxStatus.PUBLISHED else None,
                created_at=at,
                updated_at=at,
            )
        )


def test_the_item_shows_the_authors_other_posts_and_our_replies(
    site: Any, logged_in: httpx.Client
) -> None:
    site.feed(
        site.post("My AirFry 5 will not heat up", author=JANE),
        site.post("Applied for the Leeds job, no answer <b>yet</b>", author=JANE),
        site.post("Someone else's kettle", author={"handle": "@bob@example.social"}),
        site.post("Jane on the forum", channel="forum", author=JANE),
        site.post("Still cold. Third time I ask!", author=JANE),
    )
    site.feed(site.post("", reshare_of="mastodon:999", author=JANE))
    with transaction(session_factory(site.engine)) as session:
        ids = {t: i for t, i in session.execute(select(PostRecord.text, PostRecord.id))}
        items = {p: i for p, i in session.execute(select(Item.post_pk, Item.id))}
        first, job, latest = (
            items[ids["My AirFry 5 will not heat up"]],
            items[ids["Applied for the Leeds job, no answer <b>yet</b>"]],
            items[ids["Still cold. Third time I ask!"]],
        )
        # HR's items stay with HR: Sofia (customer service) may not open this one.
        session.execute(update(Item).where(Item.id == job).values(department="hr"))
    _said(site, first, "Sorry to hear that, Jane: we sent a new heater.", OutboxStatus.PUBLISHED)
    _said(site, first, "An unapproved draft to Jane", OutboxStatus.DRAFT)

    html = logged_in.get(f"/items/{latest}").text
    section = html[html.index('id="author-history"') : html.index('id="replies"')]
    assert "About Jane Okafor" in section
    # Three posts on Mastodon (the forum's Jane is another account), three items, one reply.
    assert "Heard 4 times on Mastodon" in section and "3 items" in section
    assert "Reshared a post." in section
    assert "1 reply from us" in section
    assert "My AirFry 5 will not heat up" in section
    assert "we sent a new heater" in section and "We replied · Sofia Rossi" in section
    assert "An unapproved draft" not in section
    assert "Jane on the forum" not in section and "kettle" not in section
    # The post itself is not repeated; the other post's text is escaped.
    assert "Third time I ask" not in section
    assert "no answer &lt;b&gt;yet&lt;/b&gt;" in section
    # The item she may open is linked; HR's is not.
    assert f'href="/items/{first}"' in section
    assert f'href="/items/{job}"' not in section
    # Newest first, ours among hers.
    assert section.index("new heater") < section.index("Applied for the Leeds job")
    assert section.index("Applied for the Leeds job") < section.index("will not heat up")


def test_a_first_post_says_so(site: Any, logged_in: httpx.Client) -> None:
    site.feed(site.post("Hello ACME", author={"handle": "@new@example.social", "name": "Nia"}))
    html = logged_in.get("/items/1").text
    assert "The first time Townhall hears from Nia on Mastodon." in html
    assert "Heard " not in html
