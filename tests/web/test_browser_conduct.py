"""In Debian Chromium: an agent without the publish right answers a Mastodon mention with a
customer's phone number and a promise of a refund, sees both findings marked as she types,
fixes them and sends; the customer service approver approves on the Drafts page; the reply
is published once on the (local) Mastodon server and the item links to it.

Set ``TOWNHALL_SCREENSHOTS`` to a folder (e.g. docs/screenshots) to keep the composer's and
the Drafts page's and the draft's screenshots, at desktop and at 390 px phone width."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from support import CHROMIUM, TEST_PASSWORD, log_in_browser
from townhall.channels.service import ChannelListener
from townhall.config import Settings
from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.connectors.standin import LocalServer
from townhall.db import session_factory, transaction
from townhall.models import Role
from townhall.org.accounts import upsert_user
from townhall.org.policy import Policy
from townhall.pipeline.runner import Pipeline

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian Chromium is not installed"),
]

PASSWORD = TEST_PASSWORD
PHONE = "+44 20 7946 0958"
BAD = f"So sorry Priya! Call me on {PHONE} and we will give you a full refund."
FIXED = "So sorry Priya! Please send us a private message with your order and we will sort it out."
PHONE_WIDTH = 390


@pytest.fixture
def policy(live_policy: Policy) -> Policy:
    """The ACME policy with its mastodon channel live on the local stand-in."""
    return live_policy


def screenshots(page: Any, name: str, tmp_path: Path) -> None:
    """``name``.png at the page's width and ``name``-phone.png at 390 px, in the folder
    ``TOWNHALL_SCREENSHOTS`` names (else the test's temporary folder)."""
    folder = Path(os.environ.get("TOWNHALL_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(folder / f"{name}.png"))
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    page.screenshot(path=str(folder / f"{name}-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size(size)
    assert width <= PHONE_WIDTH, f"{name} is {width} px wide at {PHONE_WIDTH} px"


def log_in(page: Any, email: str) -> None:
    log_in_browser(page, email)


def test_an_agent_fixes_what_the_code_of_conduct_finds_and_the_approver_lets_it_out(
    page: Any, site: Any, mastodon: tuple[MastodonStandin, LocalServer], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    standin, _ = mastodon
    standin.add_mention(
        "@priya@social.example",
        "My KettleOne lid broke after a week. I want my money back!",
        at=site.clock(),
    )
    listener = ChannelListener(
        site.policy.channel("mastodon"),
        session_factory(site.engine),
        Pipeline(session_factory(site.engine), site.policy),
        lambda: site.policy,
        Settings(home=tmp_path),
        site.clock,
    )
    assert listener.once().stored == 1
    listener.close()
    with transaction(session_factory(site.engine)) as session:
        upsert_user(
            session,
            email="aiko.tanaka@acme.example",
            name="Aiko Tanaka",
            department="customer_service",
            role=Role.MEMBER,
            password=PASSWORD,
            now=datetime.now(UTC),
        )

    # Aiko writes; the findings appear as she types, marked in her text.
    log_in(page, "aiko.tanaka@acme.example")
    page.goto("/items/1")
    box = page.get_by_role("textbox", name="Reply")
    box.fill(BAD)
    findings = page.locator("#reply-findings")
    send = page.get_by_role("button", name="Send reply")
    expect(findings.locator("mark.finding-block")).to_contain_text(PHONE)
    expect(findings.locator("mark.finding-needs_approval")).to_contain_text("full refund")
    expect(findings.locator(".finding-item")).to_have_count(2)
    expect(findings).to_contain_text("This cannot be sent yet.")
    expect(send).to_be_disabled()
    page.locator("#replies").scroll_into_view_if_needed()
    screenshots(page, "composer", tmp_path)

    # She fixes both, from the keyboard, and sends.
    box.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(FIXED)
    expect(findings).to_contain_text("The code of conduct finds nothing to change.")
    expect(findings.locator("mark")).to_have_count(0)
    expect(send).to_be_enabled()
    send.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".reply-status").first).to_have_text("waiting for approval")
    assert standin.published == []

    # Sofia approves it from the Drafts page.
    page.get_by_role("button", name="Log out").click()
    log_in(page, "sofia.rossi@acme.example")
    expect(page.locator("#drafts-link .nav-count")).to_have_text("1")
    page.locator("#drafts-link").click()
    page.wait_for_url("**/drafts")
    row = page.locator("#draft-rows li.draft-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Aiko Tanaka")
    expect(row).to_contain_text("waits for Customer service approvers (Sofia Rossi)")
    screenshots(page, "drafts", tmp_path)
    row.locator("a").click()
    page.wait_for_url("**/drafts/*")
    expect(page.locator(".draft-text")).to_have_text(FIXED)
    expect(page.locator("#chain")).to_contain_text("deciding now")
    screenshots(page, "draft", tmp_path)
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#draft-status")).to_have_text("approved, going out")

    site.work_queues()  # the server's background pass: the publisher sends it
    site.work_queues()  # and a second pass sends nothing more
    assert len(standin.published) == 1
    sent = standin.published[0]
    assert sent["in_reply_to_id"] is not None and "private message" in sent["content"]
    page.goto("/items/1")
    expect(page.locator(".reply-status").first).to_have_text("published")
    expect(page.locator(".reply-link")).to_have_attribute("href", sent["url"])
    assert page.dialogs == []
