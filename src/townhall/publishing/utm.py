"""UTM parameters on the links of a post, so a campaign's clicks can be counted.

``tag`` gives every http(s) link in a text ``utm_source``, ``utm_medium`` and ``utm_campaign``.
A link keeps everything its author wrote: its other query parameters (byte for byte), its
fragment, its port and an internationalised host. A ``utm_*`` parameter already there is left
as written, so tagging twice gives what tagging once gives. Punctuation that ends a sentence
("see https://acme.example/x.") stays outside the link.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

# A link starts at http:// or https:// (any case) and runs to the next whitespace or to a
# character that cannot be part of a link in running text (quotes and angle brackets, as in
# "<https://...>" or a quoted address). Trailing sentence punctuation is trimmed afterwards,
# in code, because whether a closing bracket belongs to the link depends on its opening one.
_LINK = re.compile(r"""https?://[^\s<>"]+""", re.IGNORECASE)

_TRAILING = ".,;:!?'…"
"""Characters that end a sentence rather than a link when they come last."""

_BRACKETS = {")": "(", "]": "[", "}": "{"}
"""A closing bracket at the end belongs to the link only when the link opened it."""

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")


def _trim(link: str) -> str:
    """``link`` without the sentence punctuation that follows it."""
    while link and _ends_sentence(link):
        link = link[:-1]
    return link


def _ends_sentence(link: str) -> bool:
    last = link[-1]
    if last in _BRACKETS:
        return link.count(_BRACKETS[last]) < link.count(last)
    return last in _TRAILING


def links(text: str) -> Iterator[tuple[int, int]]:
    """The (start, end) character offsets of the http(s) links in ``text``."""
    for match in _LINK.finditer(text):
        link = _trim(match.group())
        if _is_web_address(link):
            yield match.start(), match.start() + len(link)


def _is_web_address(link: str) -> bool:
    try:
        parts = urlsplit(link)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # e.g. an unclosed IPv6 bracket: not a link we can tag
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def tag_link(link: str, *, source: str, medium: str = "social", campaign: str) -> str:
    """``link`` with the UTM parameters it lacks, appended to its query before any
    fragment."""
    address, hash_sign, fragment = link.partition("#")
    query = urlsplit(address).query
    present = {key for key, _ in parse_qsl(query, keep_blank_values=True)}
    wanted = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}
    missing = [(key, wanted[key]) for key in UTM_KEYS if key not in present]
    if not missing:
        return link
    added = urlencode(missing)
    if "?" not in address:
        address += "?" + added
    elif not query or address.endswith("&"):  # "p?" or "p?a=1&"; but "p?a=1?" ends a value
        address += added
    else:
        address += "&" + added
    return address + hash_sign + fragment


def tag(text: str, *, source: str, medium: str = "social", campaign: str) -> str:
    """``text`` with UTM parameters on every http(s) link (see the module's docstring)."""
    out: list[str] = []
    done = 0
    for start, end in links(text):
        out.append(text[done:start])
        out.append(tag_link(text[start:end], source=source, medium=medium, campaign=campaign))
        done = end
    out.append(text[done:])
    return "".join(out)
