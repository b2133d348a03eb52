"""Payloads shaped like Mastodon's documented entities (Status, Account, Notification).

Used by the stand-in server: plain text in, the HTML ``content`` Mastodon renders out
(``<p>`` paragraphs, ``<br />`` line breaks, mention / hashtag / link anchors).
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

_TOKEN = re.compile(
    r"(?P<mention>(?<![\w@])@(?P<user>[A-Za-z0-9_]+)(?:@(?P<domain>[A-Za-z0-9.-]+\.[A-Za-z]{2,}))?)"
    r"|(?P<tag>(?<![\w#])#(?P<name>\w+))"
    r"|(?P<link>https?://[^\s<>\"]+)"
)


def iso(moment: datetime) -> str:
    """A Mastodon timestamp: ISO 8601 in UTC with milliseconds and ``Z``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def account(
    id: str, username: str, domain: str, local_domain: str, *, name: str = "", followers: int = 0
) -> dict[str, Any]:
    """An Account entity; ``acct`` has no domain part for a local account."""
    acct = username if domain == local_domain else f"{username}@{domain}"
    url = f"https://{domain}/@{username}"
    return {
        "id": id,
        "username": username,
        "acct": acct,
        "display_name": name,
        "locked": False,
        "bot": False,
        "discoverable": True,
        "group": False,
        "created_at": "2024-01-01T00:00:00.000Z",
        "note": "",
        "url": url,
        "uri": f"https://{domain}/users/{username}",
        "avatar": f"https://{local_domain}/avatars/original/missing.png",
        "avatar_static": f"https://{local_domain}/avatars/original/missing.png",
        "header": f"https://{local_domain}/headers/original/missing.png",
        "header_static": f"https://{local_domain}/headers/original/missing.png",
        "followers_count": followers,
        "following_count": 0,
        "statuses_count": 0,
        "last_status_at": None,
        "emojis": [],
        "fields": [],
    }


def render_content(text: str, local_domain: str) -> tuple[str, list[dict[str, Any]], list[str]]:
    """Mastodon's HTML for plain ``text``, with the mentions and hashtags it found."""
    mentions: list[dict[str, Any]] = []
    tags: list[str] = []
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
    rendered = []
    for paragraph in paragraphs:
        out: list[str] = []
        last = 0
        for match in _TOKEN.finditer(paragraph):
            out.append(html.escape(paragraph[last : match.start()], quote=False))
            last = match.end()
            if match.group("mention"):
                user = match.group("user")
                domain = match.group("domain") or local_domain
                acct = user if domain == local_domain else f"{user}@{domain}"
                url = f"https://{domain}/@{user}"
                mentions.append({"id": "", "username": user, "url": url, "acct": acct})
                out.append(
                    f'<span class="h-card" translate="no"><a href="{html.escape(url)}" '
                    f'class="u-url mention">@<span>{html.escape(user)}</span></a></span>'
                )
            elif match.group("tag"):
                name = match.group("name")
                tags.append(name.lower())
                out.append(
                    f'<a href="https://{local_domain}/tags/{html.escape(name.lower())}" '
                    f'class="mention hashtag" rel="tag">#<span>{html.escape(name)}</span></a>'
                )
            else:
                link = match.group("link")
                scheme, _, rest = link.partition("://")
                out.append(
                    f'<a href="{html.escape(link)}" target="_blank" rel="nofollow noopener">'
                    f'<span class="invisible">{scheme}://</span><span class="">'
                    f"{html.escape(rest)}</span></a>"
                )
        out.append(html.escape(paragraph[last:], quote=False))
        rendered.append("<p>" + "".join(out).replace("\n", "<br />") + "</p>")
    return "".join(rendered), mentions, tags


def status(
    id: str,
    author: dict[str, Any],
    text: str,
    created_at: datetime,
    local_domain: str,
    *,
    visibility: str = "public",
    in_reply_to: dict[str, Any] | None = None,
    spoiler_text: str = "",
    language: str | None = "en",
    media: list[str] | None = None,
    reblog: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Status entity authored by ``author`` (an Account entity)."""
    content, mentions, tags = render_content(text, local_domain) if reblog is None else ("", [], [])
    domain = author["url"].split("/")[2]
    url = f"https://{domain}/@{author['username']}/{id}"
    return {
        "id": id,
        "uri": f"https://{domain}/users/{author['username']}/statuses/{id}",
        "url": None if reblog is not None else url,
        "created_at": iso(created_at),
        "account": author,
        "content": content,
        "visibility": visibility,
        "sensitive": bool(spoiler_text),
        "spoiler_text": spoiler_text,
        "media_attachments": [
            {
                "id": f"{id}{n}",
                "type": "image",
                "url": address,
                "preview_url": address,
                "remote_url": None,
                "description": None,
                "blurhash": None,
                "meta": {},
            }
            for n, address in enumerate(media or [])
        ],
        "application": None,
        "mentions": mentions,
        "tags": [{"name": t, "url": f"https://{local_domain}/tags/{t}"} for t in tags],
        "emojis": [],
        "reblogs_count": 0,
        "favourites_count": 0,
        "replies_count": 0,
        "in_reply_to_id": in_reply_to["id"] if in_reply_to else None,
        "in_reply_to_account_id": in_reply_to["account"]["id"] if in_reply_to else None,
        "reblog": reblog,
        "poll": None,
        "card": None,
        "language": None if reblog is not None else language,
        "text": None,
        "edited_at": None,
    }


def notification(
    id: str, kind: str, created_at: datetime, author: dict[str, Any], status: dict[str, Any] | None
) -> dict[str, Any]:
    """A Notification entity."""
    return {
        "id": id,
        "type": kind,
        "group_key": f"ungrouped-{id}",
        "created_at": iso(created_at),
        "account": author,
        "status": status,
    }
