"""Inbox queries: filters (combinable, search safe with % and _), paging, threads, counts."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from townhall.cases import repository
from townhall.cases.schemas import OPEN_STATUSES, InboxFilter
from townhall.models import Item, ItemStatus, User

MakeItem = Callable[..., Item]


def _ids(items: list[Item]) -> list[int]:
    return [item.id for item in items]


def test_filters_combine(session: Session, make_item: MakeItem) -> None:
    cs_masto = make_item("Kettle broke", channel="mastodon", department="customer_service")
    cs_sky = make_item("Kettle broke again", channel="bluesky", department="customer_service")
    pr_rss = make_item("ACME in the news", channel="rss", department="pr")
    done = make_item(
        "Kettle fixed", channel="mastodon", department="customer_service", status=ItemStatus.DONE
    )
    scope = [cs_masto.id, cs_sky.id, pr_rss.id, done.id]

    def found(flt: InboxFilter) -> list[int]:
        return [i for i in _ids(repository.list_items(session, flt)) if i in scope]

    assert found(InboxFilter()) == sorted(scope, reverse=True)
    assert found(InboxFilter(department="pr")) == [pr_rss.id]
    assert found(InboxFilter(department="customer_service", channel="mastodon")) == [
        done.id,
        cs_masto.id,
    ]
    assert found(InboxFilter(department="customer_service", statuses=OPEN_STATUSES)) == [
        cs_sky.id,
        cs_masto.id,
    ]
    assert found(InboxFilter(statuses=(ItemStatus.DONE,), text="kettle")) == [done.id]
    assert found(InboxFilter(channel="rss", text="kettle")) == []


def test_text_search_is_case_insensitive_over_text_and_handle(
    session: Session, make_item: MakeItem
) -> None:
    by_text = make_item("The AIRFRY5 smokes", handle="@zed@x.social")
    by_handle = make_item("hello", handle="@AirFryFan@bsky.example")
    other = make_item("nothing to see", handle="@qq@x.social")
    found = _ids(repository.list_items(session, InboxFilter(text="airfry")))
    assert by_text.id in found
    assert by_handle.id in found
    assert other.id not in found


def test_text_search_treats_percent_and_underscore_literally(
    session: Session, make_item: MakeItem
) -> None:
    percent = make_item("Got 50% off the blender", handle="@pct@x.social")
    plain = make_item("Got 500 off the blender", handle="@plain@x.social")
    underscore = make_item("see file_name please", handle="@us@x.social")
    lookalike = make_item("see fileXname please", handle="@look@x.social")
    found = _ids(repository.list_items(session, InboxFilter(text="50%")))
    assert percent.id in found and plain.id not in found
    found = _ids(repository.list_items(session, InboxFilter(text="file_name")))
    assert underscore.id in found and lookalike.id not in found
    assert repository.list_items(session, InboxFilter(text="%")) != []
    escape = make_item("a/b path", handle="@slash@x.social")
    assert _ids(repository.list_items(session, InboxFilter(text="a/b"))) == [escape.id]


def test_paging_and_items_after(session: Session, make_item: MakeItem) -> None:
    items = [make_item(f"paging-test {n}", department="hr") for n in range(5)]
    flt = InboxFilter(department="hr", text="paging-test")
    first = repository.list_items(session, flt, limit=2)
    assert _ids(first) == [items[4].id, items[3].id]
    second = repository.list_items(session, flt, limit=2, before_id=first[-1].id)
    assert _ids(second) == [items[2].id, items[1].id]
    after = repository.items_after(session, flt, items[1].id, limit=2)
    assert _ids(after) == [items[2].id, items[3].id]
    assert repository.count_items(session, flt) == 5
    # A bounded count stops one past its bound: enough to say "more than".
    assert repository.count_items(session, flt, up_to=3) == 4
    assert repository.count_items(session, flt, up_to=5) == 5
    assert repository.count_items(session, flt, up_to=9) == 5
    assert repository.latest_item_id(session) >= items[4].id


def test_thread_parent_replies_reshares(session: Session, make_item: MakeItem) -> None:
    root = make_item("root post", post_id="forum:root1", channel="forum")
    make_item("a reply", channel="forum", reply_to="forum:root1")
    make_item("", channel="forum", reshare_of="forum:root1")
    make_item("", channel="forum", reshare_of="forum:root1")
    thread = repository.thread_of(session, root.post)
    assert thread.parent is None
    assert [p.text for p in thread.replies] == ["a reply"]
    assert thread.reshares == 2
    reply_thread = repository.thread_of(session, thread.replies[0])
    assert reply_thread.parent is not None and reply_thread.parent.post_id == "forum:root1"


def test_counts_and_users(
    session: Session, make_item: MakeItem, make_user: Callable[..., User]
) -> None:
    posts, open_items = repository.count_posts(session), repository.count_open_items(session)
    make_item("open one")
    make_item("closed one", status=ItemStatus.DONE)
    assert repository.count_posts(session) == posts + 2
    assert repository.count_open_items(session) == open_items + 1
    make_user("zoe@acme.example", department="pr", name="Zoe")
    make_user("adam@acme.example", department="sales", name="Adam")
    make_user("old@acme.example", department="pr", name="Old", active=False)
    names = [u.name for u in repository.active_users(session, first_department="pr")]
    assert names.index("Zoe") < names.index("Adam")
    assert "Old" not in names
    assert "mastodon" in repository.channels(session)


def test_intent_and_sentiment_filters(session: Session, make_item: MakeItem) -> None:
    angry = make_item("Kettle broke", intent="complaint", sentiment_label="negative")
    asking = make_item("Does it fit?", intent="question", sentiment_label="neutral")
    unknown = make_item("Stored before understanding existed")
    scope = {angry.id, asking.id, unknown.id}

    def found(flt: InboxFilter) -> set[int]:
        return {i for i in _ids(repository.list_items(session, flt)) if i in scope}

    assert found(InboxFilter(intent="complaint")) == {angry.id}
    assert found(InboxFilter(sentiment="neutral")) == {asking.id}
    assert found(InboxFilter(intent="complaint", sentiment="neutral")) == set()
    assert found(InboxFilter()) == scope
