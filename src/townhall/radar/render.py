"""Rendering alerts (pure): e-mail (text and HTML) and webhook bodies (generic JSON, Slack).

Post texts and authors are attacker-controlled: escaped in HTML and Slack text, and kept off
header lines (``one_line``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlsplit

from townhall.org.alerts import WebhookFormat
from townhall.posts import Post
from townhall.radar.traffic import Notice, as_utc

KIND_LABELS: dict[str, str] = {
    "crisis": "crisis",
    "burst": "complaint burst",
    "viral_post": "viral post",
    "traffic_spike": "traffic spike",
    "channel": "channel problem",
}
MAX_POSTS_SHOWN = 5
"""Posts quoted in an e-mail or chat message (the rest are listed by id)."""
MAX_POST_CHARS = 500
"""Characters of a post's text quoted in an e-mail or chat message."""
MAX_SUBJECT_CHARS = 200
"""Characters of an e-mail subject line."""


def one_line(text: str, limit: int) -> str:
    """``text`` safe for a header or a list line: no CR/LF or control characters, ≤ ``limit``."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def headline(notice: Notice) -> str:
    """``CRITICAL crisis: ACME AirFry 5`` (the topic's name when known; not escaped)."""
    label = KIND_LABELS.get(notice.kind, notice.kind)
    return f"{notice.severity.upper()} {label}: {notice.topic_name or notice.topic or 'no topic'}"


def subject(notice: Notice) -> str:
    """The e-mail subject: one line, at most ``MAX_SUBJECT_CHARS`` characters."""
    # An ASCII separator: mail readers put a stray space around an encoded word like "—".
    return one_line(f"[Townhall] {headline(notice)} - {notice.why}", MAX_SUBJECT_CHARS)


def _when(notice: Notice) -> str:
    return as_utc(notice.at).strftime("%Y-%m-%d %H:%M UTC")


def _author(post: Post) -> str:
    name = post.author.name
    return f"{name} ({post.author.handle})" if name else post.author.handle


def _web_url(url: str | None) -> str | None:
    # Only http(s) links become links: a post's `javascript:` URL must never be clickable.
    if url and urlsplit(url).scheme.lower() in ("http", "https"):
        return url
    return None


def _post_text(post: Post) -> str:
    return one_line(post.text, MAX_POST_CHARS)


def _more(posts: Sequence[Post], notice: Notice) -> int:
    return max(len(notice.post_ids), len(posts)) - min(len(posts), MAX_POSTS_SHOWN)


def email_text(notice: Notice, posts: Sequence[Post]) -> str:
    """The plain-text e-mail body."""
    lines = [headline(notice), f"When: {_when(notice)}", f"Why: {notice.why}", ""]
    if posts:
        lines.append("Posts:")
        for post in posts[:MAX_POSTS_SHOWN]:
            lines.append(f"- {one_line(_author(post), 200)} ({post.id}): {_post_text(post)}")
            url = _web_url(post.url)
            if url:
                lines.append(f"  {one_line(url, 2048)}")
        more = _more(posts, notice)
        if more > 0:
            lines.append(f"- and {more} more")
        lines.append("")
    lines.append(f"Post ids: {', '.join(notice.post_ids) or 'none'}")
    lines.append("")
    lines.append("Sent by Townhall's crisis radar.")
    return "\n".join(lines) + "\n"


def email_html(notice: Notice, posts: Sequence[Post]) -> str:
    """The HTML e-mail body; every value from the alert or a post is escaped."""

    def esc(text: str) -> str:
        return html.escape(text, quote=True)

    parts = [
        "<!DOCTYPE html>",
        '<html><body style="font-family: sans-serif">',
        f"<h2>{esc(headline(notice))}</h2>",
        f"<p><b>When:</b> {esc(_when(notice))}<br><b>Why:</b> {esc(notice.why)}</p>",
    ]
    if posts:
        parts.append("<ul>")
        for post in posts[:MAX_POSTS_SHOWN]:
            item = f"<li><b>{esc(_author(post))}</b> ({esc(post.id)})<br>{esc(_post_text(post))}"
            url = _web_url(post.url)
            if url:
                item += f'<br><a href="{esc(url)}">{esc(url)}</a>'
            parts.append(item + "</li>")
        more = _more(posts, notice)
        if more > 0:
            parts.append(f"<li>and {more} more</li>")
        parts.append("</ul>")
    parts.append(f"<p>Post ids: {esc(', '.join(notice.post_ids) or 'none')}</p>")
    parts.append("<p><small>Sent by Townhall's crisis radar.</small></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_email(
    notice: Notice,
    posts: Sequence[Post],
    *,
    sender: str,
    recipients: Sequence[str],
    now: datetime,
) -> EmailMessage:
    """The alert e-mail: plain text with an HTML alternative; ``now`` is the Date header."""
    message = EmailMessage()
    message["From"] = one_line(sender, 320)
    message["To"] = ", ".join(one_line(r, 320) for r in recipients)
    message["Subject"] = subject(notice)
    message["Date"] = format_datetime(as_utc(now))
    message["Message-ID"] = make_msgid("townhall", domain=sender.rpartition("@")[2] or None)
    # RFC 3834: tells auto-responders (out of office) not to answer.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Townhall-Kind"] = notice.kind
    message["X-Townhall-Severity"] = notice.severity
    message.set_content(email_text(notice, posts))
    message.add_alternative(email_html(notice, posts), subtype="html")
    return message


def slack_escape(text: str) -> str:
    """Slack's escaping of message text: ``&``, ``<`` and ``>`` (so no mentions or links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(notice: Notice, posts: Sequence[Post]) -> str:
    """The Slack message text (mrkdwn), every value escaped."""
    lines = [f"*{slack_escape(headline(notice))}*", f"{_when(notice)} · {slack_escape(notice.why)}"]
    for post in posts[:MAX_POSTS_SHOWN]:
        line = f"• {slack_escape(one_line(_author(post), 200))}: {slack_escape(_post_text(post))}"
        url = _web_url(post.url)
        if url:
            line += f" {slack_escape(one_line(url, 2048))}"
        lines.append(line)
    more = _more(posts, notice)
    if posts and more > 0:
        lines.append(f"• and {more} more")
    return "\n".join(lines)


def render_webhook(notice: Notice, posts: Sequence[Post], fmt: WebhookFormat) -> dict[str, Any]:
    """The webhook JSON: ``generic`` is the alert's JSON plus ``posts``; ``slack`` is ``text``."""
    if fmt == "slack":
        return {"text": slack_text(notice, posts)}
    body = notice.to_json()
    body["topic_name"] = notice.topic_name or notice.topic
    body["posts"] = [
        {
            "id": post.id,
            "channel": post.channel,
            "author": {"handle": post.author.handle, "name": post.author.name},
            "text": post.text,
            "url": post.url,
        }
        for post in posts[:MAX_POSTS_SHOWN]
    ]
    return body
