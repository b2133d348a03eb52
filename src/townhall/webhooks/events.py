"""The events Townhall sends to webhook endpoints, and the ``data`` of each one's payload.

Pure: plain dicts from the rows and values at hand. A payload carries ids, names, states and
links to Townhall's pages (``/items/12``), and of post text at most a short excerpt: it is
attacker text, and receivers that want more fetch it from the API.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from townhall.models import CrisisRoom, Item, OutboxPost, SlaBreach
    from townhall.posts import Post

EVENTS: dict[str, str] = {
    "item.routed": "A post became an inbox item and was routed to a department.",
    "sla.breached": "An item's first-response or resolution SLA ran out.",
    "crisis.opened": "A crisis room was opened (by the radar or by hand).",
    "crisis.changed": "A crisis room's status changed (watching → active → resolved).",
    "draft.awaiting_approval": "A draft waits for an approver (new, revised, or at its next step).",
    "post.published": "An outbox post went out on its channel.",
    "post.failed": "The channel refused an outbox post: a person must look at it.",
}
"""Every event name, with what it means (docs/webhooks.md lists the payloads)."""

EXCERPT_CHARS = 200
"""Most characters of post text in a payload."""


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters (with an ellipsis when cut)."""
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1] + "…"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def item_routed(
    ids: Sequence[int],
    items: Sequence[Mapping[str, Any]],
    stored: Sequence[tuple[int, Post, object]],
) -> Iterator[dict[str, Any]]:
    """One ``item.routed`` data per new item (the pipeline's rows: lazy, so that nothing is
    built when no endpoint listens)."""
    posts = {row_id: post for row_id, post, _ in stored}
    for item_id, item in zip(ids, items, strict=True):
        post = posts.get(item["post_pk"])
        yield {
            "item_id": item_id,
            "link": f"/items/{item_id}",
            "department": item["department"],
            "supporting": list(item["supporting"]),
            "priority": item["priority"],
            "rule": item["rule"],
            "why": item["why"],
            "closed": item["resolved_at"] is not None,
            "first_response_due_at": _time(item["first_response_due_at"]),
            "resolution_due_at": _time(item["resolution_due_at"]),
            "post": None
            if post is None
            else {
                "id": post.id,
                "channel": post.channel,
                "url": post.url,
                "author": post.author.handle,
                "created_at": _time(post.created_at),
                "excerpt": excerpt(post.text),
            },
        }


class _Step(Protocol):
    @property
    def department(self) -> str: ...


def sla_breached(item: Item, breach: SlaBreach, chain: Sequence[_Step]) -> dict[str, Any]:
    """The ``sla.breached`` data of one breach of one of an item's clocks, before the item
    moves up its escalation ``chain`` (``escalated_to`` is None at the top of it)."""
    escalates = item.escalation_level < len(chain)
    return {
        "item_id": item.id,
        "link": f"/items/{item.id}",
        "clock": breach.clock,
        "department": breach.department,
        "due_at": _time(breach.due_at),
        "breached_at": _time(breach.breached_at),
        "escalated_to": chain[item.escalation_level].department if escalates else None,
        "priority": item.priority,
    }


def crisis(room: CrisisRoom, previous: str | None = None) -> dict[str, Any]:
    """The data of ``crisis.opened`` (no ``previous``) and ``crisis.changed``."""
    data: dict[str, Any] = {
        "room_id": room.id,
        "link": f"/crises/{room.id}",
        "title": room.title,
        "story": room.story,
        "topic": room.topic,
        "status": str(room.status),
        "lead_department": room.lead_department,
        "departments": list(room.departments),
        "risk": room.risk,
        "opened_by": room.opened_by,
    }
    if previous is not None:
        data["previous_status"] = previous
        data["outcome"] = room.outcome
    return data


def outbox_post(post: OutboxPost, **more: Any) -> dict[str, Any]:
    """The data of ``draft.awaiting_approval``, ``post.published`` and ``post.failed`` (the
    draft's own text is left out: the link leads to it)."""
    return {
        "outbox_id": post.id,
        "link": f"/drafts/{post.id}",
        "channel": post.channel,
        "kind": str(post.kind),
        "status": str(post.status),
        "department": post.department,
        "item_id": post.item_id,
        "item_link": f"/items/{post.item_id}" if post.item_id else None,
        "reply_to": post.reply_to,
        "chain": post.chain,
        "step": post.step,
        "remote_id": post.remote_id,
        "remote_url": post.remote_url,
        "error": post.error or None,
        **more,
    }
