"""The connector contract: a source of normalised posts, and optionally a publisher.

Vendor errors never leave a connector: they are translated into ``ChannelError`` subclasses
(``townhall.errors``) at the boundary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from townhall.errors import PostFormatError
from townhall.posts import Post


class Capability(StrEnum):
    """What a connector can do."""

    FETCH = "fetch"  # read a finite batch (a file, a replay, a page of history)
    STREAM = "stream"  # follow new posts as they arrive
    PUBLISH = "publish"  # post on the channel


@dataclass(frozen=True)
class ConnectorInfo:
    """A connector's name, the channels it speaks for, and its capabilities."""

    name: str
    capabilities: frozenset[Capability]
    description: str


@runtime_checkable
class Source(Protocol):
    """Yields posts (or a per-record error that names the record) from one channel."""

    info: ConnectorInfo

    def fetch(self) -> Iterator[Post | PostFormatError]:
        """Every post the source has now, in order; a bad record yields its error."""
        ...


@runtime_checkable
class LiveSource(Source, Protocol):
    """A source that also follows new posts as they happen."""

    def stream(self) -> AsyncIterator[Post]:
        """New posts as they arrive; ends when the source ends or is cancelled."""
        ...
