"""A person's morning in the inbox, in Debian Chromium: log in, watch items arrive, triage one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from support import CHROMIUM, log_in_browser

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian Chromium is not installed at /usr/bin/chromium "
        "(make installs it: apt-get install chromium)",
    ),
]


def _log_in(page: Any, email: str = "sofia.rossi@acme.example") -> None:
    log_in_browser(page, email)


def test_triage_an_item_live(site: Any, page: Any) -> None:
    from playwright.sync_api import expect

    _log_in(page)
    rows = page.locator("#item-rows li.row")
    expect(page.locator(".list-title")).to_have_text("Customer service")
    expect(rows).to_have_count(0)

    site.feed(
        site.post("My KettleOne stopped heating after a week. Anyone else?"),
        site.post("Press enquiry about the AirFry 5", channel="rss"),  # goes to PR
        site.post(XSS, channel="bluesky"),
    )
    expect(rows).to_have_count(2)
    expect(page.locator(".count-badge")).to_have_text("2")
    expect(rows.filter(has_text=XSS)).to_have_count(1)
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("#item-rows script").count() == 0

    site.feed(site.post("Second wave: my kettle too"))
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="Second wave")).to_have_count(1)

    page.get_by_text("My KettleOne stopped heating").click()
    page.wait_for_url("**/items/1")
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#assignee")).to_have_text("Sofia Rossi")
    page.get_by_role("button", name="Start working").click()
    expect(page.locator(".item-title .status")).to_have_text("In progress")
    page.get_by_role("button", name="Mark done").click()
    expect(page.locator("#notice")).to_have_text(
        "Item #1 is done. This is the next one in the queue."
    )
    page.goto("/items/1")
    expect(page.locator(".item-title .status")).to_have_text("Done")
    expect(page.locator(".history")).to_contain_text("moved the item to done")

    page.goto("/inbox?status=any")
    expect(page.locator("#item-rows li.row").filter(has_text=XSS)).to_have_count(1)
    assert page.locator("img[src=x]").count() == 0
    assert page.dialogs == []


def _order(page: Any) -> list[str]:
    return page.locator("#item-rows li.row").evaluate_all(
        "rows => rows.map(row => row.dataset.itemId)"
    )


@pytest.mark.parametrize("sort", ["triage", "newest", "oldest", "due"])
def test_live_rows_take_their_place_in_the_order(site: Any, page: Any, sort: str) -> None:
    from playwright.sync_api import expect

    site.feed(
        site.post("URGENT: my AirFry 5 is smoking, the basket melted"),
        site.post("How do I descale a KettleOne?"),
    )
    _log_in(page)
    page.goto(f"/inbox?department=all&sort={sort}")
    rows = page.locator("#item-rows li.row")
    expect(rows).to_have_count(2)
    site.clock.advance(timedelta(minutes=5))
    site.feed(
        site.post("Thanks ACME, the new kettle is lovely"),
        site.post("My AirFry 5 caught fire in the kitchen, this is dangerous!"),
        site.post("Where can I buy the Blender Pro?", channel="bluesky"),
    )
    expect(rows).to_have_count(5)
    live = _order(page)
    page.reload()
    expect(rows).to_have_count(5)
    assert live == _order(page)  # the live list is in the order the server sorts by
    assert page.dialogs == []


def test_filters_swap_the_list_and_keep_it_live(site: Any, page: Any) -> None:
    from playwright.sync_api import expect

    site.feed(site.post("Blender Pro question"), site.post("Forum recipe", channel="forum"))
    _log_in(page)
    page.get_by_label("Department").select_option("all")
    expect(page.locator("#item-rows li.row")).to_have_count(2)
    page.get_by_role("searchbox", name="Search").fill("recipe")
    expect(page.locator("#item-rows li.row")).to_have_count(1)
    assert "q=recipe" in page.url
    site.feed(site.post("Another recipe idea", channel="forum"), site.post("no match here"))
    expect(page.locator("#item-rows li.row")).to_have_count(2)
    expect(page.locator(".count-badge")).to_have_text("2")
    assert page.dialogs == []


def test_a_reassigned_item_breaches_its_sla_and_escalates(site: Any, page: Any) -> None:
    from playwright.sync_api import expect

    site.feed(site.post("My KettleOne lid will not close"))
    site.work_queues()  # Sofia has the fewest items: she gets it
    _log_in(page)
    page.goto("/items/1")
    expect(page.locator("#assignee")).to_have_text("Sofia Rossi")

    page.get_by_label("Assign to").select_option(label="Dan Murphy")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#assignee")).to_have_text("Dan Murphy")
    expect(page.locator("#sla-state")).to_have_text("first response due in 1 h")

    site.clock.advance(timedelta(minutes=61))  # nobody took it up within the hour
    site.work_queues()
    page.reload()

    expect(page.locator("#assignee")).to_have_text("Sofia Rossi")
    expect(page.locator("#sla-state")).to_have_text("first response overdue by 1 min")
    expect(page.locator(".history")).to_contain_text(
        "The first response SLA ran out (15:00 UTC), so it escalates to the approver of "
        "Customer service"
    )
    page.goto("/inbox?sla=breached")
    row = page.locator("#item-rows li.row")
    expect(row).to_have_count(1)
    expect(row.locator(".escalated")).to_have_text("escalated ×1")
    page.goto("/teams")
    expect(page.locator("#dept-customer_service td").nth(4)).to_have_text("1")
    assert page.dialogs == []


def test_our_story_the_crisis_room_opens_and_a_reply_waits_for_pr(site: Any, page: Any) -> None:
    """The owners'-club post arrives, its risk rises, the room opens, a reply is held."""
    from playwright.sync_api import expect
    from sqlalchemy import select

    from townhall.connectors.simulator.scenario import generate_day
    from townhall.db import session_factory
    from townhall.models import CrisisRoom, Item, PostRecord

    day = generate_day(seed=7, start=datetime(2026, 11, 20, tzinfo=UTC))
    morning = [
        p
        for p in day
        if p.created_at.hour < 9 or (p.created_at.minute < 40 and p.created_at.hour == 9)
    ]
    site.feed_understood(morning)  # up to 09:40: the post is out, the radar only watches
    _log_in(page, "dan.murphy@acme.example")
    expect(page.locator("#crisis-link")).to_have_text("Crises")

    later = [p for p in day if p not in morning and p.created_at.hour < 11]
    site.feed_understood(later)  # to 11:00: replies and reshares pile up, the risk rises
    expect(page.locator("#crisis-link .crisis-count")).to_have_text("1")  # live, no reload

    page.locator("#crisis-link").click()
    page.locator("#rooms a").first.click()
    expect(page.locator("#room-status")).to_have_text("watching")
    expect(page.locator("#assessment")).to_contain_text("Chance it goes viral")
    expect(page.locator("#question-contacted")).to_contain_text("Owner: Customer service")
    expect(page.locator("#timeline")).to_contain_text("ACME owners club")

    with session_factory(site.engine)() as session:
        room = session.scalars(select(CrisisRoom)).one()
        item_id = session.scalar(
            select(Item.id).join(Item.post).where(PostRecord.post_id == room.story)
        )
    page.goto(f"/items/{item_id}")
    expect(page.locator(".crisis-banner")).to_contain_text("public replies wait for")
    page.get_by_role("textbox", name="Reply").fill("So sorry to see this! We are on it.")
    page.get_by_role("button", name="Save reply").click()
    expect(page.locator(".reply-status").first).to_have_text("waiting for approval")

    page.get_by_role("button", name="Log out").click()
    _log_in(page, "grace.lindqvist@acme.example")
    page.goto(f"/crises/{room.id}")
    expect(page.locator("#held")).to_contain_text("Approve after the cool-down")
    site.clock.advance(timedelta(minutes=31))
    page.reload()
    expect(page.locator("#held")).to_contain_text("So sorry to see this! We are on it.")
    expect(page.locator("#held").get_by_role("button", name="Approve")).to_be_visible()
    assert page.dialogs == []
