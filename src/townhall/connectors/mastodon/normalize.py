"""Mastodon entities (Status, Account, Notification) to Townhall posts: pure functions."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from townhall.connectors.base import Rejected
from townhall.connectors.html_text import html_to_text
from townhall.posts import Post

MAX_CONTENT_CHARS = 100_000
"""Longest status ``content`` (HTML) normalised; Mastodon's own limit is far below it."""

_MENTION_DOMAIN = re.compile(r"(?<![\w@])@([A-Za-z0-9_]+)@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_SPACE = re.compile(r"\s+")


def handle(account: dict[str, Any], instance_host: str) -> str:
    """``@user@domain`` for an Account (a local account's ``acct`` has no domain)."""
    raw = account.get("acct")
    acct = raw.lstrip("@") if isinstance(raw, str) else ""
    if not acct:
        raise ValueError("account.acct is missing or empty")
    if "@" not in acct:
        acct = f"{acct}@{instance_host}"
    return f"@{acct}"


def verified(account: dict[str, Any]) -> bool:
    """True when a profile field carries ``verified_at`` (a rel=me link Mastodon checked).

    Mastodon has no identity verification; a verified link is the closest it gets."""
    fields = account.get("fields") or []
    if not isinstance(fields, list):
        return False
    return any(isinstance(f, dict) and f.get("verified_at") for f in fields)


def plain_text(status: dict[str, Any]) -> str:
    """A status's text: the content warning in front (``CW: …``), then the content."""
    content = status.get("content")
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise ValueError(f"content is a {type(content).__name__}, not text")
    if len(content) > MAX_CONTENT_CHARS:
        raise ValueError(f"content is {len(content):,} characters, over {MAX_CONTENT_CHARS:,}")
    text = html_to_text(content)
    warning = status.get("spoiler_text") or ""
    if not isinstance(warning, str):
        raise ValueError("spoiler_text is not text")
    return f"CW: {warning.strip()}\n\n{text}" if warning.strip() else text


def comparable(text: str) -> str:
    """Text reduced for matching what was sent against what Mastodon shows: whitespace
    collapsed, and ``@user@domain`` mentions cut to ``@user`` (Mastodon renders them so)."""
    return _SPACE.sub(" ", _MENTION_DOMAIN.sub(r"@\1", text)).strip()


def _native_id(value: Any) -> str | None:
    """A Mastodon id as a plain string (Mastodon.py hands out ``str`` subclasses)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value)
    return text if text and len(text) <= 64 else None


def _created(value: Any) -> datetime | str:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return value
    raise ValueError("created_at is missing")


def status_to_post(
    status: dict[str, Any],
    channel: str,
    instance_host: str,
    *,
    source: str,
    notification_id: str | None = None,
) -> Post:
    """One Status as a Post (raises ``ValueError`` / ``ValidationError`` when it cannot be)."""
    native = _native_id(status.get("id"))
    if native is None:
        raise ValueError("id is missing or not a string")
    account = status.get("account")
    if account is None:
        raise ValueError("account is missing")
    if not isinstance(account, dict):
        raise ValueError(f"account is a {type(account).__name__}, not an object")
    reblog = status.get("reblog")
    reblogged = _native_id(reblog.get("id")) if isinstance(reblog, dict) else None
    if isinstance(reblog, dict) and reblogged is None:
        raise ValueError("reblog.id is missing or not a string")
    reply = status.get("in_reply_to_id")
    replied = _native_id(reply) if reply else None
    if reply and replied is None:
        raise ValueError("in_reply_to_id is not a string")
    attachments = status.get("media_attachments") or []
    if not isinstance(attachments, list):
        raise ValueError(f"media_attachments is a {type(attachments).__name__}, not a list")
    media = [
        str(m.get("url") or m.get("remote_url"))
        for m in attachments
        if isinstance(m, dict) and (m.get("url") or m.get("remote_url"))
    ]
    extra: dict[str, Any] = {"visibility": status.get("visibility"), "source": source}
    if notification_id is not None:
        extra["notification_id"] = notification_id
    followers = account.get("followers_count") or 0
    data: dict[str, Any] = {
        "id": f"{channel}:{native}",
        "channel": channel,
        "created_at": _created(status.get("created_at")),
        "text": "" if isinstance(reblog, dict) else plain_text(status),
        "lang": status.get("language") or None,
        "url": status.get("url") or None,
        "author": {
            "handle": handle(account, instance_host),
            "name": account.get("display_name") or None,
            "followers": followers,
            "verified": verified(account),
        },
        "reply_to": f"{channel}:{replied}" if replied else None,
        "reshare_of": f"{channel}:{reblogged}" if reblogged else None,
        "media": media,
        "extra": extra,
    }
    return Post.model_validate(data)


def normalise(
    status: Any,
    channel: str,
    instance_host: str,
    *,
    source: str,
    notification_id: str | None = None,
) -> Post | Rejected:
    """A Post, or a ``Rejected`` naming the status when it cannot be normalised."""
    native = _native_id(status.get("id")) if isinstance(status, dict) else None
    where = f"mastodon status {native}" if native else f"mastodon {source} record"
    if notification_id is not None and not native:
        where = f"mastodon notification {notification_id}"
    if not isinstance(status, dict):
        return Rejected(where, f"expected a status object, got {type(status).__name__}")
    try:
        return status_to_post(
            status, channel, instance_host, source=source, notification_id=notification_id
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "status"
        return Rejected(where, f"{loc}: {first['msg'].removeprefix('Value error, ')}")
    except Exception as exc:  # one odd record must never stop the page
        return Rejected(where, str(exc) or type(exc).__name__)


def host_of(api_base_url: str) -> str:
    """The instance's host name (``mastodon.example``) from its API address."""
    return urlsplit(api_base_url).hostname or api_base_url
