"""Triage in Chromium: what to do first is on top, bulk actions, the keyboard, phone width."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from support import CHROMIUM, log_in_browser
from townhall.db import session_factory, transaction
from townhall.models import Item

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


def _set(site: Any, item_id: int, **fields: Any) -> None:
    with transaction(session_factory(site.engine)) as session:
        item = session.get(Item, item_id)
        assert item is not None
        for name, value in fields.items():
            setattr(item, name, value)


def _feed(site: Any, count: int) -> None:
    site.feed(*[site.post(f"Kettle complaint number {n}") for n in range(1, count + 1)])


def test_an_overdue_urgent_item_comes_first(site: Any, page: Any) -> None:
    from playwright.sync_api import expect

    _feed(site, 4)
    now = site.clock()
    for item_id in range(1, 5):
        _set(site, item_id, priority="normal", first_response_due_at=now + timedelta(hours=3))
    _set(site, 3, priority="urgent", first_response_due_at=now - timedelta(minutes=20))
    _log_in(page)
    rows = page.locator("#item-rows li.row")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Kettle complaint number 3")
    expect(rows.first.locator(".priority-urgent")).to_be_visible()
    expect(page.locator(".sorted")).to_have_text("What to do first")
    # Choosing another order applies at once (no Apply click) and the address can be shared.
    page.locator("#filters select[name=sort]").select_option("newest")
    page.wait_for_url("**sort=newest**")
    expect(rows.first).to_contain_text("Kettle complaint number 4")
    page.reload()
    expect(rows.first).to_contain_text("Kettle complaint number 4")


def test_bulk_close_as_no_reply_needed(site: Any, page: Any) -> None:
    from playwright.sync_api import expect

    _feed(site, 3)
    _log_in(page)
    rows = page.locator("#item-rows li.row")
    expect(rows).to_have_count(3)
    page.get_by_label("Select item #1").check()
    page.get_by_label("Select item #2").check()
    page.locator("#bulk-action").select_option("no_reply")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator(".notice")).to_have_text("2 items changed.")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Kettle complaint number 3")


def test_keyboard_moves_opens_and_assigns(site: Any, page: Any) -> None:
    from playwright.sync_api import expect

    _feed(site, 3)
    _log_in(page)
    rows = page.locator("#item-rows li.row")
    expect(rows).to_have_count(3)
    page.locator("#q").click()
    page.keyboard.type("j")  # typing in the search box is not a shortcut
    expect(page.locator("#item-rows li.row.current")).to_have_count(0)
    page.locator("#q").fill("")
    page.locator(".list-title").click()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("j")
    current = page.locator("#item-rows li.row.current")
    expect(current).to_have_count(1)
    second = rows.nth(1).get_attribute("data-item-id")
    expect(current).to_have_attribute("data-item-id", second or "")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    expect(page.locator("#shortcuts")).to_contain_text("Assign the item to me")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()
    page.keyboard.press("a")  # the current row is still the second
    expect(page.locator(".notice")).to_have_text("1 item changed.")
    expect(page.locator(f"#item-{second} .row-owner")).to_have_text("Owner: Sofia Rossi")
    page.locator(".list-title").click()
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url("**/items/*")


def test_phone_width_has_a_menu_and_no_horizontal_scroll(
    site: Any, browser: Any, live_server: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    site.feed(
        site.post("A long complaint " + "about the kettle " * 30),
        site.post("https://example.com/" + "x" * 200),
    )
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        _log_in(page)
        expect(page.locator("#item-rows li.row")).to_have_count(2)
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
        )
        if widths != [390, 390, 390]:
            wide = page.evaluate(
                """[...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > 391)
                .slice(0, 8).map(e => e.tagName + '.' + e.className + ' '
                + Math.round(e.getBoundingClientRect().right))"""
            )
            raise AssertionError(f"page wider than the screen: {widths}; widest: {wide}")
        crises = page.locator(".topnav").get_by_role("link", name="Crises")
        expect(crises).to_be_hidden()
        expect(page.locator(".filters-fold")).not_to_have_attribute("open", "")
        page.get_by_role("button", name="Menu").click()
        expect(crises).to_be_visible()
        expect(page.locator(".topnav").get_by_role("link", name="Drafts")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") == 390
        page.screenshot(path=str(tmp_path / "inbox-390-menu.png"))
        print(f"screenshots: {tmp_path}")
        # The skip link is the first stop of the keyboard and lands on the page's content.
        page.goto("/inbox")
        page.screenshot(path=str(tmp_path / "inbox-390.png"), full_page=True)
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to content")
        expect(skip).to_be_focused()
        expect(skip).to_be_in_viewport()
        page.keyboard.press("Enter")
        expect(page.locator("main#main")).to_be_focused()
    finally:
        context.close()
