"""The inbox: my department by default, the unified view, filters, paging."""

from __future__ import annotations

import re
from typing import Any

import httpx

from townhall.web import inbox


def _row_ids(html: str) -> list[int]:
    import re

    return [int(n) for n in re.findall(r'data-item-id="(\d+)"', html)]


def test_default_view_is_my_department(site: Any, logged_in: httpx.Client) -> None:
    site.feed(
        site.post("Kettle broke", channel="mastodon"),  # customer_service
        site.post("ACME on the news", channel="rss"),  # pr
        site.post("Recipe thread", channel="forum"),  # marketing
    )
    mine = logged_in.get("/inbox")
    assert _row_ids(mine.text) == [1]
    assert "Kettle broke" in mine.text and "ACME on the news" not in mine.text
    everything = logged_in.get("/inbox?department=all&sort=newest")
    assert _row_ids(everything.text) == [3, 2, 1]
    assert "All departments" in everything.text
    pr = logged_in.get("/inbox?department=pr")
    assert _row_ids(pr.text) == [2]


def test_filters_combine_and_search_is_safe(site: Any, logged_in: httpx.Client) -> None:
    site.feed(
        site.post("Got 50% off my KettleOne", channel="mastodon"),
        site.post("Got 500 off", channel="bluesky"),
        site.post("kettleone on bluesky", channel="bluesky"),
    )
    assert _row_ids(logged_in.get("/inbox", params={"q": "50%"}).text) == [1]
    both = logged_in.get("/inbox", params={"q": "KETTLEONE", "channel": "bluesky"})
    assert _row_ids(both.text) == [3]
    by_handle = logged_in.get("/inbox", params={"q": "@fan2@"})
    assert _row_ids(by_handle.text) == [2]
    assert _row_ids(logged_in.get("/inbox", params={"status": "done"}).text) == []
    any_status = logged_in.get("/inbox", params={"status": "any", "sort": "newest"})
    assert _row_ids(any_status.text) == [3, 2, 1]


def test_htmx_filter_returns_only_the_list(site: Any, logged_in: httpx.Client) -> None:
    site.feed(site.post("Kettle broke"))
    response = logged_in.get(
        "/inbox",
        params={"status": "new"},
        headers={"HX-Request": "true", "HX-Target": "inbox-main"},
    )
    assert response.text.startswith('<section id="inbox-main"')
    assert 'sse-connect="/inbox/stream?department=customer_service&amp;status=new&amp;after=1"' in (
        response.text
    )


def test_load_more_pages_older_rows(site: Any, logged_in: httpx.Client, monkeypatch: Any) -> None:
    monkeypatch.setattr(inbox, "PAGE_SIZE", 2)
    site.feed(*[site.post(f"post {n}") for n in range(5)])
    first = logged_in.get("/inbox?sort=newest")
    assert _row_ids(first.text) == [5, 4]
    assert (
        'hx-get="/inbox/rows?department=customer_service&amp;status=open&amp;sort=newest&amp;'
        'before=4"' in first.text
    )
    second = logged_in.get(
        "/inbox/rows", params={"department": "customer_service", "before": 4, "sort": "newest"}
    )
    assert _row_ids(second.text) == [3, 2]
    last = logged_in.get("/inbox/rows", params={"before": 2, "sort": "newest"})
    assert _row_ids(last.text) == [1]
    assert "Load older items" not in last.text


def test_row_shows_channel_author_followers_department_status(
    site: Any, logged_in: httpx.Client
) -> None:
    site.feed(site.post("x" * 300, author={"name": "Bob Jones", "followers": 12_345}))
    html = logged_in.get("/inbox").text
    assert 'class="channel channel-mastodon">Mastodon<' in html
    assert "Bob Jones" in html and "12.3k followers" in html
    assert ">Customer service<" in html and ">New<" in html
    assert "x" * 199 + "…" in html and "x" * 200 not in html


def test_what_was_understood_shows_and_filters(site: Any, logged_in: httpx.Client) -> None:
    from sqlalchemy import update

    from townhall.models import PostRecord

    site.feed(
        site.post("The kettle lid <b>melted</b>", channel="mastodon"),
        site.post("Where can I buy one?", channel="mastodon"),
    )
    with site.engine.begin() as conn:
        conn.execute(
            update(PostRecord)
            .where(PostRecord.post_id == "mastodon:1")
            .values(
                intent="complaint",
                intent_confidence=0.9,
                sentiment_label="negative",
                sentiment_score=-0.7,
                actionable=True,
                country="GB",
                reach="micro",
                topics=["product:kettleone"],
                language="en",
                toxicity=0.01,
            )
        )

    page = logged_in.get("/inbox", params={"intent": "complaint"})

    assert _row_ids(page.text) == [1]
    for shown in ("complaint", "negative", "needs an answer", "GB"):
        assert shown in page.text
    # The topic reads as a product's name, not its slug.
    topic = re.search(r'class="tag topic">([^<]*)<', page.text)
    assert topic and "kettle" in topic.group(1).lower() and ":" not in topic.group(1)
    assert "&lt;b&gt;melted&lt;/b&gt;" in page.text
    assert _row_ids(logged_in.get("/inbox", params={"sentiment": "negative"}).text) == [1]
    refused = logged_in.get("/inbox", params={"intent": "nonsense"})
    assert refused.status_code == 422 and "intent:" in refused.text


def test_the_count_badge_stops_at_its_limit(
    site: Any, logged_in: httpx.Client, monkeypatch: Any
) -> None:
    site.feed(*[site.post(f"counted {n}") for n in range(4)])
    badge = re.compile(r'class="count-badge"[^>]*>([^<]*)<')
    assert badge.findall(logged_in.get("/inbox").text) == ["4"]
    monkeypatch.setattr(inbox, "COUNT_LIMIT", 3)
    assert badge.findall(logged_in.get("/inbox").text) == ["3+"]
    assert inbox.count_label(12_345) == "3+"
    monkeypatch.setattr(inbox, "COUNT_LIMIT", 1000)
    assert inbox.count_label(999) == "999"
    assert inbox.count_label(1000) == "1,000"
    assert inbox.count_label(1001) == "1,000+"
