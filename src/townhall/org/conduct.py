"""The ``conduct:`` section of the policy: the code of conduct, a list of rules.

Each rule has an id, a level (``block``, ``needs_approval`` or ``warn``), a message saying what
to do instead, what it checks, and where it applies (channels, departments, kinds of post).
``townhall.publishing.conduct`` runs the checks.

Pure: no I/O.
"""

from __future__ import annotations

from enum import StrEnum

from townhall.org.approvals import DraftKind
from townhall.org.fields import Id, PolicyModel


class Level(StrEnum):
    """What a finding does to a draft."""

    BLOCK = "block"  # it cannot be submitted
    NEEDS_APPROVAL = (
        "needs_approval"  # it goes to its approval chain even if its author could publish
    )
    WARN = "warn"  # shown and recorded


class Applies(PolicyModel):
    """Where a rule applies; an empty list means everywhere."""

    channels: list[str] = []
    departments: list[str] = []
    kinds: list[DraftKind] = []


class ConductRule(PolicyModel):
    """One rule of the code of conduct."""

    id: Id
    level: Level
    message: str
    check: str
    applies: Applies = Applies()
