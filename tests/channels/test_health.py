"""A channel's health after each listen pass (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from townhall.channels import health
from townhall.errors import (
    ChannelAuthError,
    ChannelRateLimitedError,
    ChannelRejectedError,
    ChannelUnavailableError,
)
from townhall.models import ChannelHealth

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_one_blip_keeps_the_channel_ok_three_make_it_failing() -> None:
    down = ChannelUnavailableError("cannot connect to mastodon.example")
    first = health.after_failure(down, 0, ChannelHealth.OK)
    second = health.after_failure(down, first.failures, first.health)
    third = health.after_failure(down, second.failures, second.health)
    assert [v.health for v in (first, second, third)] == [
        ChannelHealth.OK,
        ChannelHealth.OK,
        ChannelHealth.FAILING,
    ]
    assert (third.failures, third.error_kind, third.error) == (
        3,
        "unavailable",
        "cannot connect to mastodon.example",
    )


def test_refused_tokens_rate_limits_and_refusals_are_named_at_once() -> None:
    reset = NOW + timedelta(minutes=5)
    auth = health.after_failure(ChannelAuthError("token revoked"), 0, ChannelHealth.OK)
    limited = health.after_failure(ChannelRateLimitedError("slow down", reset), 0, ChannelHealth.OK)
    gone = health.after_failure(ChannelRejectedError("feed is gone (410)"), 0, ChannelHealth.OK)
    assert (auth.health, auth.error_kind) == (ChannelHealth.AUTH_FAILED, "auth")
    assert (limited.health, limited.retry_at) == (ChannelHealth.RATE_LIMITED, reset)
    assert gone.health == ChannelHealth.FAILING


def test_a_stream_far_quieter_than_usual_is_quiet() -> None:
    gap = health.next_gap(None, NOW - timedelta(minutes=50), NOW - timedelta(minutes=40), 1)
    assert gap == 600.0  # one post every 10 minutes
    assert health.after_success(NOW - timedelta(minutes=30), gap, NOW).health == ChannelHealth.OK
    quiet = health.after_success(NOW - timedelta(hours=2), gap, NOW)
    assert quiet.health == ChannelHealth.QUIET and "no new post for 2.0 h" in quiet.error
    # A channel that is always slow is not quiet after an hour or two.
    slow = 6 * 3600.0
    assert health.after_success(NOW - timedelta(hours=3), slow, NOW).health == ChannelHealth.OK


def test_how_long_ago_reads_in_words() -> None:
    assert health.ago(None, NOW) == "never"
    assert health.ago(NOW - timedelta(seconds=40), NOW) == "40 s ago"
    assert health.ago(NOW - timedelta(minutes=90), NOW) == "90 min ago"
    assert health.ago(NOW - timedelta(hours=30), NOW) == "30 h ago"
    assert health.ago(NOW - timedelta(days=3), NOW) == "3 days ago"
