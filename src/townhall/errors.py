"""Townhall's exception tree.

TownhallError                       base; ``status_code`` and a message a user can act on
├── ConfigError                     bad settings or policy file (names file, line, field)
│   └── PolicyError                 the organisation policy does not validate
├── InputError                      a post or request that cannot be accepted (422)
│   └── PostFormatError             one line of Post JSONL is malformed
├── NotFoundError                   an item, user or post that does not exist (404)
├── PermissionDeniedError           the user may not do this (403)
├── ConflictError                   the action clashes with the current state (409)
│   └── CapBlockedError             a slot breaks a blocking frequency cap (``next_free``)
├── DatabaseBusyError               the database stayed locked: try again shortly (503)
└── ChannelError                    a connector's vendor error, translated at the boundary
    ├── ChannelUnavailableError     retry with backoff
    │   ├── ChannelRateLimitedError the channel said "slow down": wait until ``retry_at``
    │   └── OutcomeUnknownError     a write may or may not have happened: reconcile first
    ├── ChannelAuthError            credentials expired: tell a human
    └── ChannelRejectedError        the channel refused the request: do not retry
"""

from __future__ import annotations

from datetime import datetime


class TownhallError(Exception):
    """Base of every expected Townhall condition."""

    status_code: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(TownhallError):
    """Settings or a configuration file are invalid."""

    status_code = 500


class PolicyError(ConfigError):
    """The organisation policy does not validate; ``problems`` lists every error found."""

    status_code = 422

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class InputError(TownhallError):
    """Input that cannot be accepted."""

    status_code = 422


class ConductBlockedError(InputError):
    """A draft breaks a ``block`` rule of the code of conduct; ``findings`` says where."""

    def __init__(self, message: str, findings: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.findings = findings


class PostFormatError(InputError):
    """A post line is malformed; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None, source: str | None = None) -> None:
        where = f"{source or '<input>'}:{line}: " if line is not None else ""
        super().__init__(f"{where}{message}")
        self.line = line
        self.source = source
        self.reason = message


class NotFoundError(TownhallError):
    """Something asked for does not exist."""

    status_code = 404


class PermissionDeniedError(TownhallError):
    """The user may not do this."""

    status_code = 403


class ConflictError(TownhallError):
    """The action clashes with the current state."""

    status_code = 409


RETRY_AFTER = 2
"""Seconds a client is asked to wait (``Retry-After``) when the database is busy."""


class CapBlockedError(ConflictError):
    """Scheduling at this time breaks a blocking frequency cap; ``breaches`` say which and
    why, ``next_free`` is the first time that breaks none (None when none was found)."""

    def __init__(
        self, message: str, breaches: list[dict[str, object]], next_free: datetime | None
    ) -> None:
        super().__init__(message)
        self.breaches = breaches
        self.next_free = next_free


class DatabaseBusyError(TownhallError):
    """The database stayed locked past the busy timeout: try again in a moment (503)."""

    status_code = 503

    def __init__(self, message: str | None = None, retry_after: int = RETRY_AFTER) -> None:
        super().__init__(
            message
            or "Townhall is very busy writing right now and could not answer in time. "
            f"Nothing was changed; please try again in {retry_after} seconds."
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class ChannelError(TownhallError):
    """A channel failed; subclasses say what to do about it."""

    status_code = 502


class ChannelUnavailableError(ChannelError):
    """The channel is unreachable or overloaded: retry with backoff."""

    status_code = 503


class ChannelRateLimitedError(ChannelUnavailableError):
    """The channel is rate limiting us; ``retry_at`` is when it said to try again (UTC)."""

    def __init__(self, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class OutcomeUnknownError(ChannelUnavailableError):
    """A write was sent but no answer came back (timeout, dropped connection, 5xx): it may
    have been carried out. Never retry it blindly: read the account's posts back first."""


class ChannelAuthError(ChannelError):
    """The channel's credentials were refused: a human must renew them."""


class ChannelRejectedError(ChannelError):
    """The channel refused the request itself: retrying will not help."""
