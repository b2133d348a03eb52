"""Saved replies on the item page: the item's department's, in the conversation's language,
filled in for the author, into the reply box with or without the script."""

from __future__ import annotations

import html as markup
import re
from typing import Any

import httpx
import pytest

from support import CHROMIUM, log_in_browser


def _box(page_html: str) -> str:
    found = re.search(r'<textarea id="reply-text"[^>]*>(.*?)</textarea>', page_html, re.S)
    assert found, "no reply box"
    return markup.unescape(found.group(1))


def test_the_reply_box_offers_the_departments_saved_replies(
    site: Any, logged_in: httpx.Client
) -> None:
    site.feed(site.post("My kettle leaks", author={"name": "Jane <b>Okafor</b>"}))
    page = logged_in.get("/items/1").text
    assert '<label for="saved-reply">Saved reply</label>' in page
    assert ">Replacement on its way<" in page and ">Where to buy<" not in page  # sales'
    # Each saved reply is in the page, filled in and escaped, for the script to insert.
    assert "Sorry about that, Jane. We have sent a replacement" in page
    assert "Sofia, ACME Customer service" in page
    assert _box(page) == ""

    filled = _box(logged_in.get("/items/1", params={"saved": "replacement_sent"}).text)
    assert filled.startswith("Sorry about that, Jane. We have sent a replacement")
    assert filled.endswith("Sofia, ACME Customer service")
    assert _box(logged_in.get("/items/1", params={"saved": "no_such_reply"}).text) == ""


def test_a_german_conversation_gets_the_german_version(site: Any, logged_in: httpx.Client) -> None:
    site.feed(site.post("Mein Wasserkocher leckt", lang="de", author={"name": "Jonas Weber"}))
    page = logged_in.get("/items/1", params={"saved": "replacement_sent"}).text
    assert _box(page).startswith("Das tut uns leid, Jonas.")
    # A reply written only in English says so in the list.
    assert "Thank you for the kind words (en)" in page


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian Chromium is not installed")
def test_use_it_puts_the_saved_reply_at_the_cursor_and_it_can_be_sent(site: Any, page: Any) -> None:
    from playwright.sync_api import expect

    site.feed(site.post("My kettle leaks", author={"name": "Jane Okafor"}))
    log_in_browser(page, "sofia.rossi@acme.example")
    page.goto("/items/1")
    box = page.locator("#reply-text")
    box.fill("Hello Jane!")
    page.get_by_label("Saved reply").select_option(label="Let's take this to a private message")
    page.get_by_role("button", name="Use it").click()
    expect(box).to_have_value(re.compile(r"^Hello Jane! Thanks for telling us, Jane\. .*Sofia$"))
    assert page.url.endswith("/items/1")  # the script inserted it: no reload
    expect(box).to_be_focused()
    page.get_by_role("button", name=re.compile("Send reply|Save reply")).click()
    expect(page.locator("#replies .note-text").first).to_contain_text("Thanks for telling us")
