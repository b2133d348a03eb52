"""A channel's health after a listen pass (pure: no I/O, ``now`` passed in).

- ok: the last pass worked;
- failing: three passes in a row failed (unreachable, errors), or the network refused the
  request itself (a feed that is gone);
- auth_failed: the token or password was refused: a person must reconnect the channel;
- rate_limited: the network said to wait, until ``retry_at``;
- quiet: it works, but no post came for far longer than the channel's normal gap between
  posts (``QUIET_FACTOR`` times the running mean, and at least ``QUIET_MIN``) — a stream that
  stopped delivering looks exactly like this;
- not_connected: no secret in the environment or the encrypted store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from townhall.errors import (
    ChannelAuthError,
    ChannelError,
    ChannelRateLimitedError,
    ChannelRejectedError,
)
from townhall.models.channel import ChannelHealth

FAILING_AFTER = 3
"""Consecutive failed passes before a channel is failing."""

QUIET_FACTOR = 8.0
"""Quiet when the time since the last post exceeds this many normal gaps..."""

QUIET_MIN = timedelta(hours=1)
"""...and at least this long."""

GAP_WEIGHT = 0.2
"""Weight of the newest observation in the running mean gap between posts."""

BAD = frozenset(
    {
        ChannelHealth.FAILING,
        ChannelHealth.AUTH_FAILED,
        ChannelHealth.RATE_LIMITED,
        ChannelHealth.QUIET,
        ChannelHealth.NOT_CONNECTED,
    }
)
"""Healths a person should hear about."""


@dataclass(frozen=True)
class Verdict:
    """The channel's new health, its error (kind and message) and consecutive failures."""

    health: ChannelHealth
    failures: int
    error_kind: str | None = None
    error: str = ""
    retry_at: datetime | None = None


def error_kind(exc: ChannelError) -> str:
    """``auth``, ``rate_limited``, ``rejected`` or ``unavailable``."""
    if isinstance(exc, ChannelAuthError):
        return "auth"
    if isinstance(exc, ChannelRateLimitedError):
        return "rate_limited"
    if isinstance(exc, ChannelRejectedError):
        return "rejected"
    return "unavailable"


def after_failure(exc: ChannelError, failures: int, previous: ChannelHealth) -> Verdict:
    """The verdict after a pass that raised ``exc`` (``failures``: before this one)."""
    kind, count = error_kind(exc), failures + 1
    if kind == "auth":
        health = ChannelHealth.AUTH_FAILED
    elif kind == "rate_limited":
        health = ChannelHealth.RATE_LIMITED
    elif kind == "rejected" or count >= FAILING_AFTER:
        health = ChannelHealth.FAILING
    else:
        health = previous if previous not in BAD else ChannelHealth.FAILING
        health = ChannelHealth.OK if health is ChannelHealth.NEW else health
    retry_at = exc.retry_at if isinstance(exc, ChannelRateLimitedError) else None
    return Verdict(health, count, kind, exc.message, retry_at)


def next_gap(
    gap: float | None, last_post: datetime | None, newest: datetime, new: int
) -> float | None:
    """The running mean gap between posts (seconds) after ``new`` posts up to ``newest``."""
    if last_post is None or new <= 0:
        return gap
    observed = max((newest - last_post).total_seconds(), 0.0) / new
    return observed if gap is None else (1 - GAP_WEIGHT) * gap + GAP_WEIGHT * observed


def after_success(last_post: datetime | None, gap: float | None, now: datetime) -> Verdict:
    """The verdict after a pass that worked: ok, or quiet when no post came for too long."""
    if last_post is not None and gap is not None:
        silence = now - last_post
        if silence > max(QUIET_MIN, timedelta(seconds=QUIET_FACTOR * gap)):
            hours = silence.total_seconds() / 3600
            return Verdict(
                ChannelHealth.QUIET,
                0,
                "quiet",
                f"no new post for {hours:.1f} h (normally one every "
                f"{max(gap, 1) / 60:.0f} min): is the stream still delivering?",
            )
    return Verdict(ChannelHealth.OK, 0)


def ago(at: datetime | None, now: datetime) -> str:
    """How long before ``now`` ``at`` was, in words: ``"40 s ago"`` … ``"3 days ago"``."""
    if at is None:
        return "never"
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172_800:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86_400} days ago"
