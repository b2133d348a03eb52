"""Planning on the calendar in Debian Chromium: drag a post to another day (an approved post
goes back to its approvers), keep 09:00 London across the clocks going forward, take the next
free slot when a cap refuses one, and move a post with the keyboard alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from support import CHROMIUM, log_in_browser
from townhall.db import session_factory, transaction
from townhall.models import Decision, OutboxPost, OutboxStatus, User
from townhall.publishing import drafts

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian Chromium is not installed at /usr/bin/chromium "
        "(make installs it: apt-get install chromium)",
    ),
]

DAN = "dan.murphy@acme.example"
SOFIA = "sofia.rossi@acme.example"


def _log_in(page: Any, email: str) -> None:
    # Tall enough for a whole month: a drag that has to scroll the page is not what we test.
    page.set_viewport_size({"width": 1280, "height": 1300})
    log_in_browser(page, email)


def _draft(
    site: Any, text: str, at: datetime, *, approve: bool = True, category: str | None = None
) -> int:
    """Dan's post on mastodon at ``at``, approved by Sofia unless ``approve`` is False."""
    with transaction(session_factory(site.engine)) as session:
        dan = session.scalar(select(User).where(User.email == DAN))
        sofia = session.scalar(select(User).where(User.email == SOFIA))
        assert dan is not None and sofia is not None
        post = drafts.create_draft(
            session, site.policy, channel="mastodon", text=text, author=dan, now=site.clock(),
            at=at, category=category,
        )  # fmt: skip
        assert post.status == OutboxStatus.DRAFT
        if approve:
            drafts.decide(session, site.policy, post.id, Decision.APPROVED, actor=sofia,
                          now=site.clock())  # fmt: skip
            assert post.status == OutboxStatus.SCHEDULED
        return post.id


def _stored(site: Any, outbox_id: int) -> OutboxPost:
    with session_factory(site.engine)() as session:
        post = session.get(OutboxPost, outbox_id)
        assert post is not None
        session.expunge(post)
        return post


def test_drag_to_another_day_keeps_the_time_and_asks_again(site: Any, page: Any) -> None:
    from playwright.sync_api import expect

    post_id = _draft(
        site, "Descaling tips for your kettle", datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    )
    _log_in(page, DAN)
    page.goto("/calendar?view=month&date=2026-11-24")
    entry = page.locator(f"#entry-post-{post_id}")
    expect(entry).to_contain_text("10:00")
    expect(entry).to_contain_text("scheduled")
    entry.drag_to(page.locator('.mday[data-drop-date="2026-11-26"]'))
    expect(page.locator("#notice")).to_have_text(
        "Moved to Thu 26 Nov 10:00; it goes back to Customer service approvers."
    )
    moved = page.locator('.mday[data-day="2026-11-26"]').locator(f"#entry-post-{post_id}")
    expect(moved).to_contain_text("10:00")
    expect(moved).to_contain_text("waiting for approval")
    stored = _stored(site, post_id)
    assert stored.scheduled_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert (stored.status, stored.step, stored.revision) == (OutboxStatus.DRAFT, 0, 2)
    # The chain asks Sofia again: the list says who, and her approval schedules it anew.
    page.goto("/calendar?view=list&date=2026-11-26&span=day")
    expect(page.locator(f"#entry-post-{post_id}")).to_contain_text(
        "waiting for Customer service approvers"
    )
    with transaction(session_factory(site.engine)) as session:
        sofia = session.scalar(select(User).where(User.email == SOFIA))
        drafts.decide(session, site.policy, post_id, Decision.APPROVED, actor=sofia,
                      now=site.clock())  # fmt: skip
    assert _stored(site, post_id).status == OutboxStatus.SCHEDULED
    assert page.dialogs == []


def test_nine_in_london_stays_nine_after_the_clocks_change(site: Any, page: Any) -> None:
    from playwright.sync_api import expect

    site.clock.now = datetime(2027, 3, 19, 12, 0, tzinfo=UTC)
    post_id = _draft(site, "Spring recipes", datetime(2027, 3, 26, 9, 0, tzinfo=UTC))
    others = [
        _draft(site, "Sunday 23:30 BST", datetime(2027, 3, 28, 22, 30, tzinfo=UTC), approve=False),
        _draft(site, "Monday 00:30 BST", datetime(2027, 3, 28, 23, 30, tzinfo=UTC), approve=False),
    ]
    _log_in(page, DAN)
    # The week shows exactly the posts the month shows for those days (the 23-hour Sunday
    # ends at 23:00 UTC: the post at 23:30 UTC is Monday's).
    page.goto("/calendar?view=week&date=2027-03-26")
    week = page.locator("#week [data-key]").evaluate_all("els => els.map(e => e.dataset.key)")
    assert sorted(week) == sorted(f"post-{i}" for i in (post_id, others[0]))
    page.goto("/calendar?view=month&date=2027-03-26")
    days = [f'.mday[data-day="2027-03-{d}"] [data-key]' for d in range(22, 29)]
    month = page.locator(", ".join(days)).evaluate_all("els => els.map(e => e.dataset.key)")
    assert sorted(month) == sorted(week)
    expect(page.locator('.mday[data-day="2027-03-29"]')).to_contain_text("Monday 00:30 BST")
    expect(page.locator("#zone-name")).to_have_text("Europe/London")
    entry = page.locator(f"#entry-post-{post_id}")
    expect(entry).to_contain_text("09:00")
    entry.drag_to(page.locator('.mday[data-drop-date="2027-03-29"]'))
    expect(page.locator("#notice")).to_contain_text("Moved to Mon 29 Mar 09:00")
    moved = page.locator('.mday[data-day="2027-03-29"]').locator(f"#entry-post-{post_id}")
    expect(moved).to_contain_text("09:00")
    assert _stored(site, post_id).scheduled_at == datetime(2027, 3, 29, 8, 0, tzinfo=UTC)


def test_a_cap_refuses_a_slot_and_offers_the_next_free_one(site: Any, page: Any) -> None:
    from playwright.sync_api import expect

    # At least 3 hours between promotional posts on a channel (a blocking cap in ACME).
    _draft(site, "AirFry 5: 20% off today", datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
           category="promotional")  # fmt: skip
    post_id = _draft(site, "KettleOne bundle deal", datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
                     category="promotional")  # fmt: skip
    _log_in(page, DAN)
    page.goto("/calendar?view=week&date=2026-11-24")
    page.locator(f"#entry-post-{post_id}").drag_to(
        page.locator('.slot[data-drop-date="2026-11-25"][data-drop-time="11:00"]')
    )
    problem = page.locator("#problem")
    expect(problem).to_contain_text("Not moved")
    expect(problem).to_contain_text("3 hours")
    assert _stored(site, post_id).scheduled_at == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    offer = page.locator("#take-next-free")
    expect(offer).to_contain_text("Move to ")
    label = offer.inner_text()
    match = re.fullmatch(r"Move to (\w{3}) (\d+) (\w{3}) (\d\d):(\d\d)", label)
    assert match is not None, label
    offer.click()
    expect(page.locator("#notice")).to_contain_text(f"Moved to {label.removeprefix('Move to ')}")
    at = _stored(site, post_id).scheduled_at
    assert at is not None
    assert at.strftime("%a %-d %b %H:%M") == label.removeprefix("Move to ")  # London is UTC now
    assert abs(at - datetime(2026, 11, 25, 10, 0, tzinfo=UTC)) >= timedelta(hours=3)


def test_move_with_the_keyboard(site: Any, page: Any) -> None:
    from playwright.sync_api import expect

    post_id = _draft(site, "Weekend opening hours", datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
                     approve=False)  # fmt: skip
    _log_in(page, DAN)
    page.goto("/calendar?view=week&date=2026-11-24")
    button = page.locator(f"#entry-post-{post_id} .move-button")
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#move-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#move-date")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.locator("#move-date").fill("2026-11-27")
    page.locator("#move-time").fill("15:30")
    page.locator("#move-time").press("Enter")
    expect(page.locator("#notice")).to_have_text("Moved to Fri 27 Nov 15:30.")
    slot = page.locator('.slot[data-drop-date="2026-11-27"][data-drop-time="15:00"]')
    expect(slot.locator(f"#entry-post-{post_id}")).to_contain_text("15:30")
    assert _stored(site, post_id).scheduled_at == datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
    # At phone width the week is a list of days: no hour grid, the post still there.
    page.set_viewport_size({"width": 390, "height": 800})
    expect(page.locator(".hour-labels")).to_be_hidden()
    expect(page.locator(f"#entry-post-{post_id}")).to_be_visible()
    expect(
        page.locator('.slot[data-drop-date="2026-11-26"][data-drop-time="10:00"]')
    ).to_be_hidden()
