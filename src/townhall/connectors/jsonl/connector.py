"""``JsonlConnector``: reads Post JSONL from a file or any binary stream."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from townhall.connectors.base import Capability, ConnectorInfo
from townhall.errors import PostFormatError
from townhall.posts import MAX_FUTURE_SECONDS, Post, read_jsonl


class JsonlConnector:
    """A ``Source`` over Post JSONL lines; a bad line yields its numbered error, never stops it."""

    info = ConnectorInfo(
        name="jsonl",
        capabilities=frozenset({Capability.FETCH}),
        description="Post JSONL files: exports from other tools, replays, hand-made test data.",
    )

    def __init__(
        self,
        stream: BinaryIO | Iterable[bytes],
        source: str,
        on_line: Callable[[bytes], None] | None = None,
        not_after: Callable[[], datetime] | None = None,
        max_future: float = MAX_FUTURE_SECONDS,
    ) -> None:
        """Read ``stream``; ``source`` names it in errors; ``on_line`` sees each raw line;
        with ``not_after`` (a clock), a post dated more than ``max_future`` seconds after it
        is a numbered error."""
        self._stream = stream
        self.source = source
        self._on_line = on_line
        self._not_after = not_after
        self._max_future = max_future

    @classmethod
    def from_path(cls, path: Path) -> JsonlConnector:
        """A connector over a file (the caller closes nothing: ``fetch`` reads it whole)."""
        return cls(_read_lines(path), str(path))

    def _lines(self) -> Iterator[bytes]:
        for line in self._stream:
            if self._on_line is not None:
                self._on_line(line)
            yield line

    def fetch(self) -> Iterator[Post | PostFormatError]:
        """Every post of the stream in order; a malformed line yields a ``PostFormatError``."""
        now = self._not_after() if self._not_after is not None else None
        return read_jsonl(self._lines(), self.source, now, self._max_future)


def _read_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        yield from stream
