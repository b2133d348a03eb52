"""Listening through Mastodon.py against the stand-in: cursors, paging, sources, errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from townhall.connectors.base import Capability, Listener, Publisher, Rejected
from townhall.connectors.mastodon.connector import MastodonConnector
from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.errors import ChannelAuthError, ChannelRateLimitedError, ChannelUnavailableError

AT = datetime(2026, 11, 20, 14, 3, 11, 250000, tzinfo=UTC)


def test_declares_its_capabilities_and_protocols(connector: MastodonConnector):
    assert isinstance(connector, Listener) and isinstance(connector, Publisher)
    assert connector.info.name == "mastodon"
    assert connector.info.capabilities == {
        Capability.FETCH,
        Capability.STREAM,
        Capability.PUBLISH,
        Capability.DIRECT,
    }


def test_check_describes_the_account(connector: MastodonConnector):
    assert connector.check() == "@acme@mastodon.example on Mastodon 4.3.2"


def test_check_with_a_refused_token_tells_the_admin_what_to_do(connect):
    with pytest.raises(ChannelAuthError, match="Preferences → Development") as info:
        connect(token="wrong").check()
    assert "The access token is invalid" in str(info.value)


def test_check_of_an_unreachable_instance_is_unavailable():
    from townhall.connectors.base import Credentials
    from townhall.connectors.standin import free_port

    from .conftest import make_channel

    connector = MastodonConnector(
        make_channel(f"http://127.0.0.1:{free_port()}"), Credentials(secret="x"), timeout=2
    )
    with pytest.raises(ChannelUnavailableError):
        connector.check()
    connector.close()


def test_first_run_takes_the_newest_page_with_exact_posts(
    standin: MastodonStandin, connector: MastodonConnector
):
    bob = standin.author("@bob@example.social", name="Bob 🐝", followers=1200)
    standin.author("carol", name="Carol")
    first = standin.add_mention("@bob@example.social", "my AirFry5 lid cracked", at=AT)
    standin.add_mention(
        "carol", "any news on the recall?", at=AT + timedelta(seconds=1), reply_to=None
    )

    fetched = connector.fetch_new({})

    assert fetched.rejected == []
    assert [p.to_json() for p in fetched.posts] == [
        {
            "id": f"mastodon:{first['id']}",
            "channel": "mastodon",
            "created_at": "2026-11-20T14:03:11Z",
            "text": "@acme my AirFry5 lid cracked",
            "lang": "en",
            "url": f"https://example.social/@bob/{first['id']}",
            "author": {
                "handle": "@bob@example.social",
                "name": "Bob 🐝",
                "followers": 1200,
                "location": None,
                "verified": False,
            },
            "reply_to": None,
            "reshare_of": None,
            "group": None,
            "media": [],
            "visibility": "public",
            "source": "mention",
            "notification_id": "1",
        },
        {
            "id": fetched.posts[1].id,
            "channel": "mastodon",
            "created_at": "2026-11-20T14:03:12Z",
            "text": "@acme any news on the recall?",
            "lang": "en",
            "url": f"https://mastodon.example/@carol/{fetched.posts[1].external_id}",
            "author": {
                "handle": "@carol@mastodon.example",
                "name": "Carol",
                "followers": 0,
                "location": None,
                "verified": False,
            },
            "reply_to": None,
            "reshare_of": None,
            "group": None,
            "media": [],
            "visibility": "public",
            "source": "mention",
            "notification_id": "2",
        },
    ]
    assert fetched.cursor == {"notifications": "2"}
    assert bob["acct"] == "bob@example.social"


def test_second_run_finds_nothing_new_then_only_the_new(
    standin: MastodonStandin, connector: MastodonConnector
):
    standin.add_mention("@bob@example.social", "one")
    first = connector.fetch_new({})
    assert len(first.posts) == 1

    again = connector.fetch_new(first.cursor)
    assert again.posts == [] and again.rejected == []
    assert again.cursor == first.cursor

    standin.add_mention("@dan@example.social", "two")
    third = connector.fetch_new(again.cursor)
    assert [p.text for p in third.posts] == ["@acme two"]
    assert third.cursor == {"notifications": "2"}


def test_first_run_with_nothing_sets_no_bookmark(connector: MastodonConnector):
    fetched = connector.fetch_new({})
    assert fetched.posts == [] and fetched.cursor == {}


def test_first_run_takes_only_the_newest_page(
    standin: MastodonStandin, connector: MastodonConnector
):
    for n in range(50):
        standin.add_mention("@bob@example.social", f"old {n}")
    fetched = connector.fetch_new({})
    assert len(fetched.posts) == 40
    assert fetched.posts[0].text == "@acme old 10" and fetched.posts[-1].text == "@acme old 49"
    assert fetched.cursor == {"notifications": "50"}


def test_catch_up_pages_with_min_id_oldest_first(
    standin: MastodonStandin, connector: MastodonConnector
):
    standin.add_mention("@bob@example.social", "before")
    cursor = connector.fetch_new({}).cursor
    for n in range(130):
        standin.add_mention("@bob@example.social", f"mention {n}")

    standin.requests.clear()
    fetched = connector.fetch_new(cursor)

    assert [p.text for p in fetched.posts] == [f"@acme mention {n}" for n in range(130)]
    assert fetched.cursor == {"notifications": "131"}
    pages = [r for r in standin.requests if r.startswith("GET /api/v1/notifications")]
    assert len(pages) == 5  # 40 + 40 + 40 + 10, then an empty page
    assert all("min_id=" in r and "types%5B%5D=mention" in r for r in pages)
    assert connector.fetch_new(fetched.cursor).posts == []


def test_a_bounded_pass_leaves_the_rest_for_the_next(
    standin: MastodonStandin, connector: MastodonConnector, monkeypatch: pytest.MonkeyPatch
):
    from townhall.connectors.mastodon import connector as module

    monkeypatch.setattr(module, "MAX_PAGES", 2)
    standin.add_mention("@bob@example.social", "before")
    cursor = connector.fetch_new({}).cursor
    for n in range(100):
        standin.add_mention("@bob@example.social", f"m{n}")

    first = connector.fetch_new(cursor)
    second = connector.fetch_new(first.cursor)

    assert [p.text for p in first.posts] == [f"@acme m{n}" for n in range(80)]
    assert [p.text for p in second.posts] == [f"@acme m{n}" for n in range(80, 100)]


def test_hashtags_and_search_each_keep_a_bookmark_and_dedup(
    standin: MastodonStandin, connect: Callable[..., MastodonConnector]
):
    connector = connect(hashtags=["AirFry5"], search=["recall"])
    both = standin.add_mention("@bob@example.social", "is the #AirFry5 part of the recall?")
    tagged = standin.add_status("@eve@example.social", "Dinner done in the #AirFry5")
    searched = standin.add_status("carol", "Any recall news, folks?")
    standin.add_status("carol", "unrelated")

    first = connector.fetch_new({})

    assert [(p.external_id, p.extra["source"]) for p in first.posts] == [
        (both["id"], "mention"),
        (tagged["id"], "hashtag:AirFry5"),
        (searched["id"], "search:recall"),
    ]
    assert first.cursor == {
        "notifications": "1",
        "hashtags": {"AirFry5": tagged["id"]},
        "search": {"recall": searched["id"]},
    }

    later = standin.add_status("@eve@example.social", "#airfry5 again, and the recall")
    second = connector.fetch_new(first.cursor)
    assert [p.external_id for p in second.posts] == [later["id"]]
    assert second.cursor["hashtags"] == {"AirFry5": later["id"]}
    assert second.cursor["search"] == {"recall": later["id"]}
    assert connector.fetch_new(second.cursor).posts == []


def test_reblogs_replies_media_and_content_warnings(
    standin: MastodonStandin, connect: Callable[..., MastodonConnector]
):
    connector = connect(hashtags=["AirFry5"])
    mine = standin.add_status("@acme@mastodon.example", "New #AirFry5 firmware is out")
    reply = standin.add_mention(
        "@bob@example.social", "it bricked mine", reply_to=mine["id"], at=AT
    )
    standin.add_status(
        "@eve@example.social",
        "Smoke from my #AirFry5",
        spoiler_text="burning smell",
        media=["https://files.example.social/a.jpg"],
        language="fr",
    )
    standin.add_status("@eve@example.social", "", reblog_of=mine["id"])

    posts = {p.external_id: p for p in connector.fetch_new({}).posts}

    assert posts[reply["id"]].reply_to == f"mastodon:{mine['id']}"
    smoke = next(p for p in posts.values() if p.media)
    assert smoke.text == "CW: burning smell\n\nSmoke from my #AirFry5"
    assert smoke.media == ["https://files.example.social/a.jpg"]
    assert smoke.lang == "fr"
    # A reblog's own status has no tags, so only its original shows on the tag timeline.
    assert posts[mine["id"]].author.handle == "@acme@mastodon.example"


def test_a_reblog_becomes_a_reshare_with_empty_text(
    standin: MastodonStandin, connector: MastodonConnector
):
    from townhall.connectors.mastodon.normalize import normalise

    original = standin.add_status("@bob@example.social", "original")
    boost = standin.add_status("@eve@example.social", "", reblog_of=original["id"])
    post = normalise(boost, "mastodon", "mastodon.example", source="test")
    assert not isinstance(post, Rejected)
    assert post.reshare_of == f"mastodon:{original['id']}" and post.text == ""


def test_hostile_statuses_are_rejected_by_id_and_the_rest_kept(
    standin: MastodonStandin, connector: MastodonConnector
):
    good1 = standin.add_mention("@bob@example.social", "fine one")
    bad_date = standin.add_mention("@bob@example.social", "x", created_at="yesterday-ish")
    no_account = standin.add_mention("@bob@example.social", "x", account=None)
    huge = standin.add_mention("@bob@example.social", "x", content="<p>" + "a" * 200_001 + "</p>")
    bad_url = standin.add_mention("@bob@example.social", "x", url="javascript:alert(1)")
    script = standin.add_mention(
        "@bob@example.social",
        "x",
        content='<p>hi<script>alert("x")</script> <b onclick="evil()">there</b>\u202e!</p>',
    )
    odd_type = standin.add_mention("@bob@example.social", "x", account="bob")
    good2 = standin.add_mention("@bob@example.social", "fine two")

    fetched = connector.fetch_new({})

    assert [p.external_id for p in fetched.posts] == [good1["id"], script["id"], good2["id"]]
    assert fetched.posts[1].text == "hi there!"
    rejected = {r.where: r.reason for r in fetched.rejected}
    assert set(rejected) == {
        f"mastodon status {bad_date['id']}",
        f"mastodon status {no_account['id']}",
        f"mastodon status {huge['id']}",
        f"mastodon status {bad_url['id']}",
        f"mastodon status {odd_type['id']}",
    }
    assert rejected[f"mastodon status {bad_date['id']}"].startswith("created_at")
    assert rejected[f"mastodon status {no_account['id']}"] == "account is missing"
    assert rejected[f"mastodon status {odd_type['id']}"] == "account is a str, not an object"
    assert "over 100,000" in rejected[f"mastodon status {huge['id']}"]
    assert rejected[f"mastodon status {bad_url['id']}"].startswith("url:")
    assert fetched.cursor == {"notifications": "8"}


def test_rate_limit_429_gives_retry_at_from_the_reset_header(
    standin: MastodonStandin, connector: MastodonConnector
):
    connector.check()
    reset = datetime.now(UTC).replace(microsecond=123456) + timedelta(minutes=2)
    standin.force_rate_limit(1, reset_at=reset)

    with pytest.raises(ChannelRateLimitedError) as info:
        connector.fetch_new({})
    assert info.value.retry_at == reset
    seen = len(standin.requests)
    with pytest.raises(ChannelRateLimitedError):  # until the reset, nothing is even sent
        connector.fetch_new({})
    assert len(standin.requests) == seen


def test_a_used_up_budget_stops_paging_and_keeps_what_was_read(
    standin: MastodonStandin, connector: MastodonConnector
):
    standin.add_mention("@bob@example.social", "before")
    cursor = connector.fetch_new({}).cursor
    for n in range(60):
        standin.add_mention("@bob@example.social", f"m{n}")
    reset = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=3)
    standin.set_rate_budget(1, reset)
    standin.requests.clear()

    partial = connector.fetch_new(cursor)

    assert [p.text for p in partial.posts] == [f"@acme m{n}" for n in range(40)]
    assert partial.cursor == {"notifications": "41"}
    with pytest.raises(ChannelRateLimitedError) as info:
        connector.fetch_new(partial.cursor)
    assert info.value.retry_at == reset
    assert len(standin.requests) == 1  # the budget was respected: no request was wasted


def test_revoked_token_is_an_auth_error(standin: MastodonStandin, connector: MastodonConnector):
    connector.fetch_new({})
    standin.revoke_token()
    with pytest.raises(ChannelAuthError, match="access token was refused"):
        connector.fetch_new({})


def test_check_refuses_a_token_of_another_account(standin: MastodonStandin, server):
    from townhall.connectors.base import Credentials

    from .conftest import TOKEN, make_channel

    channel = make_channel(server.url).model_copy(update={"account": "@other@mastodon.example"})
    connector = MastodonConnector(channel, Credentials(secret=TOKEN))
    with pytest.raises(ChannelAuthError, match=r"belongs to @acme@mastodon\.example"):
        connector.check()
    connector.close()


def test_a_garbled_cursor_counts_as_a_first_run(
    standin: MastodonStandin, connect: Callable[..., MastodonConnector]
):
    connector = connect(hashtags=["AirFry5"])
    standin.add_mention("@bob@example.social", "hello")
    fetched = connector.fetch_new({"notifications": 12, "hashtags": "nope", "search": None})
    assert [p.text for p in fetched.posts] == ["@acme hello"]
    assert fetched.cursor == {"notifications": "1"}
