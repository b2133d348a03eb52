"""The Bluesky connector through the atproto SDK against the stand-in PDS on loopback."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from townhall.connectors.base import Credentials, Listener, Outgoing, Publisher
from townhall.connectors.bluesky.connector import BlueskyConnector
from townhall.connectors.bluesky.standin import REMOVE, BlueskyStandin
from townhall.connectors.standin import LocalServer, free_port
from townhall.errors import (
    ChannelAuthError,
    ChannelRateLimitedError,
    ChannelRejectedError,
    ChannelUnavailableError,
    OutcomeUnknownError,
)

ConnectorFactory = Callable[..., BlueskyConnector]
SessionStore = Any


def test_contract_and_check(
    connect: ConnectorFactory, standin: BlueskyStandin, server: LocalServer
):
    connector = connect()
    assert isinstance(connector, Listener) and isinstance(connector, Publisher)
    assert connector.check() == f"acme.example ({standin.account.did}) on {server.url}"
    assert standin.create_session_calls == 1


def test_wrong_app_password_tells_where_to_create_one(connect: ConnectorFactory):
    with pytest.raises(ChannelAuthError, match="Privacy and security → App passwords"):
        connect(secret="wrong").check()


def test_first_run_then_nothing_new(connect: ConnectorFactory, standin: BlueskyStandin):
    own = standin.add_account_post("Our new KettleOne is out")
    standin.add_actor("bob.bsky.social", "Bob", followers=1200)
    standin.add_mention(
        "bob.bsky.social",
        "@acme.example where is my order?",
        created_at="2026-11-20T14:00:00.000Z",
        langs=["en"],
    )
    reply = standin.add_reply(
        "carol.bsky.social", "Love it", own.uri, created_at="2026-11-20T14:01:00.000Z"
    )
    standin.add_quote(
        "dan.bsky.social", "Look at this", own.uri, created_at="2026-11-20T14:02:00.000Z"
    )
    connector = connect()
    first = connector.fetch_new({})
    assert [(p.author.handle, p.text, p.extra["reason"]) for p in first.posts] == [
        ("bob.bsky.social", "@acme.example where is my order?", "mention"),
        ("carol.bsky.social", "Love it", "reply"),
        ("dan.bsky.social", "Look at this", "quote"),
    ]
    bob, carol, dan = first.posts
    assert bob.id == f"bluesky:{standin.post(bob.external_id).uri}"
    assert (bob.author.name, bob.author.followers, bob.lang) == ("Bob", 1200, "en")
    assert bob.created_at == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    assert bob.extra["cid"] == standin.post(bob.external_id).cid
    assert carol.reply_to == f"bluesky:{own.uri}" and carol.id == f"bluesky:{reply.uri}"
    assert dan.extra["quote_of"] == f"bluesky:{own.uri}"
    assert first.rejected == []
    assert first.cursor["notifications"]["uris"] == [dan.external_id]

    second = connector.fetch_new(first.cursor)
    assert (second.posts, second.rejected) == ([], [])
    assert second.cursor == first.cursor

    standin.add_mention("erin.bsky.social", "hello again")
    third = connector.fetch_new(second.cursor)
    assert [p.text for p in third.posts] == ["hello again"]
    assert standin.create_session_calls == 1


def test_pages_back_to_the_bookmark(connect: ConnectorFactory, standin: BlueskyStandin):
    standin.add_mention("a.bsky.social", "old one")
    connector = connect()
    cursor = connector.fetch_new({}).cursor
    for n in range(120):  # three pages of 50
        standin.add_mention(f"u{n}.bsky.social", f"mention {n}")
    fetched = connector.fetch_new(cursor)
    assert [p.text for p in fetched.posts] == [f"mention {n}" for n in range(120)]
    assert standin.requests.count("app.bsky.notification.listNotifications") == 1 + 3
    assert standin.requests.count("app.bsky.actor.getProfiles") == 1 + 5  # 120 authors / 25


def test_first_run_takes_the_newest_page_only(connect: ConnectorFactory, standin: BlueskyStandin):
    for n in range(60):
        standin.add_mention("a.bsky.social", f"m{n}")
    fetched = connect().fetch_new({})
    assert [p.text for p in fetched.posts] == [f"m{n}" for n in range(10, 60)]


def test_search_and_hashtags_with_since(connect: ConnectorFactory, standin: BlueskyStandin):
    standin.add_search_post(
        "f.bsky.social", "my kettle whistles", created_at="2026-11-20T10:00:00Z"
    )
    standin.add_search_post("g.bsky.social", "#AirFry5 rocks", created_at="2026-11-20T10:01:00Z")
    standin.add_account_post("our kettle #AirFry5")  # our own posts are not listened to
    connector = connect(search=["kettle"], hashtags=["AirFry5"], mentions=False)
    first = connector.fetch_new({})
    assert [(p.text, p.extra["query"]) for p in first.posts] == [
        ("my kettle whistles", "kettle"),
        ("#AirFry5 rocks", "#AirFry5"),
    ]
    assert set(first.cursor) == {"search"}
    assert connector.fetch_new(first.cursor).posts == []
    for n in range(30):  # two pages of 25
        standin.add_search_post("h.bsky.social", f"kettle {n}")
    later = connector.fetch_new(first.cursor)
    assert [p.text for p in later.posts] == [f"kettle {n}" for n in range(30)]


def test_notification_and_search_are_deduplicated(
    connect: ConnectorFactory, standin: BlueskyStandin
):
    standin.add_mention("a.bsky.social", "@acme.example kettle broke")
    fetched = connect(search=["kettle"]).fetch_new({})
    assert [(p.text, p.extra["reason"]) for p in fetched.posts] == [
        ("@acme.example kettle broke", "mention")
    ]


def test_hostile_records_are_rejected_and_the_rest_kept(
    connect: ConnectorFactory, standin: BlueskyStandin
):
    standin.add_mention("ok1.bsky.social", "first fine")
    bad_text = standin.add_mention("x.bsky.social", "x", patch={"record": {"text": {"html": 1}}})
    no_date = standin.add_mention(
        "y.bsky.social", "y", patch={"record": {"createdAt": REMOVE}, "indexedAt": REMOVE}
    )
    script = standin.add_mention("z.bsky.social", "<script>steal()</script>")
    surrogate = standin.add_mention("s.bsky.social", "odd \ud800 text")
    huge = standin.add_mention("h.bsky.social", "big", patch={"record": {"text": "k" * 200_000}})
    no_author = standin.add_mention("n.bsky.social", "n", patch={"author": REMOVE})
    standin.add_mention("ok2.bsky.social", "héllo 👋🏽 <b>bold</b> a < b")
    fetched = connect().fetch_new({})
    assert [p.text for p in fetched.posts] == ["first fine", "héllo 👋🏽 bold a < b"]
    reasons = {r.where: r.reason for r in fetched.rejected}
    assert reasons == {
        f"bluesky post {bad_text.uri}": "record.text: missing or not a string",
        f"bluesky notification {no_date.uri}": "indexedAt: missing or unparseable",
        f"bluesky post {script.uri}": "record.text: only markup, no text",
        f"bluesky post {surrogate.uri}": "record.text: invalid Unicode (a lone surrogate)",
        f"bluesky post {huge.uri}": "record.text: 200,000 bytes, over Bluesky's 3,000-byte limit",
        f"bluesky post {no_author.uri}": "author: missing or not an object",
    }


def test_saved_session_is_resumed_without_login(
    connect: ConnectorFactory, standin: BlueskyStandin, server: LocalServer
):
    session = standin.session_string(server.url)
    connector = connect(session=session, secret=None)
    connector.check()
    connector.fetch_new({})
    assert standin.create_session_calls == 0


def test_one_login_for_twenty_publishes_and_session_saved(
    connect: ConnectorFactory, standin: BlueskyStandin, store: SessionStore
):
    connector = connect()
    for n in range(20):
        connector.publish(Outgoing(text=f"update {n}", key=f"k{n}"))
    assert standin.create_session_calls == 1
    assert len(standin.published) == 20
    assert len(store.saved) == 1 and store.saved[0].startswith(
        f"acme.example:::{standin.account.did}:::"
    )
    again = connect(session=store.session, secret=None)
    again.publish(Outgoing(text="from the saved session", key="k21"))
    assert standin.create_session_calls == 1


def test_expired_access_token_is_refreshed_and_saved(
    connect: ConnectorFactory, standin: BlueskyStandin, store: SessionStore, server: LocalServer
):
    connector = connect()
    connector.check()
    standin.expire_access_tokens()
    connector.publish(Outgoing(text="still works", key="k1"))
    assert standin.refresh_session_calls == 1 and len(standin.published) == 1
    assert len(store.saved) == 2 and store.saved[1] != store.saved[0]
    # a saved session whose access JWT already expired: the SDK refreshes before the first call
    resumed = connect(session=standin.session_string(server.url, expired_access=True), secret=None)
    resumed.check()
    assert standin.refresh_session_calls == 2 and len(store.saved) == 3
    assert standin.create_session_calls == 1


def test_revoked_session_is_an_auth_error(connect: ConnectorFactory, standin: BlueskyStandin):
    connector = connect()
    connector.check()
    standin.revoke_sessions()
    with pytest.raises(ChannelAuthError, match="revoked"):
        connector.fetch_new({})
    assert standin.create_session_calls == 1  # never a second login in one lifetime


def test_revoked_saved_session_falls_back_to_the_app_password(
    connect: ConnectorFactory, standin: BlueskyStandin, server: LocalServer
):
    session = standin.session_string(server.url)
    standin.revoke_sessions()
    connect(session=session).check()
    assert standin.create_session_calls == 1
    with pytest.raises(ChannelAuthError):
        connect(session=session, secret=None).check()


def test_rate_limit_gives_retry_at(connect: ConnectorFactory, standin: BlueskyStandin):
    connector = connect()
    connector.check()
    reset = int(datetime(2026, 11, 20, 15, 0, tzinfo=UTC).timestamp())
    standin.force_rate_limit(1, reset)
    with pytest.raises(ChannelRateLimitedError) as info:
        connector.fetch_new({})
    assert info.value.retry_at == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    standin.force_rate_limit(1, reset, nsid="com.atproto.repo.createRecord")
    with pytest.raises(ChannelRateLimitedError):
        connector.publish(Outgoing(text="hi", key="k"))
    assert standin.published == []


def test_create_session_has_its_own_limit(connect: ConnectorFactory, standin: BlueskyStandin):
    standin.create_session_limit = 2
    connect().check()
    connect().check()
    with pytest.raises(ChannelRateLimitedError) as info:
        connect().check()
    assert info.value.retry_at is not None and info.value.retry_at > datetime.now(UTC)


def test_reply_to_a_reply_has_root_and_parent(connect: ConnectorFactory, standin: BlueskyStandin):
    root = standin.add_account_post("We launched")
    middle = standin.add_reply("bob.bsky.social", "Where can I buy it?", root.uri)
    connector = connect()
    sent = connector.publish(
        Outgoing(
            text="In every store", key="k", reply_to=middle.uri, reply_to_author="bob.bsky.social"
        )
    )
    record = standin.published[0]["record"]
    strong = "com.atproto.repo.strongRef"
    assert record["reply"] == {
        "$type": "app.bsky.feed.post#replyRef",
        "root": {"$type": strong, "uri": root.uri, "cid": root.cid},
        "parent": {"$type": strong, "uri": middle.uri, "cid": middle.cid},
    }
    rkey = sent.remote_id.rsplit("/", 1)[1]
    assert sent.url == f"https://bsky.app/profile/acme.example/post/{rkey}"


def test_reply_to_a_missing_post_is_rejected(connect: ConnectorFactory, standin: BlueskyStandin):
    missing = f"at://{standin.account.did}/app.bsky.feed.post/3zzzzzzzzzzzz"
    with pytest.raises(ChannelRejectedError, match="no longer exists"):
        connect().publish(Outgoing(text="hi", key="k", reply_to=missing))


def test_facets_use_utf8_byte_offsets(connect: ConnectorFactory, standin: BlueskyStandin):
    bob = standin.add_actor("bob.bsky.social")
    text = "Café 🫖 @bob.bsky.social @nobody.bsky.social voilà https://acme.example/é #AirFry5 👍🏽"
    connect().publish(Outgoing(text=text, key="k"))
    record = standin.published[0]["record"]
    data = text.encode()
    spans = {
        data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(): f["features"][0]
        for f in record["facets"]
    }
    assert spans == {
        "@bob.bsky.social": {"$type": "app.bsky.richtext.facet#mention", "did": bob.did},
        "https://acme.example/é": {
            "$type": "app.bsky.richtext.facet#link",
            "uri": "https://acme.example/é",
        },
        "#AirFry5": {"$type": "app.bsky.richtext.facet#tag", "tag": "AirFry5"},
    }
    bob_facet = next(f for f in record["facets"] if "did" in f["features"][0])
    assert bob_facet["index"] == {
        "$type": "app.bsky.richtext.facet#byteSlice",
        "byteStart": 11,
        "byteEnd": 27,
    }


def test_refusals_and_unknown_outcomes(connect: ConnectorFactory, standin: BlueskyStandin):
    connector = connect()
    with pytest.raises(ChannelRejectedError, match="private messages are not supported"):
        connector.publish(Outgoing(text="psst", key="k", direct_to="bob.bsky.social"))
    with pytest.raises(ChannelRejectedError, match="300 graphemes"):
        connector.publish(Outgoing(text="é" * 301, key="k"))
    stored = threading.Event()
    standin.on_create = lambda entry: stored.set()
    standin.fail_after_store()
    with pytest.raises(OutcomeUnknownError):
        connector.publish(Outgoing(text="did it go out?", key="k2"))
    assert stored.wait(5) and len(standin.published) == 1
    since = datetime.now(UTC) - timedelta(minutes=1)
    found = connector.find_published(Outgoing(text="did it go out?", key="k2"), since)
    assert found is not None and found.remote_id == standin.published[0]["uri"]
    assert connector.find_published(Outgoing(text="never sent", key="k3"), since) is None


def test_unreachable_pds_is_unavailable(make_channel: Callable[..., Any]):
    connector = BlueskyConnector(
        make_channel(f"http://127.0.0.1:{free_port()}"),
        Credentials(secret="abcd-efgh-ijkl-mnop"),
        timeout=2,
    )
    with pytest.raises(ChannelUnavailableError):
        connector.check()
    connector.close()


def test_recent_own_and_find_published(connect: ConnectorFactory, standin: BlueskyStandin):
    root = standin.add_account_post("Hello Bluesky", created_at="2026-11-20T09:00:00.000Z")
    other = standin.add_search_post("bob.bsky.social", "a post we repost")
    standin.add_repost(other.uri)
    connector = connect()
    since = datetime.now(UTC) - timedelta(seconds=2)
    reply = connector.publish(Outgoing(text="Thanks!", key="k1", reply_to=root.uri))
    own = connector.recent_own(10)
    assert [(o.text, o.reply_to) for o in own] == [("Thanks!", root.uri), ("Hello Bluesky", None)]
    assert own[0].remote_id == reply.remote_id
    assert (
        connector.find_published(Outgoing(text="Thanks!", key="k1", reply_to=root.uri), since)
        == reply
    )
    assert connector.find_published(Outgoing(text="Thanks!", key="k1"), since) is None
    late = datetime.now(UTC) + timedelta(minutes=1)
    assert (
        connector.find_published(Outgoing(text="Thanks!", key="k1", reply_to=root.uri), late)
        is None
    )


def test_home_page_says_it_is_a_stand_in(connect: ConnectorFactory, server: LocalServer):
    connect().publish(Outgoing(text="<i>escaped</i> & shown", key="k"))
    page = httpx.get(server.url + "/").text
    assert "not a real network" in page
    assert "&lt;i&gt;escaped&lt;/i&gt; &amp; shown" in page and "<i>" not in page


def test_wait_for_news_returns_on_stop(connect: ConnectorFactory):
    stop = threading.Event()
    stop.set()
    connect().wait_for_news(30, stop)
