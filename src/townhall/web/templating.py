"""The Jinja2 environment: autoescape always on, a few display filters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from townhall.web.csrf import csrf_token

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
PREVIEW_CHARS = 200
"""Characters of post text shown in an inbox row."""


def compact_number(value: int) -> str:
    """12345 → '12.3k'; for follower counts."""
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if value >= size:
            text = f"{value / size:.1f}".removesuffix(".0")
            return f"{text}{unit}"
    return str(value)


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The first ``limit`` characters of ``text`` on one line, with an ellipsis when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def short_time(value: datetime) -> str:
    """'20 Nov 14:03' in UTC."""
    return value.astimezone(UTC).strftime("%d %b %H:%M")


def iso_time(value: datetime) -> str:
    """ISO 8601 in UTC, for ``<time datetime>``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def media_alt(entry: Any) -> str:
    """The alt text (or a description) of one media entry of a post."""
    if isinstance(entry, dict):
        for key in ("alt", "alt_text", "description", "name"):
            value = entry.get(key)
            if isinstance(value, str) and value.strip():
                return value
        return "(no description)"
    return str(entry)


CHANNEL_LABELS = {"rss": "RSS"}


def channel_label(channel: str) -> str:
    """How a channel id reads in the UI: 'mastodon' → 'Mastodon', 'rss' → 'RSS'."""
    return CHANNEL_LABELS.get(channel, channel.replace("_", " ").capitalize())


def http_url(value: str | None) -> str | None:
    """``value`` when it is an http(s) address, else None (never link other schemes)."""
    if value and value.lower().startswith(("http://", "https://")):
        return value
    return None


def minutes(value: int) -> str:
    """A duration in minutes as people say it: 45 → '45 min', 90 → '1 h 30 min', 2880 → '2 days'."""
    if value % 1440 == 0:
        days = value // 1440
        return f"{days} day{'s' * (days != 1)}"
    hours, rest = divmod(value, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def _may(
    request: Any, action: str, department: str | None = None, channel: str | None = None
) -> bool:
    from townhall.web.access import may  # deferred: access needs the app's context

    return may(request, action, department, channel)


def _may_on(request: Any, action: str, item: Any) -> bool:
    from townhall.web.access import may_on  # deferred: access needs the app's context

    return may_on(request, action, item)


class Templates(Jinja2Templates):
    """Jinja2 templates with autoescape forced on for every file."""

    def __init__(self) -> None:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates ship with the package: checking each file's mtime on every render
            # was 7% of the inbox's time.
            auto_reload=False,
        )
        env.filters.update(
            compact=compact_number,
            preview=preview,
            short_time=short_time,
            iso=iso_time,
            media_alt=media_alt,
            http_url=http_url,
            channel=channel_label,
            minutes=minutes,
        )
        env.globals["csrf_token"] = csrf_token
        env.globals["may"] = _may
        env.globals["may_on"] = _may_on
        super().__init__(env=env)

    def render(self, name: str, **context: Any) -> str:
        """Render a template outside a request (e.g. a row for the live stream)."""
        return self.env.get_template(name).render(**context)
