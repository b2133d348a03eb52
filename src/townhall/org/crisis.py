"""The ``crisis:`` section of the policy: when the radar opens a crisis room by itself, how long
public replies wait, and who joins.

Pure: no I/O.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt

from townhall.org.fields import PolicyModel

OpenAt = Literal["watch", "warning", "critical", "never"]


class CrisisPolicy(PolicyModel):
    """How Townhall runs crisis rooms (every field has a default)."""

    open_at: OpenAt = "watch"
    """Severity of a radar crisis alert that opens a room automatically (``never``: by hand)."""
    cooldown_minutes: NonNegativeInt = 30
    """Minutes after a room opens before a held public reply may be approved."""
    viral_threshold: PositiveInt = 50
    """Replies and reshares of a story that count as "viral" for the forecast."""
    legal_department: str | None = Field(default=None)
    """A department that joins every crisis room (e.g. ``legal``), if the company has one."""
