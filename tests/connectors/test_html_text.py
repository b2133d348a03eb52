"""Network HTML to a post's plain text: no markup, entities decoded, links kept."""

from __future__ import annotations

import pytest

from townhall.connectors.html_text import html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("plain &amp; simple", "plain & simple"),
        ("<p>one</p><p>two<br>three</p>", "one\n\ntwo\nthree"),
        ("<p>hand\nwrapped\r\nparagraph</p>", "hand wrapped paragraph"),
        ("<pre>keep\nthese   lines</pre>after", "keep\nthese lines\n\nafter"),
        ("<p>hi <script>alert(1)</script><style>p{}</style>there</p>", "hi there"),
        ('<a href="https://example.com/a/b">https://example.com/a/b</a>', "https://example.com/a/b"),
        ('<a href="https://shop.example/x">our shop</a>', "our shop (https://shop.example/x)"),
        ('<a href="javascript:alert(1)">click</a>', "click"),
        (
            '<span class="h-card"><a href="https://m.example/@acme" class="mention">@<span>acme'
            '</span></a></span> <a href="https://m.example/tags/airfry5">#<span>AirFry5</span></a>',
            "@acme #AirFry5",
        ),
        ('<a href="https://e.example/"><span class="invisible">https://</span>e.example/</a>',
         "https://e.example/"),
    ],
)  # fmt: skip
def test_html_becomes_plain_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
