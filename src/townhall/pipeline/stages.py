"""Pure pipeline stages: functions over a batch of posts plus the state they need."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from townhall.posts import Post
from townhall.routing.rules import RouteDecision


class OwnerPolicy(Protocol):
    """The part of the organisation policy this stage needs."""

    def default_owner(self, channel_id: str) -> str:
        """The department that owns a channel's items by default."""
        ...


def post_key(post: Post) -> tuple[str, str]:
    """The identity of a post: (channel, external id)."""
    return (post.channel, post.external_id)


def dedup(posts: Iterable[Post]) -> tuple[list[Post], int]:
    """Drop repeats of the same (channel, external id) inside a batch; returns (kept, dropped)."""
    seen: set[tuple[str, str]] = set()
    unique: list[Post] = []
    dropped = 0
    for post in posts:
        key = post_key(post)
        if key in seen:
            dropped += 1
            continue
        seen.add(key)
        unique.append(post)
    return unique, dropped


def needs_item(post: Post) -> bool:
    """Whether a post needs someone's attention: a plain reshare (no text of its own) does not."""
    return not (post.reshare_of and not post.text.strip())


def route_by_channel(post: Post, policy: OwnerPolicy) -> RouteDecision:
    """Send an item to the department the policy names as the channel's default owner.

    Used when a post was not understood (no enrichment to match rules against).
    """
    department = policy.default_owner(post.channel)
    return RouteDecision(
        department=department,
        supporting=(),
        priority="normal",
        sla_first_response_minutes=None,
        sla_resolution_minutes=None,
        tags=(),
        escalate=False,
        rule="channel_default",
        matched={"channel": post.channel},
        why=f"{department} is the default owner of the {post.channel} channel in the policy.",
    )
