"""Triage order, the sort parameter, paging in every order, and bulk actions."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from townhall.cases import repository
from townhall.cases.schemas import InboxFilter
from townhall.db import session_factory, transaction
from townhall.models import AuditEvent, CrisisRoom, CrisisStatus, Item, ItemStatus
from townhall.web import inbox


def _row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-item-id="(\d+)"', html)]


def _set(site: Any, item_id: int, **fields: Any) -> None:
    with transaction(session_factory(site.engine)) as session:
        item = session.get(Item, item_id)
        assert item is not None
        for name, value in fields.items():
            setattr(item, name, value)


def _open_room(site: Any, status: CrisisStatus = CrisisStatus.ACTIVE) -> int:
    now = site.clock()
    with transaction(session_factory(site.engine)) as session:
        room = CrisisRoom(
            title="Melted basket",
            story="melted-basket",
            status=status,
            lead_department="pr",
            opened_at=now,
            opened_by="radar",
            updated_at=now,
        )
        session.add(room)
        session.flush()
        return room.id


def _feed_five(site: Any) -> None:
    """Five customer-service items; #1 is the oldest."""
    site.feed(*[site.post(f"kettle trouble {n}") for n in range(5)])


def test_triage_puts_crisis_then_priority_then_due_then_age(
    site: Any, logged_in: httpx.Client
) -> None:
    _feed_five(site)
    now = site.clock()
    for item_id in range(1, 6):
        _set(site, item_id, priority="normal", first_response_due_at=now + timedelta(hours=4))
    _set(site, 2, first_response_due_at=now - timedelta(hours=1))  # overdue, normal
    _set(site, 4, priority="urgent", first_response_due_at=now + timedelta(hours=2))
    _set(site, 5, priority="urgent", first_response_due_at=now - timedelta(minutes=5))
    _set(site, 1, priority="low")
    room = _open_room(site)
    _set(site, 3, crisis_id=room)
    assert _row_ids(logged_in.get("/inbox").text) == [3, 5, 4, 2, 1]
    # A resolved room no longer pulls its items up.
    with transaction(session_factory(site.engine)) as session:
        found = session.get(CrisisRoom, room)
        assert found is not None
        found.status = CrisisStatus.RESOLVED
    assert _row_ids(logged_in.get("/inbox").text) == [5, 4, 2, 3, 1]
    assert _row_ids(logged_in.get("/inbox?sort=newest").text) == [5, 4, 3, 2, 1]
    assert _row_ids(logged_in.get("/inbox?sort=oldest").text) == [1, 2, 3, 4, 5]
    assert _row_ids(logged_in.get("/inbox?sort=due").text) == [2, 5, 4, 1, 3]


def test_due_sort_follows_the_resolution_clock_once_answered(
    site: Any, logged_in: httpx.Client
) -> None:
    site.feed(site.post("one"), site.post("two"))
    now = site.clock()
    _set(
        site,
        1,
        first_response_due_at=now + timedelta(hours=1),
        resolution_due_at=now + timedelta(hours=9),
    )
    _set(
        site,
        2,
        first_response_due_at=now - timedelta(hours=1),
        first_responded_at=now - timedelta(hours=2),
        resolution_due_at=now + timedelta(hours=3),
    )
    assert _row_ids(logged_in.get("/inbox?sort=due").text) == [1, 2]
    _set(site, 1, first_responded_at=now)
    assert _row_ids(logged_in.get("/inbox?sort=due").text) == [2, 1]


def test_items_without_a_due_time_come_last(site: Any) -> None:
    site.feed(site.post("a"), site.post("b"))
    _set(site, 1, first_response_due_at=None, resolution_due_at=None)
    _set(site, 2, first_response_due_at=site.clock() + timedelta(days=3))
    with session_factory(site.engine)() as session:
        found = repository.list_items(session, InboxFilter(), sort="due")
        assert [item.id for item in found] == [2, 1]
        with pytest.raises(ValueError):
            repository.list_items(session, InboxFilter(), sort="sideways")


def test_the_sort_is_visible_and_kept_in_links(site: Any, logged_in: httpx.Client) -> None:
    site.feed(site.post("kettle"))
    page = logged_in.get("/inbox").text
    assert '<option value="triage" selected>What to do first</option>' in page
    assert 'class="sorted">What to do first<' in page
    due = logged_in.get("/inbox?sort=due").text
    assert '<option value="due" selected>' in due
    assert "sort=due" in due  # the stream and "load more" keep the order


@pytest.mark.parametrize(("field", "value"), [("sort", "sideways"), ("sort", "TRIAGE")])
def test_a_bad_sort_is_a_422_naming_it(
    site: Any, logged_in: httpx.Client, field: str, value: str
) -> None:
    response = logged_in.get("/inbox", params={field: value})
    assert response.status_code == 422
    assert "sort:" in response.text and "Traceback" not in response.text


def test_load_more_start_is_bounded(site: Any, logged_in: httpx.Client) -> None:
    for value in ("-1", "x", "1e3"):
        response = logged_in.get("/inbox/rows", params={"start": value, "sort": "due"})
        assert response.status_code == 422 and "start:" in response.text
    too_deep = logged_in.get("/inbox/rows", params={"start": inbox.MAX_START + 1, "sort": "due"})
    assert too_deep.status_code == 422 and "start:" in too_deep.text


@pytest.mark.parametrize("sort", ["triage", "oldest", "due", "newest"])
def test_paging_visits_every_item_once_in_each_order(
    site: Any, logged_in: httpx.Client, monkeypatch: Any, sort: str
) -> None:
    monkeypatch.setattr(inbox, "PAGE_SIZE", 2)
    _feed_five(site)
    _set(site, 3, priority="urgent")
    page = logged_in.get("/inbox", params={"sort": sort}).text
    seen = _row_ids(page)
    while True:
        link = re.search(r'hx-get="/inbox/rows\?([^"]+)"', page)
        if link is None:
            break
        page = logged_in.get("/inbox/rows?" + link.group(1).replace("&amp;", "&")).text
        seen += _row_ids(page)
    assert sorted(seen) == [1, 2, 3, 4, 5] and len(seen) == 5
    with session_factory(site.engine)() as session:
        flt = InboxFilter(department="customer_service")
        expected = [item.id for item in repository.list_items(session, flt, sort=sort)]
    assert seen == expected
    if sort == "triage":
        assert seen[0] == 3


@pytest.mark.parametrize("sort", ["triage", "due"])
def test_an_item_that_moves_up_between_pages_is_not_shown_twice(
    site: Any, logged_in: httpx.Client, monkeypatch: Any, sort: str
) -> None:
    monkeypatch.setattr(inbox, "PAGE_SIZE", 2)
    _feed_five(site)
    page = logged_in.get("/inbox", params={"sort": sort}).text
    first = _row_ids(page)
    link = re.search(r'hx-get="/inbox/rows\?([^"]+)"', page)
    assert link is not None and "after=" in link.group(1)
    # One of the first page's items becomes the most pressing before "Load more": by position
    # the next page would start one row later than it should and show a row again.
    shown = first[-1]
    _set(site, shown, priority="urgent", first_response_due_at=site.clock() - timedelta(days=9))
    seen = list(first)
    while link is not None:
        page = logged_in.get("/inbox/rows?" + link.group(1).replace("&amp;", "&")).text
        seen += _row_ids(page)
        link = re.search(r'hx-get="/inbox/rows\?([^"]+)"', page)
    assert len(seen) == len(set(seen)) == 5, seen


def _bulk(client: httpx.Client, site: Any, **data: Any) -> httpx.Response:
    token = site.csrf_of(client.get("/inbox").text)
    return client.post("/inbox/bulk", data={**data, "csrf_token": token})


def _audit(site: Any, action: str) -> list[str]:
    with session_factory(site.engine)() as session:
        query = select(AuditEvent.subject_id).where(AuditEvent.action == action)
        return sorted(session.scalars(query))


def test_bulk_assign_to_me_writes_one_audit_entry_per_item(
    site: Any, logged_in: httpx.Client
) -> None:
    _feed_five(site)
    before = _audit(site, "item.assigned")
    response = _bulk(logged_in, site, action="assign_me", ids=["1", "3", "3"], back="/inbox?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/inbox?x=1&done=2&skipped=0"
    assert _audit(site, "item.assigned") == sorted([*before, "1", "3"])
    mine = logged_in.get("/inbox?owner=me&sort=oldest")
    assert _row_ids(mine.text) == [1, 3]
    # Doing it again skips both (they are already mine) and writes nothing.
    again = _bulk(logged_in, site, action="assign_me", ids=["1", "3"])
    assert again.headers["location"] == "/inbox?done=0&skipped=2"
    assert _audit(site, "item.assigned") == sorted([*before, "1", "3"])
    notice = logged_in.get(again.headers["location"]).text
    assert "0 items changed; 2 skipped" in notice


def test_bulk_assign_to_someone_close_and_spam(site: Any, logged_in: httpx.Client) -> None:
    _feed_five(site)
    page = logged_in.get("/inbox").text
    other = re.findall(r'<option value="(\d+)">([^<]+)</option>', page)
    person = next(pid for pid, label in other if "Sofia" not in label)
    assert _bulk(logged_in, site, action="assign", ids=["2"], assignee=person).status_code == 303
    assert _row_ids(logged_in.get(f"/inbox?owner={person}").text) == [2]
    closed = _bulk(logged_in, site, action="no_reply", ids=["4", "5"])
    assert closed.headers["location"].endswith("done=2&skipped=0")
    spam = _bulk(logged_in, site, action="spam", ids=["1", "5"])
    assert spam.headers["location"].endswith("done=1&skipped=1")  # 5 was already done
    assert _row_ids(logged_in.get("/inbox?sort=oldest").text) == [2, 3]
    with session_factory(site.engine)() as session:
        whys = dict(
            session.execute(
                select(AuditEvent.subject_id, AuditEvent.why).where(
                    AuditEvent.action == "item.status_changed"
                )
            ).all()
        )
        spam_item = session.get(Item, 1)
        assert spam_item is not None and "spam" in spam_item.tags
    assert "no reply needed" in whys["4"] and "spam" in whys["1"]
    # What was closed without a reply has views of its own, out of the queues.
    assert _row_ids(logged_in.get("/inbox?status=no_reply&sort=oldest").text) == [4, 5]
    assert _row_ids(logged_in.get("/inbox?status=spam").text) == [1]


def test_the_no_reply_view_holds_closed_chatter_not_open_items_with_the_tag(
    site: Any, logged_in: httpx.Client
) -> None:
    _feed_five(site)
    _set(site, 1, status=ItemStatus.DONE, tags=["no_reply_needed"])  # closed by the policy
    _set(site, 2, tags=["no_reply_needed"])  # reopened by someone: back in the queue
    _set(site, 3, status=ItemStatus.DONE, tags=["spam"])
    page = logged_in.get("/inbox?status=no_reply")
    assert page.status_code == 200
    assert _row_ids(page.text) == [1]
    assert '<option value="no_reply" selected>No reply needed</option>' in page.text
    assert 1 not in _row_ids(logged_in.get("/inbox").text)
    assert 2 in _row_ids(logged_in.get("/inbox").text)


def test_bulk_is_refused_without_csrf_or_with_bad_values(
    site: Any, logged_in: httpx.Client
) -> None:
    _feed_five(site)
    no_token = logged_in.post("/inbox/bulk", data={"action": "spam", "ids": ["1"]})
    assert no_token.status_code == 403
    for data, field in [
        ({"action": "burn", "ids": ["1"]}, "action"),
        ({"action": "spam", "ids": ["one"]}, "ids"),
        ({"action": "spam"}, "ids"),
        ({"action": "assign", "ids": ["1"], "assignee": "me!"}, "assignee"),
    ]:
        response = _bulk(logged_in, site, **data)
        assert response.status_code == 422, (data, response.status_code)
        assert f"{field}:" in response.text
    assert _audit(site, "item.status_changed") == []
    # An outside "back" address is not followed.
    away = _bulk(logged_in, site, action="spam", ids=["1"], back="https://evil.example/inbox")
    assert away.headers["location"] == "/inbox?done=1&skipped=0"
