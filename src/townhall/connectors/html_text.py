"""HTML from a network (a Mastodon status, a feed entry) to the plain text of a post.

Markup is never kept: tags go, entities are decoded, paragraphs and line breaks become
newlines, and a link keeps its address (``text (https://…)`` when the visible text is not the
address itself). Scripts and styles are dropped with their content.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {"p", "div", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
     "tr", "table", "section", "article", "header", "footer", "figure", "figcaption"}
)  # fmt: skip
_DROPPED = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg"})
_SPACES = re.compile(r"[ \t\r\f\v]+")
_SOURCE_BREAKS = re.compile(r"[\r\n]+")
_NEWLINES = re.compile(r"\n{3,}")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropping = 0
        self._pre = 0
        self._links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self._dropping += 1
        elif tag == "pre":
            self._pre += 1
            self.parts.append("\n\n")
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a":
            href = dict(attrs).get("href")
            self._links.append((href, len(self.parts)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self._dropping = max(0, self._dropping - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
            self.parts.append("\n\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            shown = "".join(self.parts[start:]).strip()
            # Mentions and hashtags (``@acme``, ``#AirFry5``) stand for themselves.
            plain = not shown.startswith(("@", "#"))
            if href and href.lower().startswith(("http://", "https://")) and plain:
                if _same(shown, href):
                    return
                self.parts.append(f" ({href})" if shown else href)

    def handle_data(self, data: str) -> None:
        if self._dropping:
            return
        # A line break in HTML source is a space (only <br>, <p> and blocks break lines),
        # except inside <pre>.
        self.parts.append(data if self._pre else _SOURCE_BREAKS.sub(" ", data))


def _same(shown: str, href: str) -> bool:
    """Whether the visible text of a link already is its address (Mastodon shortens them)."""
    bare = re.sub(r"^https?://(www\.)?", "", href).rstrip("/")
    text = re.sub(r"^https?://(www\.)?", "", shown.replace("…", "")).rstrip("/")
    return bool(text) and (bare.startswith(text) or text.startswith(bare))


def html_to_text(html: str) -> str:
    """The plain text of an HTML fragment (links kept as addresses, entities decoded)."""
    if "<" not in html and "&" not in html:
        return html.strip()
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).split("\n")]
    return _NEWLINES.sub("\n\n", "\n".join(lines)).strip()
