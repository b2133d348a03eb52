"""The normalised ``Post``: what every connector produces and the pipeline consumes.

The wire form is one JSON object per line (Post JSONL, see ``docs/formats.md``). Every post is
attacker-controlled text: it is cleaned of control characters here and escaped wherever shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from townhall.errors import PostFormatError

MAX_TEXT_CHARS = 200_000
"""Longest post text accepted, in characters; longer posts are rejected with a clear error."""

MAX_LINE_BYTES = 4_000_000
"""Longest JSONL line accepted, in bytes."""

_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_CHANNEL = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def clean_text(value: str) -> str:
    """NFC-normalise and drop control and bidi-override characters (keeps newlines and tabs)."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", value))


class Author(BaseModel):
    """Who wrote a post, as the channel describes them."""

    model_config = ConfigDict(extra="forbid")

    handle: str = Field(min_length=1, max_length=320)
    name: str | None = Field(default=None, max_length=500)
    followers: int = Field(default=0, ge=0, le=10_000_000_000)
    location: str | None = Field(default=None, max_length=500)
    verified: bool = False

    @field_validator("handle", "name", "location", mode="after")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return None if value is None else clean_text(value).strip() or None


class Post(BaseModel):
    """One normalised post: ``id`` is ``<channel>:<external id>``; unknown fields: ``extra``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=512)
    channel: str
    created_at: datetime
    text: str = Field(default="", max_length=MAX_TEXT_CHARS)
    lang: str | None = Field(default=None, max_length=16)
    url: str | None = Field(default=None, max_length=2048)
    author: Author
    reply_to: str | None = Field(default=None, max_length=512)
    reshare_of: str | None = Field(default=None, max_length=512)
    group: str | None = Field(default=None, max_length=500)
    media: list[str | dict[str, Any]] = Field(default_factory=list, max_length=100)
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_extra(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(cls.model_fields)
            unknown = {k: v for k, v in data.items() if k not in known}
            if unknown:
                data = {k: v for k, v in data.items() if k in known}
                data["extra"] = {**data.get("extra", {}), **unknown}
        return data

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if not _CHANNEL.match(value):
            raise ValueError("must be a lower-case channel name such as 'mastodon' or 'rss'")
        return value

    @field_validator("id", "reply_to", "reshare_of", "group", "lang")
    @classmethod
    def _clean_ids(cls, value: str | None) -> str | None:
        return None if value is None else clean_text(value).strip() or None

    @field_validator("text")
    @classmethod
    def _clean_text(cls, value: str) -> str:
        return clean_text(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// address")
        return value

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-11-20T14:03:11Z")
        return value.astimezone(UTC)

    @property
    def external_id(self) -> str:
        """The channel's own id for the post (``id`` without the ``<channel>:`` prefix)."""
        return self.native_id(self.id, self.channel)

    @staticmethod
    def native_id(post_id: str, channel: str) -> str:
        """A post id without its ``<channel>:`` prefix (removed once, only when present)."""
        prefix = f"{channel}:"
        return post_id[len(prefix) :] if post_id.startswith(prefix) else post_id

    def to_json(self) -> dict[str, Any]:
        """The Post JSONL object (``extra`` fields folded back to the top level)."""
        data = self.model_dump(mode="json", exclude={"extra"})
        data["created_at"] = self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return data


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = ".".join(str(part) for part in first["loc"]) or "post"
    msg = first["msg"].removeprefix("Value error, ")
    more = len(error.errors()) - 1
    return f"{loc}: {msg}" + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")


def parse_post(
    raw: bytes | str | dict[str, Any], line: int | None = None, source: str | None = None
) -> Post:
    """Parse one Post JSONL line (or an already decoded object); raises ``PostFormatError``."""
    if isinstance(raw, dict):
        data: Any = raw
    else:
        if len(raw) > MAX_LINE_BYTES:
            raise PostFormatError(
                f"line is {len(raw):,} bytes, over the {MAX_LINE_BYTES:,} limit", line, source
            )
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise PostFormatError(f"not valid JSON ({exc})", line, source) from None
    if not isinstance(data, dict):
        raise PostFormatError(f"expected a JSON object, got {type(data).__name__}", line, source)
    try:
        return Post.model_validate(data)
    except ValidationError as exc:
        raise PostFormatError(_describe(exc), line, source) from None


def read_jsonl(lines: Iterable[bytes], source: str) -> Iterator[Post | PostFormatError]:
    """Parse Post JSONL lines; yields a ``Post`` or a ``PostFormatError`` per non-blank line."""
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        try:
            stripped.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield PostFormatError(f"invalid UTF-8 at byte {exc.start}", number, source)
            continue
        try:
            yield parse_post(stripped, number, source)
        except PostFormatError as exc:
            yield exc


def now_utc() -> datetime:
    """The current time in UTC (the one place the wall clock is read for posts)."""
    return datetime.now(UTC)
