"""In Debian Chromium: an agent answers a Mastodon mention from the item page; the reply goes
out once to the (local) Mastodon server, and the item shows its link and the stopped clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support import CHROMIUM
from townhall.channels.service import ChannelListener
from townhall.config import Settings
from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.connectors.standin import LocalServer
from townhall.db import session_factory
from townhall.org.policy import Policy
from townhall.pipeline.runner import Pipeline

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian Chromium is not installed"),
]


@pytest.fixture
def policy(live_policy: Policy) -> Policy:
    """The ACME policy with its mastodon channel live on the local stand-in."""
    return live_policy


def test_an_agent_replies_to_a_mention_and_it_is_published_once(
    page: Any, site: Any, mastodon: tuple[MastodonStandin, LocalServer], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    standin, _ = mastodon
    standin.add_mention(
        "@priya@social.example", "my KettleOne lid won't click shut, help?", at=site.clock()
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

    page.goto("/login")
    page.get_by_label("E-mail").fill("sofia.rossi@acme.example")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto("/items/1")
    expect(page.locator("#sla-state")).to_contain_text("first response")
    page.get_by_role("textbox", name="Reply").fill("Sorry Priya! Try pressing the hinge pin.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".reply-status").first).to_have_text("approved, going out")

    site.work_queues()  # the server's background pass: the publisher sends it
    site.work_queues()  # and a second pass sends nothing more
    page.reload()

    expect(page.locator(".reply-status").first).to_have_text("published")
    assert len(standin.published) == 1
    sent = standin.published[0]
    assert sent["in_reply_to_id"] is not None and "hinge pin" in sent["content"]
    expect(page.locator(".reply-link")).to_have_attribute("href", sent["url"])
    expect(page.locator("#sla-state")).not_to_contain_text("first response")
    assert page.dialogs == []
