"""Publishing through Mastodon.py: posts, replies, DMs, idempotency, errors, read-back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from townhall.connectors.base import Credentials, Outgoing, Sent
from townhall.connectors.mastodon.connector import MastodonConnector
from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.connectors.standin import LocalServer
from townhall.errors import (
    ChannelAuthError,
    ChannelRateLimitedError,
    ChannelRejectedError,
    ChannelUnavailableError,
    OutcomeUnknownError,
)

from .conftest import TOKEN, make_channel


def test_publish_a_post(standin: MastodonStandin, connector: MastodonConnector):
    sent = connector.publish(Outgoing(text="Our AirFry5 recall page is live.", key="k-1"))

    [status] = standin.published
    assert sent == Sent(status["id"], f"https://mastodon.example/@acme/{status['id']}")
    assert status["visibility"] == "public"
    assert status["in_reply_to_id"] is None
    assert status["content"] == "<p>Our AirFry5 recall page is live.</p>"


def test_a_reply_mentions_the_author_and_links_the_status(
    standin: MastodonStandin, connector: MastodonConnector
):
    asked = standin.add_mention("@bob@example.social", "my lid cracked")
    connector.publish(
        Outgoing(
            text="Sorry to hear that! DM us your order number.",
            key="k-2",
            reply_to=asked["id"],
            reply_to_author="@bob@example.social",
        )
    )
    [status] = standin.published
    assert status["in_reply_to_id"] == asked["id"]
    assert status["mentions"][0]["acct"] == "bob@example.social"
    assert connector.recent_own(1)[0].text == "@bob Sorry to hear that! DM us your order number."


def test_a_reply_that_already_mentions_the_author_is_not_prefixed_again(
    standin: MastodonStandin, connector: MastodonConnector
):
    asked = standin.add_mention("@bob@example.social", "hello")
    out = Outgoing(
        text="Thanks @bob@example.social, fixed.",
        key="k-3",
        reply_to=asked["id"],
        reply_to_author="bob@example.social",
    )
    assert connector.text_to_send(out) == "Thanks @bob@example.social, fixed."
    local = Outgoing(text="@carol on it", key="k-4", reply_to=asked["id"], reply_to_author="@carol")
    assert connector.text_to_send(local) == "@carol on it"


def test_a_direct_message_is_direct_and_starts_with_the_mention(
    standin: MastodonStandin, connector: MastodonConnector
):
    connector.publish(
        Outgoing(
            text="Could you send us your order number?", key="k-5", direct_to="@bob@example.social"
        )
    )
    [status] = standin.published
    assert status["visibility"] == "direct"
    assert status["content"].startswith('<p><span class="h-card" translate="no">')
    assert connector.recent_own(1)[0].text == "@bob Could you send us your order number?"


def test_the_same_idempotency_key_gives_the_same_status(
    standin: MastodonStandin, connector: MastodonConnector
):
    first = connector.publish(Outgoing(text="Once only", key="same-key"))
    again = connector.publish(Outgoing(text="Once only", key="same-key"))
    assert first == again
    assert len(standin.published) == 1


def test_too_long_text_is_rejected_with_mastodons_reason(connector: MastodonConnector):
    with pytest.raises(ChannelRejectedError, match="Text character limit of 500 exceeded"):
        connector.publish(Outgoing(text="x" * 501, key="k-6"))


def test_revoked_token_on_publish_is_an_auth_error(
    standin: MastodonStandin, connector: MastodonConnector
):
    connector.check()
    standin.revoke_token()
    with pytest.raises(ChannelAuthError):
        connector.publish(Outgoing(text="hello", key="k-7"))


def test_429_on_publish_is_rate_limited_with_retry_at(
    standin: MastodonStandin, connector: MastodonConnector
):
    connector.check()
    reset = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=90)
    standin.force_rate_limit(1, reset_at=reset)
    with pytest.raises(ChannelRateLimitedError) as info:
        connector.publish(Outgoing(text="hello", key="k-8"))
    assert info.value.retry_at == reset
    assert standin.published == []


def test_500_after_storing_is_an_unknown_outcome_that_find_published_resolves(
    standin: MastodonStandin, connector: MastodonConnector
):
    asked = standin.add_mention("@bob@example.social", "help")
    since = datetime.now(UTC)
    post = Outgoing(
        text="We are on it.", key="k-9", reply_to=asked["id"], reply_to_author="@bob@example.social"
    )
    standin.fail_creates(1, status_code=500)

    with pytest.raises(OutcomeUnknownError):
        connector.publish(post)

    [stored] = standin.published
    found = connector.find_published(post, since)
    assert found == Sent(stored["id"], stored["url"])


def test_no_answer_after_sending_is_an_unknown_outcome(
    standin: MastodonStandin, connect: Callable[..., MastodonConnector]
):
    connector = connect(timeout=0.5)
    connector.check()
    release = standin.hold_creates()
    post = Outgoing(text="Held", key="k-10")
    since = datetime.now(UTC)
    try:
        with pytest.raises(OutcomeUnknownError):
            connector.publish(post)
    finally:
        release.set()
    assert connector.find_published(post, since) is not None


def test_connection_refused_before_sending_is_unavailable(standin: MastodonStandin):
    local = LocalServer(standin.app).start()
    connector = MastodonConnector(make_channel(local.url), Credentials(secret=TOKEN), timeout=2)
    try:
        connector.check()
        local.stop()
        with pytest.raises(ChannelUnavailableError) as info:
            connector.publish(Outgoing(text="hello", key="k-11"))
        assert not isinstance(info.value, OutcomeUnknownError)
    finally:
        connector.close()


def test_on_create_hook_sees_the_stored_status_before_the_response(
    standin: MastodonStandin, connector: MastodonConnector
):
    seen: list[str] = []
    standin.on_create = lambda status: seen.append(status["id"])
    sent = connector.publish(Outgoing(text="hooked", key="k-12"))
    assert seen == [sent.remote_id]


def test_recent_own_is_newest_first_without_reblogs(
    standin: MastodonStandin, connector: MastodonConnector
):
    other = standin.add_status("@bob@example.social", "a post by bob")
    ids = [connector.publish(Outgoing(text=f"post {n}", key=f"r-{n}")).remote_id for n in range(3)]
    standin.add_status("@acme@mastodon.example", "", reblog_of=other["id"])

    own = connector.recent_own(10)

    assert [p.remote_id for p in own] == ids[::-1]
    assert [p.text for p in own] == ["post 2", "post 1", "post 0"]
    assert all(p.created_at.tzinfo is not None and p.reply_to is None for p in own)
    assert len(connector.recent_own(2)) == 2


def test_recent_own_pages_past_forty(standin: MastodonStandin, connector: MastodonConnector):
    for n in range(45):
        standin.add_status("@acme@mastodon.example", f"own {n}")
    own = connector.recent_own(45)
    assert [p.text for p in own] == [f"own {n}" for n in range(44, -1, -1)]


def test_find_published_needs_the_same_text_reply_target_and_time(
    standin: MastodonStandin, connector: MastodonConnector
):
    asked = standin.add_mention("@bob@example.social", "help")
    since = datetime.now(UTC)
    post = Outgoing(
        text="Line one.\n\nLine  two.",
        key="k-13",
        reply_to=asked["id"],
        reply_to_author="@bob@example.social",
    )
    sent = connector.publish(post)

    assert connector.find_published(post, since) == sent
    assert connector.find_published(post, since - timedelta(hours=1)) == sent
    other_text = Outgoing(text="Different", key="k-14", reply_to=asked["id"])
    assert connector.find_published(other_text, since) is None
    not_a_reply = Outgoing(text="Line one.\n\nLine  two.", key="k-15")
    assert connector.find_published(not_a_reply, since) is None
    assert connector.find_published(post, datetime.now(UTC) + timedelta(minutes=1)) is None
