"""A local stand-in feed server: RSS 2.0 and Atom 1.0 feeds from in-memory entries.

It speaks HTTP the way a well-behaved feed host does: ``ETag`` and ``Last-Modified`` on every
feed, ``304 Not Modified`` when ``If-None-Match`` (or, without it, ``If-Modified-Since``)
matches. Control methods let tests and the demo add entries and make a feed misbehave (an
error status, ``429`` with ``Retry-After``, malformed XML, a huge body, an HTML page, a
redirect, a hung answer). Serve ``FeedStandin().app`` with ``LocalServer``; ``/`` is a page
that says it is a local stand-in and lists the feeds.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

FeedKind = Literal["rss", "atom"]
ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}
# Characters XML 1.0 cannot carry at all, even escaped: a correct generator leaves them out.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
HOLD_SECONDS = 5.0
"""Longest a "hang" fault holds an answer before giving up (the client has timed out by then)."""


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


@dataclass(frozen=True)
class StandinEntry:
    """One entry of a stand-in feed (``summary_html`` is HTML, escaped into the XML)."""

    number: int
    title: str
    summary_html: str
    guid: str | None
    link: str | None
    published: datetime | None
    author: str | None
    tags: tuple[str, ...] = ()


@dataclass
class FeedCounters:
    """What a feed was asked: every request, and how many got 200, 304 or an error."""

    requests: int = 0
    ok: int = 0
    not_modified: int = 0
    errors: int = 0
    redirects: int = 0


@dataclass
class _Fault:
    mode: Literal["status", "malformed", "garbage", "huge", "html", "redirect", "hang"]
    status: int = 200
    retry_after: str | None = None
    size: int = 0
    declare_length: bool = False
    target: str = ""


@dataclass
class _Feed:
    path: str
    kind: FeedKind
    title: str
    modified: datetime
    entries: list[StandinEntry] = field(default_factory=list)
    counters: FeedCounters = field(default_factory=FeedCounters)
    fault: _Fault | None = None
    raw: tuple[bytes, str] | None = None  # a recorded body served verbatim, and its type
    last_headers: dict[str, str] = field(default_factory=dict)


def _rfc822(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_rss(title: str, site: str, entries: Iterable[StandinEntry]) -> bytes:
    """An RSS 2.0 document (newest entry first); ElementTree does the escaping."""
    ET.register_namespace("dc", DC)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = _xml_text(title)
    ET.SubElement(channel, "link").text = site
    ET.SubElement(channel, "description").text = "A local stand-in feed (not a real news site)"
    for entry in sorted(entries, key=lambda e: e.number, reverse=True):
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = _xml_text(entry.title)
        if entry.link:
            ET.SubElement(item, "link").text = _xml_text(entry.link)
        if entry.guid:
            ET.SubElement(item, "guid", {"isPermaLink": "false"}).text = _xml_text(entry.guid)
        if entry.published:
            ET.SubElement(item, "pubDate").text = _rfc822(entry.published)
        if entry.author:
            ET.SubElement(item, f"{{{DC}}}creator").text = _xml_text(entry.author)
        for tag in entry.tags:
            ET.SubElement(item, "category").text = _xml_text(tag)
        ET.SubElement(item, "description").text = _xml_text(entry.summary_html)
    return bytes(ET.tostring(rss, encoding="utf-8", xml_declaration=True))


def render_atom(
    title: str, site: str, self_url: str, updated: datetime, entries: Iterable[StandinEntry]
) -> bytes:
    """An Atom 1.0 document (newest entry first); ElementTree does the escaping."""
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            node.text = _xml_text(text)
        return node

    feed = ET.Element(f"{{{ATOM}}}feed")
    sub(feed, "title", title)
    sub(feed, "id", self_url)
    sub(feed, "updated", _rfc3339(updated))
    sub(feed, "link", href=site)
    sub(feed, "link", rel="self", href=self_url)
    for entry in sorted(entries, key=lambda e: e.number, reverse=True):
        node = sub(feed, "entry")
        sub(node, "title", entry.title)
        if entry.guid:
            sub(node, "id", entry.guid)
        if entry.link:
            sub(node, "link", rel="alternate", href=_xml_text(entry.link))
        if entry.published:
            sub(node, "published", _rfc3339(entry.published))
            sub(node, "updated", _rfc3339(entry.published))
        if entry.author:
            sub(sub(node, "author"), "name", entry.author)
        for tag in entry.tags:
            sub(node, "category", term=_xml_text(tag))
        sub(node, "summary", entry.summary_html, type="html")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:24] + '"'


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    """RFC 9110 13.1: If-None-Match wins; If-Modified-Since only counts without it."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return modified <= when
    return False


class FeedStandin:
    """A stateful feed host: ``app`` is the ASGI app; the other methods control it.

    Paths are feed addresses on the server (``/news.rss``); the clock gives entry dates and
    ``Last-Modified`` (UTC)."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._feeds: dict[str, _Feed] = {}
        self._release = threading.Event()
        self._numbers = 0
        self.on_request: Callable[[str], None] | None = None
        """Called with the feed path on every feed request (before it is answered)."""
        self.app = Starlette(routes=[Route("/", self._index), Route("/{path:path}", self._serve)])

    # -- control ---------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC).replace(microsecond=0)

    def _touch(self, feed: _Feed) -> None:
        # Last-Modified has one-second resolution: make every change move it forward.
        feed.modified = max(self._now(), feed.modified + timedelta(seconds=1))

    def _feed(self, path: str) -> _Feed:
        try:
            return self._feeds[path]
        except KeyError:
            raise KeyError(f"the stand-in has no feed at {path!r}") from None

    def add_feed(self, path: str, kind: FeedKind = "rss", title: str = "Stand-in News") -> str:
        """Serve a new, empty feed at ``path`` (e.g. ``/news.rss``); returns the path."""
        if not path.startswith("/") or path == "/":
            raise ValueError("a feed path starts with '/' and names a file, e.g. /news.rss")
        with self._lock:
            self._feeds[path] = _Feed(path, kind, title, self._now())
        return path

    def serve_recorded(self, path: str, body: bytes, content_type: str) -> str:
        """Serve a recorded feed document at ``path`` verbatim (with ETag / Last-Modified)."""
        with self._lock:
            feed = _Feed(path, "rss", "recorded", self._now(), raw=(body, content_type))
            self._feeds[path] = feed
        return path

    def add_entry(
        self,
        path: str,
        title: str,
        summary_html: str = "",
        *,
        guid: str | None = None,
        with_guid: bool = True,
        link: str | None = None,
        with_link: bool = True,
        published: datetime | None = None,
        dated: bool = True,
        author: str | None = None,
        tags: Iterable[str] = (),
    ) -> StandinEntry:
        """Publish an entry on a feed. Without ``guid`` one is made up (unless ``with_guid``
        is off); without ``link`` it is ``/articles/<n>`` on this server (unless
        ``with_link`` is off); without ``published`` the clock's now (unless ``dated`` is off).
        """
        with self._lock:
            feed = self._feed(path)
            self._numbers += 1
            number = self._numbers
            entry = StandinEntry(
                number=number,
                title=title,
                summary_html=summary_html,
                guid=guid if guid is not None else (f"urn:standin:{number}" if with_guid else None),
                link=link if link is not None else (f"/articles/{number}" if with_link else None),
                published=published if published is not None else (self._now() if dated else None),
                author=author,
                tags=tuple(tags),
            )
            feed.entries.append(entry)
            self._touch(feed)
            return entry

    def _set_fault(self, path: str, fault: _Fault | None) -> None:
        with self._lock:
            self._feed(path).fault = fault
            self._touch(self._feed(path))

    def fail(self, path: str, status: int, retry_after: str | int | None = None) -> None:
        """Answer every request for ``path`` with ``status`` (and ``Retry-After`` if given)."""
        after = None if retry_after is None else str(retry_after)
        self._set_fault(path, _Fault("status", status=status, retry_after=after))

    def serve_malformed(self, path: str, *, keep_entries: bool = True) -> None:
        """Serve broken XML: the feed cut short (entries still readable) or, with
        ``keep_entries`` off, garbage that holds no entry at all."""
        self._set_fault(path, _Fault("malformed" if keep_entries else "garbage"))

    def serve_huge(self, path: str, size: int, *, declare_length: bool = False) -> None:
        """Serve a ``size``-byte body, streamed (with ``Content-Length`` if ``declare_length``)."""
        self._set_fault(path, _Fault("huge", size=size, declare_length=declare_length))

    def serve_html(self, path: str) -> None:
        """Serve an ordinary web page instead of the feed (a common misconfiguration)."""
        self._set_fault(path, _Fault("html"))

    def redirect(self, path: str, target: str, status: int = 301) -> None:
        """Redirect ``path`` to ``target`` (another path here, or an absolute address)."""
        with self._lock:
            if path not in self._feeds:
                self._feeds[path] = _Feed(path, "rss", "redirect", self._now())
            self._feeds[path].fault = _Fault("redirect", status=status, target=target)

    def hang(self, path: str) -> None:
        """Hold answers to ``path`` until ``heal`` (at most ``HOLD_SECONDS``): a timeout."""
        self._release.clear()
        self._set_fault(path, _Fault("hang"))

    def heal(self, path: str) -> None:
        """Serve ``path`` normally again."""
        self._release.set()
        self._set_fault(path, None)

    def release(self) -> None:
        """Let every held answer go (call before stopping the server)."""
        self._release.set()

    def counters(self, path: str) -> FeedCounters:
        """A copy of the request counters of ``path``."""
        with self._lock:
            c = self._feed(path).counters
            return replace(c)

    def last_headers(self, path: str) -> dict[str, str]:
        """The conditional and identification headers of the last request for ``path``."""
        with self._lock:
            return dict(self._feed(path).last_headers)

    def entries(self, path: str) -> list[StandinEntry]:
        """The entries published on ``path``, oldest first."""
        with self._lock:
            return list(self._feed(path).entries)

    def seed_demo(self) -> list[str]:
        """Two feeds with a few entries about the demo company; returns their paths."""
        news = self.add_feed("/technology/rss.xml", "rss", "News Example – Technology")
        room = self.add_feed("/newsroom.atom", "atom", "ACME Newsroom")
        self.add_entry(
            news,
            "ACME recalls KettleOne after reports of faulty lids",
            "<p>The company says <strong>38,000 units</strong> are affected.</p>",
            author="Priya Natarajan",
            tags=["Consumer affairs", "ACME"],
        )
        self.add_entry(
            news,
            "Review: the AirFry 5 is quiet, quick and pricey",
            "<p>Four stars out of five.</p>",
            author="Tom Okafor",
            tags=["Reviews"],
        )
        self.add_entry(
            room,
            "KettleOne lid update & free replacement",
            "<p>Owners of affected kettles can order a <em>free</em> replacement lid.</p>",
            author="ACME Press Office",
            tags=["press-release"],
        )
        return [news, room]

    # -- HTTP ------------------------------------------------------------------------------

    def _document(self, feed: _Feed, base: str) -> tuple[bytes, str]:
        if feed.raw is not None:
            return feed.raw
        entries = [
            replace(e, link=base + e.link) if e.link and e.link.startswith("/") else e
            for e in feed.entries
        ]
        if feed.kind == "atom":
            body = render_atom(feed.title, base + "/", base + feed.path, feed.modified, entries)
        else:
            body = render_rss(feed.title, base + "/", entries)
        return body, CONTENT_TYPES[feed.kind]

    async def _serve(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        base = str(request.base_url).rstrip("/")
        hook = self.on_request
        if hook is not None:
            hook(path)
        with self._lock:
            feed = self._feeds.get(path)
            if feed is None:
                return Response("Not Found", status_code=404, media_type="text/plain")
            feed.counters.requests += 1
            feed.last_headers = {
                k: v
                for k, v in request.headers.items()
                if k in ("if-none-match", "if-modified-since", "user-agent", "accept")
            }
            fault = feed.fault
            body, content_type = self._document(feed, base)
            modified = feed.modified
        if fault is not None and fault.mode == "hang":
            await anyio.to_thread.run_sync(self._release.wait, HOLD_SECONDS)
        elif fault is not None:
            return self._faulty(feed, fault, body, content_type, base)
        etag = _etag(body)
        validators = {"ETag": etag, "Last-Modified": _rfc822(modified)}
        if _not_modified(request, etag, modified):
            with self._lock:
                feed.counters.not_modified += 1
            return Response(status_code=304, headers=validators)
        with self._lock:
            feed.counters.ok += 1
        return Response(body, headers=validators, media_type=content_type)

    def _faulty(
        self, feed: _Feed, fault: _Fault, body: bytes, content_type: str, base: str
    ) -> Response:
        with self._lock:
            if fault.mode == "redirect":
                feed.counters.redirects += 1
            elif fault.mode == "status":
                feed.counters.errors += 1
            else:
                feed.counters.ok += 1
        if fault.mode == "redirect":
            target = base + fault.target if fault.target.startswith("/") else fault.target
            return RedirectResponse(target, status_code=fault.status)
        if fault.mode == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            text = f"{fault.status} error from the local stand-in feed server"
            return Response(
                text, status_code=fault.status, headers=headers, media_type="text/plain"
            )
        if fault.mode == "malformed":
            cut = body[: max(len(body) * 2 // 3, 1)] + b"<broken & unclosed"
            return Response(cut, media_type=content_type)
        if fault.mode == "garbage":
            return Response(
                b"<?xml version='1.0'?>\n<rss><<<>>> &&& not xml", media_type=content_type
            )
        if fault.mode == "html":
            page = b"<!doctype html><html><head><title>Home</title></head><body>Hi</body></html>"
            return Response(page, media_type="text/html; charset=utf-8")
        return self._huge(fault, content_type)

    @staticmethod
    def _huge(fault: _Fault, content_type: str) -> Response:
        head = b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Huge</title>'
        chunk = b"<!-- " + b"x" * 65_000 + b" -->\n"

        async def body() -> AsyncIterator[bytes]:
            sent = len(head)
            yield head
            while sent < fault.size:
                piece = chunk[: fault.size - sent]
                sent += len(piece)
                yield piece

        headers = (
            {"Content-Length": str(max(fault.size, len(head)))} if fault.declare_length else {}
        )
        return StreamingResponse(body(), media_type=content_type, headers=headers)

    async def _index(self, request: Request) -> HTMLResponse:
        base = str(request.base_url).rstrip("/")
        rows: list[str] = []
        with self._lock:
            feeds = list(self._feeds.values())
            for feed in feeds:
                c = feed.counters
                state = feed.fault.mode if feed.fault else "normal"
                titles = "".join(f"<li>{html.escape(e.title)}</li>" for e in reversed(feed.entries))
                rows.append(
                    f'<section><h2><a href="{html.escape(base + feed.path)}">'
                    f"{html.escape(feed.title)}</a></h2>"
                    f"<p>{html.escape(feed.kind.upper())} at <code>{html.escape(feed.path)}</code>"
                    f" · {len(feed.entries)} entries · answering: {html.escape(state)} · "
                    f"{c.requests} requests, {c.ok} × 200, {c.not_modified} × 304, "
                    f"{c.errors} errors, {c.redirects} redirects</p><ul>{titles}</ul></section>"
                )
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Local stand-in feed server</title></head><body>"
            "<h1>Local stand-in feed server</h1>"
            "<p><strong>This is not a real news site.</strong> It is a stand-in that Townhall's "
            "tests and demo run on this machine to serve RSS and Atom feeds.</p>"
            + ("".join(rows) or "<p>No feeds yet.</p>")
            + "</body></html>"
        )
        return HTMLResponse(page)
