"""feedparser entries to ``Post``: identity, date, plain text, author (pure, no I/O, no clock).

An entry's identity is its guid (RSS ``<guid>``, Atom ``<id>``), else its link, else a hash
of its title and date: the way feed readers recognise an entry they have already shown.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from townhall.connectors.html_text import html_to_text
from townhall.posts import Post

MAX_NATIVE_ID_CHARS = 400
"""Longer guids (some feeds put a whole URL with tracking parameters there) become a hash."""

MAX_TEXT_CHARS = 20_000
"""Longest post text kept from one entry, in characters; longer texts are cut with "…"."""

MAX_TAGS = 30
MAX_MEDIA = 20


@dataclass(frozen=True)
class FeedContext:
    """What an entry's normalisation needs to know about its feed and the fetch."""

    channel: str  # the policy's channel id
    url: str  # the feed address as configured in the policy
    title: str | None  # the feed's own title, plain text
    host: str  # the feed's host name, the author of last resort
    fetched_at: datetime  # UTC; the date of an entry that has none


def _hash(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _string(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def entry_key(entry: Mapping[str, Any]) -> str | None:
    """The entry's identity: guid, else link, else a hash of title + date; None if none."""
    for field in ("id", "link"):
        value = _string(entry.get(field))
        if value:
            return value
    title = _string(entry.get("title"))
    date = _string(_own(entry, "published")) or _string(_own(entry, "updated"))
    if title or date:
        return _hash(f"{title}\n{date}")
    return None


def native_id(key: str) -> str:
    """The id a post carries after ``<channel>:``: the key, or its hash when it is too long."""
    return key if len(key) <= MAX_NATIVE_ID_CHARS else _hash(key)


_TAG = re.compile(r"<[A-Za-z!/]")


def _own(entry: Mapping[str, Any], key: str) -> Any:
    """A field as the feed gave it (feedparser maps a missing ``updated`` to ``published``)."""
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)


def _plain(detail: Any, value: Any) -> str:
    """The plain text of a feedparser text construct (HTML converted, plain text kept).

    "Plain" text that carries tags anyway (feedparser only calls an RSS field HTML when every
    tag in it is harmless) is read as HTML too, so no markup reaches a post."""
    text = value if isinstance(value, str) else ""
    kind = detail.get("type", "") if isinstance(detail, Mapping) else ""
    if not isinstance(kind, str) or "html" in kind or "xml" in kind or _TAG.search(text):
        return html_to_text(text)  # hand-wrapped feed HTML: source line breaks are spaces
    return text.strip()


def _one_line(value: Any, limit: int) -> str | None:
    text = value if isinstance(value, str) else ""
    if "<" in text:
        text = html_to_text(text)
    text = " ".join(text.split())[:limit]
    return text or None


def _body(entry: Mapping[str, Any]) -> str:
    contents = entry.get("content")
    if isinstance(contents, list) and contents:
        usable = [c for c in contents if isinstance(c, Mapping) and isinstance(c.get("value"), str)]
        html = [c for c in usable if "html" in str(c.get("type", ""))]
        if html or usable:
            chosen = (html or usable)[0]
            return _plain(chosen, chosen.get("value"))
    return _plain(entry.get("summary_detail"), entry.get("summary"))


def entry_text(entry: Mapping[str, Any]) -> str:
    """Title, a blank line, then the content (or summary) as plain text; cut to a sane size."""
    title = " ".join(_plain(entry.get("title_detail"), entry.get("title")).split())
    body = _body(entry)
    # Many feeds repeat the title as the first line of the content: say it once.
    text = f"{title}\n\n{body}" if title and body and not body.startswith(title) else body or title
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 1].rstrip() + "…"
    return text


def entry_date(entry: Mapping[str, Any], fetched_at: datetime) -> datetime:
    """When the entry was published (else updated), UTC; the fetch time if it has no date.

    Raises ``ValueError`` when the entry has a date that cannot be read."""
    for field in ("published", "updated"):
        parsed = _own(entry, f"{field}_parsed")
        if parsed:
            year, month, day, hour, minute, second = tuple(parsed)[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    raw = _string(_own(entry, "published")) or _string(_own(entry, "updated"))
    if raw:
        raise ValueError(f"created_at: {raw[:80]!r} is not a date")
    return fetched_at


def _web_address(value: Any) -> str | None:
    text = _string(value)
    if text.lower().startswith(("http://", "https://")) and len(text) <= 2048:
        return text
    return None


def _tags(entry: Mapping[str, Any]) -> list[str]:
    tags: list[str] = []
    raw = entry.get("tags")
    for tag in raw if isinstance(raw, list) else []:
        term = _one_line(tag.get("term") if isinstance(tag, Mapping) else None, 100)
        if term and term not in tags:
            tags.append(term)
        if len(tags) >= MAX_TAGS:
            break
    return tags


def _media(entry: Mapping[str, Any]) -> list[str | dict[str, Any]]:
    media: list[str | dict[str, Any]] = []
    raw = entry.get("enclosures")
    for enclosure in raw if isinstance(raw, list) else []:
        href = _web_address(enclosure.get("href") if isinstance(enclosure, Mapping) else None)
        if href and href not in media:
            media.append(href)
        if len(media) >= MAX_MEDIA:
            break
    return media


def normalize_entry(entry: Mapping[str, Any], key: str, feed: FeedContext) -> Post:
    """One feed entry as a ``Post``; raises ``ValueError`` / ``ValidationError`` if it cannot be."""
    text = entry_text(entry)
    url = _web_address(entry.get("link"))
    if not text and url is None:
        raise ValueError("text: the entry has no title, content or link")
    # feedparser's ``author`` is "Name (email)" when both are given: the name is the handle.
    detail = entry.get("author_detail")
    name = _one_line(detail.get("name") if isinstance(detail, Mapping) else None, 500)
    author = (name[:320] if name else None) or _one_line(entry.get("author"), 320)
    name = name or author
    fallback = feed.title or feed.host
    data: dict[str, Any] = {
        "id": f"{feed.channel}:{native_id(key)}",
        "channel": feed.channel,
        "created_at": entry_date(entry, feed.fetched_at),
        "text": text,
        "url": url,
        "author": {
            "handle": author or fallback[:320],
            "name": name or fallback[:500],
            "followers": 0,
        },
        "media": _media(entry),
        "extra": {"feed_url": feed.url, "feed_title": feed.title, "tags": _tags(entry)},
    }
    return Post.model_validate(data)


def describe(error: Exception) -> str:
    """A one-line reason for a rejected entry, naming the field where pydantic knows it."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        loc = ".".join(str(part) for part in first["loc"]) or "post"
        return f"{loc}: {first['msg'].removeprefix('Value error, ')}"
    if isinstance(error, ValueError):
        return str(error)
    return f"{type(error).__name__}: {error}"
