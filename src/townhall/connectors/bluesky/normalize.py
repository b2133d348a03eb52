"""Bluesky post views (``app.bsky.feed.defs#postView``, notifications) to Townhall ``Post``s.

Pure functions over the decoded JSON: no network, no clock. A view that cannot be normalised
raises ``UnusableRecord`` with a reason; the connector turns it into a ``Rejected``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from townhall.connectors.html_text import html_to_text
from townhall.posts import Post

POST_COLLECTION = "app.bsky.feed.post"
MAX_TEXT_BYTES = 3000
"""The lexicon's limit for ``app.bsky.feed.post`` text (bytes); a longer record is hostile."""
WEB = "https://bsky.app"

_URI = re.compile(
    r"^at://(?P<repo>did:[a-z]+:[A-Za-z0-9._:%-]{1,2048})"
    r"/(?P<coll>[a-zA-Z0-9.]+)/(?P<rkey>[A-Za-z0-9._~:-]{1,512})$"
)
_MARKUP = re.compile(
    r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?/?\s*>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);"
)
_SCHEME = re.compile(r"^https?://(www\.)?", re.IGNORECASE)


class UnusableRecord(ValueError):
    """A record that cannot become a post; the message says why."""


def split_uri(uri: Any) -> tuple[str, str, str]:
    """``(repo did, collection, rkey)`` of an ``at://`` post URI; raises ``UnusableRecord``."""
    if not isinstance(uri, str):
        raise UnusableRecord("uri: missing or not a string")
    match = _URI.match(uri)
    if match is None:
        raise UnusableRecord("uri: not an at:// record URI")
    return match["repo"], match["coll"], match["rkey"]


def parse_time(value: Any, field: str) -> datetime:
    """An atproto datetime (RFC 3339 with a time zone); raises ``UnusableRecord``."""
    if not isinstance(value, str) or len(value) > 64:
        raise UnusableRecord(f"{field}: not a datetime string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UnusableRecord(f"{field}: unparseable datetime {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise UnusableRecord(f"{field}: needs a time zone")
    return moment


def web_url(handle: str | None, did: str, rkey: str) -> str:
    """The bsky.app address of a post (by handle, or by DID when the handle is invalid)."""
    who = handle if handle and handle != "handle.invalid" else did
    return f"{WEB}/profile/{who}/post/{rkey}"


def plain_text(record: dict[str, Any]) -> str:
    """The record's text, plain: shortened link texts expanded from their link facets, and
    anything that looks like markup reduced to its text."""
    text = record.get("text")
    if not isinstance(text, str):
        raise UnusableRecord("record.text: missing or not a string")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnusableRecord("record.text: invalid Unicode (a lone surrogate)") from None
    if len(data) > MAX_TEXT_BYTES:
        raise UnusableRecord(
            f"record.text: {len(data):,} bytes, over Bluesky's {MAX_TEXT_BYTES:,}-byte limit"
        )
    text = _expand_links(data, record.get("facets")).decode("utf-8")
    if _MARKUP.search(text):
        stripped = html_to_text(text)
        if text.strip() and not stripped:
            raise UnusableRecord("record.text: only markup, no text")
        text = stripped
    return text


def _expand_links(data: bytes, facets: Any) -> bytes:
    """Replace link texts the client shortened (``example.com/abc…``) with the full URI."""
    if not isinstance(facets, list):
        return data
    links: list[tuple[int, int, str]] = []
    for facet in facets:
        if not isinstance(facet, dict):
            continue
        index, features = facet.get("index"), facet.get("features")
        if not isinstance(index, dict) or not isinstance(features, list):
            continue
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
            continue
        for feature in features:
            if (
                isinstance(feature, dict)
                and feature.get("$type") == "app.bsky.richtext.facet#link"
                and isinstance(feature.get("uri"), str)
                and _SCHEME.match(feature["uri"])
            ):
                links.append((start, end, feature["uri"]))
    out = data
    last_start = len(data) + 1
    for start, end, uri in sorted(links, reverse=True):
        if end > len(data) or end > last_start:
            continue  # outside the text, or overlapping a later link
        try:
            shown = data[start:end].decode("utf-8")
        except UnicodeDecodeError:
            continue  # not on character boundaries
        replacement = _link_text(shown, uri)
        out = out[:start] + replacement.encode("utf-8") + out[end:]
        last_start = start
    return out


def _link_text(shown: str, uri: str) -> str:
    bare = _SCHEME.sub("", uri)
    short = _SCHEME.sub("", shown).rstrip(".…").rstrip()
    if shown == uri:
        return uri
    if short and bare.startswith(short):
        return uri
    return f"{shown} ({uri})"


def _ref_uri(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("uri"), str):
        uri: str = value["uri"]
        split_uri(uri)
        return uri
    return None


def quoted_uri(embed: Any) -> str | None:
    """The URI of the record a post quotes (``app.bsky.embed.record`` or
    ``recordWithMedia``), if any."""
    if not isinstance(embed, dict):
        return None
    kind = embed.get("$type")
    if kind == "app.bsky.embed.record":
        return _ref_uri(embed.get("record"))
    if kind == "app.bsky.embed.recordWithMedia":
        inner = embed.get("record")
        return _ref_uri(inner.get("record")) if isinstance(inner, dict) else None
    return None


def reply_parent(record: dict[str, Any]) -> str | None:
    """The URI of the post a record replies to."""
    reply = record.get("reply")
    return _ref_uri(reply.get("parent")) if isinstance(reply, dict) else None


def to_post(
    channel: str,
    view: dict[str, Any],
    *,
    followers: dict[str, int] | None = None,
    extra: dict[str, Any] | None = None,
) -> Post:
    """One post view (or notification) as a ``Post``; raises ``UnusableRecord``."""
    did, collection, rkey = split_uri(view.get("uri"))
    if collection != POST_COLLECTION:
        raise UnusableRecord(f"uri: a {collection[:60]} record, not a post")
    record = view.get("record")
    if not isinstance(record, dict):
        raise UnusableRecord("record: missing or not an object")
    kind = record.get("$type", POST_COLLECTION)
    if kind != POST_COLLECTION:
        raise UnusableRecord(f"record.$type: {str(kind)[:60]!r}, not a post")
    author = view.get("author")
    if not isinstance(author, dict):
        raise UnusableRecord("author: missing or not an object")
    handle, name = author.get("handle"), author.get("displayName")
    if not isinstance(handle, str) or not handle:
        raise UnusableRecord("author.handle: missing or not a string")
    if name is not None and not isinstance(name, str):
        raise UnusableRecord("author.displayName: not a string")
    if "createdAt" in record:
        created = parse_time(record["createdAt"], "record.createdAt")
    elif "indexedAt" in view:
        created = parse_time(view["indexedAt"], "indexedAt")
    else:
        raise UnusableRecord("record.createdAt and indexedAt: both missing")
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    cid = view.get("cid")
    data: dict[str, Any] = {
        "id": f"{channel}:{view['uri']}",
        "channel": channel,
        "created_at": created,
        "text": plain_text(record),
        "lang": lang,
        "url": web_url(handle, did, rkey),
        "author": {
            "handle": handle,
            "name": name or None,
            "followers": (followers or {}).get(str(author.get("did")), 0),
        },
        "extra": {"cid": cid if isinstance(cid, str) else None, **(extra or {})},
    }
    parent = reply_parent(record)
    if parent is not None:
        data["reply_to"] = f"{channel}:{parent}"
    quoted = quoted_uri(record.get("embed"))
    if quoted is not None:
        data["extra"]["quote_of"] = f"{channel}:{quoted}"
    try:
        return Post.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "post"
        raise UnusableRecord(f"{where}: {first['msg']}") from None
