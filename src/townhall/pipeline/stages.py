"""Pure pipeline stages: functions over a batch of posts plus the state they need."""

from __future__ import annotations

from collections.abc import Iterable

from townhall.posts import Post


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
