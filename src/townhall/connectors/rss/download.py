"""One feed over HTTP with httpx: conditional GET, redirects, a size cap, errors translated.

feedparser never fetches a URL itself here: we send ``If-None-Match`` / ``If-Modified-Since``
with the validators the server gave last time (verbatim), stream the body with a byte cap, and
hand the bytes to feedparser. Every failure becomes a ``ChannelError`` subclass naming why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from townhall.errors import (
    ChannelAuthError,
    ChannelError,
    ChannelRateLimitedError,
    ChannelRejectedError,
    ChannelUnavailableError,
)

MAX_FEED_BYTES = 10 * 1024 * 1024
"""Largest feed body read, in bytes (after decompression); a longer one is cut and refused."""

MAX_REDIRECTS = 5

USER_AGENT = "Townhall/0.1 (self-hosted social media command center; feed reader)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)


@dataclass(frozen=True)
class Download:
    """A feed's answer: ``body`` is None when the server said 304 Not Modified."""

    body: bytes | None
    etag: str | None
    modified: str | None
    headers: dict[str, str]  # lower-case names, for feedparser's encoding and base detection


def make_client(timeout: float) -> httpx.Client:
    """The HTTP client a connector reads its feeds with (``timeout`` in seconds)."""
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
    )


def retry_at(value: str | None, now: datetime) -> datetime | None:
    """When a ``Retry-After`` header (seconds or an HTTP date) says to come back, UTC."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when.astimezone(UTC), now)


def _status_error(response: httpx.Response, now: datetime) -> ChannelError:
    status = response.status_code
    reason = f"HTTP {status} {response.reason_phrase}".rstrip()
    after = retry_at(response.headers.get("retry-after"), now)
    if status == 429 or (status == 503 and after is not None):
        when = f", retry after {after:%Y-%m-%d %H:%M:%S}Z" if after else ""
        return ChannelRateLimitedError(
            f"{reason}: the feed server asks us to slow down{when}", after
        )
    if status in (401, 403):
        return ChannelAuthError(f"{reason}: the feed needs a login or refuses this reader")
    if status == 404:
        return ChannelRejectedError(f"{reason}: no feed at this address; fix it in the policy")
    if status == 410:
        return ChannelRejectedError(f"{reason}: the feed was removed; drop it from the policy")
    if status >= 500:
        return ChannelUnavailableError(f"{reason}: the feed server failed; will retry")
    return ChannelRejectedError(f"{reason}: the feed server refused the request")


def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise ChannelRejectedError(
            f"the feed is {int(declared):,} bytes, over the {max_bytes:,}-byte limit"
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise ChannelRejectedError(
                f"the feed is over the {max_bytes:,}-byte limit; stopped reading it there"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def download(
    client: httpx.Client,
    url: str,
    *,
    now: datetime,
    etag: str | None = None,
    modified: str | None = None,
    max_bytes: int = MAX_FEED_BYTES,
) -> Download:
    """GET one feed (conditionally when ``etag`` / ``modified`` are given); raises only
    ``ChannelError`` subclasses."""
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return Download(
                    None,
                    response.headers.get("etag") or etag,
                    response.headers.get("last-modified") or modified,
                    {},
                )
            if response.status_code != 200:
                raise _status_error(response, now)
            body = _read_capped(response, max_bytes)
            kept = {"content-location": str(response.url)}
            for name in ("content-type", "content-language"):
                if name in response.headers:
                    kept[name] = response.headers[name]
            return Download(
                body, response.headers.get("etag"), response.headers.get("last-modified"), kept
            )
    except httpx.TooManyRedirects:
        raise ChannelRejectedError(
            f"more than {MAX_REDIRECTS} redirects; put the feed's final address in the policy"
        ) from None
    except httpx.TimeoutException:
        raise ChannelUnavailableError(
            f"no answer within {client.timeout.read or 0:g} s; will retry"
        ) from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise ChannelRejectedError(f"not a feed address this reader can fetch ({exc})") from None
    except httpx.DecodingError as exc:
        raise ChannelRejectedError(f"the feed's compressed body is corrupt ({exc})") from None
    except httpx.HTTPError as exc:
        # Connection refused, DNS failure, reset: the network or the server is down.
        raise ChannelUnavailableError(
            f"cannot reach the feed server ({type(exc).__name__}: {str(exc) or 'no detail'})"
        ) from None
