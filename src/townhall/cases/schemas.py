"""Plain data for the inbox: filters in, thread views out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from townhall.models import ItemStatus, PostRecord

PAGE_SIZE = 50
"""Items shown per page of the inbox; "Show more" (or scrolling) brings the next 50. Rendering
the rows is most of an inbox page's time (100 rows: 150 KB of HTML, about 60% of the request
at 100,000 posts), and 50 is more than a screen, on a phone too."""

MAX_NOTE_CHARS = 10_000
"""Longest internal note accepted, in characters."""

OPEN_STATUSES = (ItemStatus.NEW, ItemStatus.IN_PROGRESS)
"""Statuses of items still waiting for someone."""


@dataclass(frozen=True)
class InboxFilter:
    """Which items to show; every field narrows the list, ``None`` or empty means any."""

    department: str | None = None
    channel: str | None = None
    statuses: tuple[ItemStatus, ...] = ()
    text: str | None = None
    intent: str | None = None
    sentiment: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    breached: bool = False
    """Only items with an SLA clock that ran out."""
    tag: str | None = None
    """Only items with this tag (``no_reply_needed``, ``spam``: what the policy or a person
    closed without a reply)."""
    visible: tuple[frozenset[str], str | None] | None = None
    """Only items the person may see: (departments they see outright, the department whose
    supported items they also see); None: no limit."""

    def open_only(self) -> InboxFilter:
        """The same filter restricted to items not done yet."""
        return replace(self, statuses=OPEN_STATUSES)


@dataclass(frozen=True)
class Thread:
    """The conversation around a post: what it replies to, replies to it, reshare count."""

    parent: PostRecord | None
    replies: list[PostRecord] = field(default_factory=list)
    reshares: int = 0
