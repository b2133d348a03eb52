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

MAX_DEPTH = 32
"""Deepest nesting of lists and objects accepted inside a post (``extra``, ``media``)."""

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
"""Posts dated before this are rejected: no social network or feed is that old, and such a
date is a mistake (a zero timestamp, a year 0001 default)."""

MAX_FUTURE_SECONDS = 300.0
"""Default clock skew allowed for a post dated after the moment it is read (seconds); posts
further in the future are rejected (``check_time``), never clamped."""

_REFERENCE = re.compile(r"^[a-z][a-z0-9_-]{0,31}:(?!//)")
"""A post id that already names its channel (``forum:777``; not a URI such as ``at://…``)."""

_BOM = b"\xef\xbb\xbf"

_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_URL_JUNK = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
"""What browsers drop from an address anyway (tabs, line breaks) and what no address needs
(control, bidi and zero-width characters): removed from a post's URL."""
_CHANNEL = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def clean_text(value: str) -> str:
    """NFC-normalise and drop control and bidi-override characters (keeps newlines and tabs)."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", value))


def terminal_safe(text: str) -> str:
    """``text`` with control and escape characters shown as ``\\x1b``-style escapes, so that
    nothing a post carries can drive the terminal it is printed on."""
    return _TERMINAL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


_TERMINAL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (iterative: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


class Author(BaseModel):
    """Who wrote a post, as the channel describes them (types are strict: ``followers`` is a
    JSON integer, ``verified`` a JSON boolean)."""

    model_config = ConfigDict(extra="forbid")

    handle: str = Field(min_length=1, max_length=320)
    name: str | None = Field(default=None, max_length=500)
    followers: int = Field(default=0, ge=0, le=10_000_000_000, strict=True)
    location: str | None = Field(default=None, max_length=500)
    verified: bool = Field(default=False, strict=True)

    @field_validator("name", "location", mode="after")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return None if value is None else clean_text(value).strip() or None

    @field_validator("handle", mode="after")
    @classmethod
    def _handle(cls, value: str) -> str:
        handle = clean_text(value).strip()
        if not handle:
            raise ValueError("must not be blank (or only invisible characters)")
        return handle


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

    @field_validator("reply_to", "reshare_of", "group", "lang")
    @classmethod
    def _clean_ids(cls, value: str | None) -> str | None:
        return None if value is None else clean_text(value).strip() or None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        cleaned = clean_text(value).strip()
        if not cleaned:
            raise ValueError("must not be blank (or only invisible characters)")
        return cleaned

    @model_validator(mode="after")
    def _canonical_ids(self) -> Post:
        # Identity is (channel, native id): an id is always "<channel>:<native id>", so two
        # channels' "777" never meet, and "forum:777" posted on mastodon is mastodon's
        # "forum:777". References name their channel unless they are bare ids of this one.
        prefix = f"{self.channel}:"
        if not self.id.startswith(prefix):
            object.__setattr__(self, "id", prefix + self.id)
        for name in ("reply_to", "reshare_of"):
            ref = getattr(self, name)
            if ref is not None and not _REFERENCE.match(ref):
                object.__setattr__(self, name, prefix + ref)
        if len(self.id) > 512:
            raise ValueError("id: is longer than 512 characters with its channel prefix")
        if not self.id[len(prefix) :].strip():
            raise ValueError(f"id: has nothing after {prefix!r} (the channel's own id is missing)")
        return self

    @field_validator("extra", "media")
    @classmethod
    def _shallow(cls, value: Any) -> Any:
        if _depth(value) > MAX_DEPTH:
            raise ValueError(f"nests deeper than {MAX_DEPTH} levels")
        # The bus and the store write posts as JSON: a value JSON cannot carry (a lone
        # surrogate from a vendor's decoder, a non-text key, an integer over 64 bits) is this
        # post's error here, not a crash of the batch later.
        try:
            orjson.dumps(value)
        except TypeError as exc:
            raise ValueError(f"cannot be written as JSON ({exc})") from None
        return value

    @field_validator("text")
    @classmethod
    def _clean_text(cls, value: str) -> str:
        return clean_text(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _URL_JUNK.sub("", value).strip()
        if not value:
            return None
        if not value.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// address")
        return value

    @field_validator("created_at", mode="before")
    @classmethod
    def _time_text(cls, value: Any) -> Any:
        if not isinstance(value, (str, datetime)):
            raise ValueError(
                "must be an ISO 8601 time as a string, e.g. 2026-11-20T14:03:11Z "
                f"(got {type(value).__name__})"
            )
        return value

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-11-20T14:03:11Z")
        try:
            utc = value.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"is out of range ({value.isoformat()} has no UTC time)") from None
        if utc < EARLIEST:
            raise ValueError(f"is before {EARLIEST:%Y}: {utc:%Y-%m-%d} is not a post's date")
        return utc

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
    if msg.startswith("id: ") and loc == "post":
        loc, msg = "id", msg.removeprefix("id: ")
    more = len(error.errors()) - 1
    text = f"{loc}: {msg}" + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
    return terminal_safe(text)


def check_time(post: Post, now: datetime, max_future: float = MAX_FUTURE_SECONDS) -> str | None:
    """Why ``post`` is too far in the future to accept at ``now`` (None when it is not)."""
    ahead = (post.created_at - now).total_seconds()
    if ahead <= max_future:
        return None
    hours, rest = divmod(int(min(ahead, 1e12)), 3600)
    if hours >= 48:
        span = f"{hours // 24:,} days"
    else:
        span = f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"
    return (
        f"created_at: {post.created_at:%Y-%m-%d %H:%M:%S}Z is {span} in the future "
        f"(more than {max_future:g} s of clock skew)"
    )


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
    except (RecursionError, OverflowError, ValueError, TypeError) as exc:
        # Anything the field checks did not foresee still rejects this line alone.
        message = terminal_safe(f"post: cannot be read ({type(exc).__name__}: {exc})"[:300])
        raise PostFormatError(message, line, source) from None


def read_jsonl(
    lines: Iterable[bytes],
    source: str,
    now: datetime | None = None,
    max_future: float = MAX_FUTURE_SECONDS,
) -> Iterator[Post | PostFormatError]:
    """Parse Post JSONL lines; yields a ``Post`` or a ``PostFormatError`` per non-blank line.

    A UTF-8 byte-order mark before a line is skipped. With ``now``, a post dated more than
    ``max_future`` seconds after it is rejected (``check_time``).
    """
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if stripped.startswith(_BOM):
            stripped = stripped[len(_BOM) :].strip()
        if not stripped:
            continue
        try:
            stripped.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield PostFormatError(f"invalid UTF-8 at byte {exc.start}", number, source)
            continue
        try:
            post = parse_post(stripped, number, source)
        except PostFormatError as exc:
            yield exc
            continue
        late = check_time(post, now, max_future) if now is not None else None
        yield post if late is None else PostFormatError(late, number, source)


def now_utc() -> datetime:
    """The current time in UTC (the one place the wall clock is read for posts)."""
    return datetime.now(UTC)
