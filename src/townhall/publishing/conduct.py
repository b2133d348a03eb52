"""The code of conduct checker: pure and fast (no I/O, no database).

INTERFACE FIXED BY THE LEAD; the conduct helper implements it (see /tmp/briefs/conduct.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from townhall.models.user import Role
from townhall.org.approvals import DraftKind, Right
from townhall.org.conduct import Level
from townhall.org.policy import Policy


@dataclass(frozen=True)
class Context:
    """Who writes what, where."""

    channel: str
    kind: DraftKind = DraftKind.REPLY
    department: str = ""
    """The department that owns the draft (the item's, or the channel's default owner)."""
    author_department: str = ""
    author_role: Role = Role.MEMBER
    author_rights: Sequence[Right] = ()
    paid: bool = False
    """Part of a paid campaign or sponsorship (the disclosure rule applies)."""


@dataclass(frozen=True)
class Finding:
    """One rule broken (or to look at) in one place: ``text[start:end]``."""

    rule: str
    level: Level
    message: str
    """What to do instead (the rule's message)."""
    why: str
    """What was found, in words, e.g. "a phone number (+44 20 7946 0958)"."""
    start: int
    end: int

    def as_json(self) -> dict[str, object]:
        """The finding as one JSON object (the keys ``townhall conduct check`` prints)."""
        return {
            "rule": self.rule,
            "level": str(self.level),
            "message": self.message,
            "why": self.why,
            "start": self.start,
            "end": self.end,
        }


def check(policy: Policy, text: str, context: Context) -> list[Finding]:
    """Every finding of the policy's code of conduct on ``text``, in text order."""
    raise NotImplementedError


def blocks(findings: Sequence[Finding]) -> bool:
    """Whether any finding stops the draft from being submitted."""
    return any(f.level == Level.BLOCK for f in findings)


def needs_approval(findings: Sequence[Finding]) -> bool:
    """Whether a finding sends the draft to its approval chain whoever wrote it."""
    return any(f.level == Level.NEEDS_APPROVAL for f in findings)
