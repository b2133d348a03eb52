"""The XSS corpus is inert on every page a person can reach, in Debian Chromium.

One app, one load of the corpus (Post JSONL and the Mastodon, Bluesky and RSS connectors, with
a crisis room, replies and a drafted post quoting it), then every page once. On each page: no
dialog, no request leaving 127.0.0.1, no event handler attribute, no ``hx-*`` attribute but the
app's own (read from its templates), no ``javascript:`` or ``data:`` address, no script,
frame, base, meta refresh, form or style element that is not the app's, and the post's text
shown as text.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select

from security.xss_corpus import CORPUS, PAYLOADS
from support import CHROMIUM
from townhall.db import session_factory
from townhall.models import Item, PostRecord
from townhall.posts import Post
from townhall.web.templating import TEMPLATES_DIR
from web.conftest import PASSWORD, Site

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(180),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian Chromium is not at /usr/bin/chromium"),
]

_TEMPLATE_ATTR = re.compile(r"""\s((?:data-)?(?:hx|sse)-[a-z:-]+)=(?:"([^"]*)"|'([^']*)')""")
_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def app_hx_attributes(folder: Path = TEMPLATES_DIR) -> dict[str, list[re.Pattern[str]]]:
    """The app's own htmx attributes, read from its templates: name → patterns of the
    values it writes (a ``{{ … }}`` in a template value matches anything)."""
    allowed: dict[str, list[re.Pattern[str]]] = {}
    for template in sorted(folder.glob("*.html")):
        for match in _TEMPLATE_ATTR.finditer(template.read_text(encoding="utf-8")):
            name, value = match.group(1), match.group(2) or match.group(3) or ""
            literal = _EXPRESSION.split(value)
            pattern = ".*".join(re.escape(part) for part in literal)
            allowed.setdefault(name, []).append(re.compile(pattern, re.DOTALL))
    return allowed


# What the page itself reports: everything a payload could have brought in.
INSPECT = """() => {
  const problems = [];
  const hx = [];
  const scheme = /^(javascript|data|vbscript|livescript):/i;
  const urlAttrs = ["href", "src", "action", "formaction", "xlink:href", "data", "poster",
                    "background", "srcset", "ping", "cite", "codebase", "manifest"];
  for (const el of document.querySelectorAll("*")) {
    const tag = el.tagName.toLowerCase();
    const where = `${tag}${el.id ? "#" + el.id : ""}`;
    for (const {name, value} of Array.from(el.attributes)) {
      const n = name.toLowerCase();
      if (n.startsWith("on")) problems.push(`${where} has the event handler ${n}="${value}"`);
      if (n === "srcdoc") problems.push(`${where} has srcdoc`);
      if (/^(data-)?(hx|sse)-/.test(n)) hx.push([where, n, value]);
      if (n === "style") problems.push(`${where} has a style attribute "${value}"`);
      if (urlAttrs.includes(n)) {
        const bare = value.replace(/[\\s\\x00-\\x20]/g, "");
        const icon = tag === "link" && el.getAttribute("rel") === "icon" && value === "data:,";
        if (scheme.test(bare) && !icon) problems.push(`${where} ${n}="${value.slice(0, 80)}"`);
      }
    }
    if (["iframe", "frame", "frameset", "object", "embed", "applet", "base", "style", "svg",
         "math", "video", "audio", "marquee", "template", "portal"].includes(tag)) {
      problems.push(`a <${tag}> element`);
    }
    if (tag === "script") {
      const src = el.getAttribute("src") || "";
      if (!src.startsWith("/static/") || el.textContent.trim() || el.closest("body")) {
        problems.push(`a <script src="${src}"> that is not the app's`);
      }
    }
    if (tag === "meta" && (el.hasAttribute("http-equiv") || el.closest("body"))) {
      problems.push(`a <meta ${el.outerHTML.slice(0, 80)}>`);
    }
    if (tag === "link" && (el.closest("body") || !["icon", "stylesheet"].includes(el.rel))) {
      problems.push(`a <link ${el.outerHTML.slice(0, 80)}>`);
    }
    if (tag === "form") {
      const action = el.getAttribute("action");
      if (action !== null && (!action.startsWith("/") || action.startsWith("//"))) {
        problems.push(`a form posting to ${action.slice(0, 80)}`);
      }
    }
  }
  return {problems, hx, text: document.body ? document.body.innerText : ""};
}"""


def inspect(page: Any, allowed: dict[str, list[re.Pattern[str]]]) -> tuple[list[str], str]:
    """What is wrong with the page as it stands, and its visible text (whitespace collapsed)."""
    found = page.evaluate(INSPECT)
    problems = list(found["problems"])
    for where, name, value in found["hx"]:
        if not any(p.fullmatch(value) for p in allowed.get(name, [])):
            problems.append(f'{where} has {name}="{value[:80]}" (not the app\'s)')
    return problems, " ".join(found["text"].split())


class Inspector:
    """Visits pages and collects every problem, so one run reports them all."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.allowed = app_hx_attributes()
        self.problems: list[str] = []
        self.visited: list[str] = []

    def check(self, label: str, expect_texts: tuple[str, ...] = ()) -> str:
        """Inspect the page as it stands; returns its visible text (whitespace collapsed)."""
        from playwright.sync_api import Error as PlaywrightError

        try:
            problems, text = inspect(self.page, self.allowed)
        except PlaywrightError as exc:  # a meta refresh or a script moved the page on
            problems, text = [f"the page changed under the inspection ({exc.message[:80]})"], ""
        self.problems.extend(f"{label}: {problem}" for problem in problems)
        for expected in expect_texts:
            flat = " ".join(expected.split())
            if flat not in text:
                self.problems.append(f"{label}: the text {flat[:60]!r}… is not shown as text")
        if not self.page.url.startswith(self.base):
            self.problems.append(f"{label}: the page went to {self.page.url}")
        return text

    def visit(self, path: str, label: str | None = None, **kwargs: Any) -> str:
        """Go to ``path`` and inspect it (after htmx's first swaps)."""
        from playwright.sync_api import Error as PlaywrightError

        self.visited.append(path)
        try:
            response = self.page.goto(path)
        except PlaywrightError as exc:  # a payload navigated the page elsewhere
            self.problems.append(f"{path}: the visit was taken over ({exc.message[:120]})")
            return ""
        if response is None:  # no navigation of its own: something else moved the page
            self.problems.append(f"{path}: the visit did not load its own page")
            return ""
        status = response.status
        text = self.check(label or f"{path} ({status})", kwargs.get("texts", ()))
        if kwargs.get("status") is not None and status != kwargs["status"]:
            self.problems.append(f"{path}: answered {status}, not {kwargs['status']}")
        return text


def _form(client: httpx.Client, site: Site, page: str, path: str, **data: str) -> httpx.Response:
    shown = client.get(page)
    assert shown.status_code == 200, f"{page}: {shown.status_code} {shown.text[-600:]}"
    token = site.csrf_of(shown.text)
    return client.post(path, data={**data, "csrf_token": token})


def _item_ids(site: Site) -> dict[str, int]:
    with session_factory(site.engine)() as session:
        rows = session.execute(select(PostRecord.post_id, Item.id).join(Item.post)).all()
    return {post_id: item_id for post_id, item_id in rows}


def test_the_corpus_is_inert_on_every_page(
    site: Site,
    admin: str,
    corpus_posts: list[Post],
    guarded_page: Any,
    client: httpx.Client,
    live_server: Any,
) -> None:
    started = time.monotonic()
    site.feed_understood(corpus_posts)
    items = _item_ids(site)
    assert set(items) == {p.id for p in corpus_posts}, "every corpus post opens an item"
    by_id = {p.id: p for p in corpus_posts}

    # A person's work on the hostile posts, through the forms: a crisis room on a payload
    # post, public and private replies quoting it, a post drafted from it.
    assert site.login(client, admin).status_code == 303
    story = next(p for p in corpus_posts if p.channel == "mastodon")
    opened = _form(client, site, f"/items/{items[story.id]}", f"/items/{items[story.id]}/crisis")
    assert opened.status_code == 303, opened.text[:300]
    room = opened.headers["location"]
    drafted = 0
    for post in corpus_posts[:12]:
        item = items[post.id]
        quoted = f"Thanks for writing. You said: {post.text[:400]}"
        for kind in ("public", "private"):
            answer = _form(client, site, f"/items/{item}", f"/items/{item}/replies", kind=kind,
                           text=quoted)  # fmt: skip
            drafted += answer.status_code == 303
    assert drafted, "no reply quoting a payload was saved"
    composed = _form(client, site, "/compose", "/compose", channel="mastodon",
                     text="Our statement: " + " ".join(PAYLOADS[:30])[:450])  # fmt: skip
    assert composed.status_code in (303, 422), composed.text[:300]

    page = guarded_page
    inspector = Inspector(page, live_server.url)
    page.goto("/login")
    page.get_by_label("E-mail").fill(admin)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/inbox**")
    inspector.check("/inbox after login")

    # The inbox in every order and with each filter (payloads also go in as the search).
    everything = "department=all&status=any"
    for sort in ("triage", "newest", "oldest", "due"):
        inspector.visit(f"/inbox?{everything}&sort={sort}", status=200)
    inspector.visit("/inbox?department=all&status=open", status=200)
    for extra in ("channel=mastodon", "channel=bluesky", "channel=rss", "channel=forum",
                  "sentiment=negative", "intent=complaint", "owner=me", "sla=breached",
                  "q=" + quote("<script>"), "q=" + quote('"><img src=x>'),
                  "q=" + quote("{{7*7}}")):  # fmt: skip
        inspector.visit(f"/inbox?{everything}&{extra}", status=200)
    page.goto(f"/inbox?{everything}&sort=oldest")
    more = page.get_by_role("button", name=re.compile("Load more|Load older"))
    if more.count():
        more.first.click()
        page.wait_for_load_state("networkidle")
        inspector.check("/inbox, second page")

    # Every item page shows its post's text as text.
    for post_id, item in sorted(items.items(), key=lambda pair: pair[1]):
        inspector.visit(f"/items/{item}", status=200, texts=(by_id[post_id].text[:2000],))

    # Crisis rooms, drafts, the composer, the rest of the menu.
    inspector.visit("/crises", status=200)
    inspector.visit(room, status=200)
    page.goto("/drafts")
    inspector.check("/drafts")
    for href in page.locator("a[href^='/drafts/']").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )[:20]:
        inspector.visit(href)
    for path in ("/teams", "/channels", "/outbox", "/takeovers", "/admin/policy", "/account"):
        inspector.visit(path)

    # The composer and its live conduct check, with the corpus typed in by a person.
    page.goto("/compose")
    box = page.locator("#compose-text")
    for payload in CORPUS[:40]:
        with page.expect_response("**/conduct/check") as checked:
            box.fill(payload.text[:480])
        assert checked.value.status == 200
        page.wait_for_load_state("networkidle")
        inspector.check(f"/compose with {payload.name} typed in")
    page.get_by_role("button", name="Save the post").click()
    page.wait_for_load_state("load")
    inspector.check("/compose after saving the last payload")

    # Error pages with payloads in the path and in a filter.
    for payload in ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{7*7}}"):
        inspector.visit("/nowhere/" + quote(payload, safe=""), status=404)
        inspector.visit("/items/" + quote(payload, safe=""))
        inspector.visit("/inbox?sort=" + quote(payload, safe=""), status=422)
        inspector.visit("/inbox?status=" + quote(payload, safe=""), status=422)
        inspector.visit("/inbox?department=" + quote(payload, safe=""))
    inspector.visit("/items/999999", status=404)

    assert inspector.problems == [], "\n".join(inspector.problems[:40])
    assert page.dialogs == [], f"dialogs opened: {page.dialogs}"
    assert page.outside == [], f"requests left loopback: {page.outside[:5]}"
    assert len(inspector.visited) > len(items)
    assert time.monotonic() - started < 120


# Payloads that must be caught if a page ever let them in as markup.
MARKUP = [p for p in CORPUS if p.name not in {
    "script-split", "bare-js", "bare-data", "markdown-js", "markdown-data", "attr-double",
    "attr-single", "backticks", "entities", "js-string", "jinja-expr", "jinja-raw", "js-template",
    "hx-attr-break", "bidi-override", "bidi-isolates", "bidi-marks", "zero-width",
    "control-chars", "c1-controls", "line-breaks", "fullwidth", "combining", "emoji-zwj",
    "header-injection", "slack-mention", "long-token", "long-js-url", "polyglot", "comment",
    "cdata", "script-close", "title-close", "textarea-close", "style-close",
}]  # fmt: skip


def test_the_inspection_catches_each_payload_let_in_raw(browser: Any) -> None:
    """The checks above can fail: each markup payload, written into a page unescaped (as a
    ``|safe`` would), is reported, and a script that runs opens a dialog that is seen."""
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.route("**/*", lambda route: route.abort())
    allowed = app_hx_attributes()
    missed = []
    try:
        page.set_content("<html><head></head><body><p>plain text</p></body></html>")
        assert inspect(page, allowed)[0] == []
        for payload in MARKUP:
            try:
                page.set_content(f"<html><head></head><body><p>{payload.text}</p></body></html>")
                caught = bool(inspect(page, allowed)[0])
            except PlaywrightError:  # it navigated away (meta refresh): the URL check sees it
                caught = True
            if not caught:
                missed.append(payload.name)
        # An attribute-breaking payload in an unescaped attribute value.
        page.set_content('<html><body><a title="{}">x</a></body></html>'.format(
            '" hx-get="/logout" hx-trigger="load" x="'))  # fmt: skip
        assert any("hx-get" in p for p in inspect(page, allowed)[0])
        page.set_content("<html><body><p><img src=x onerror=alert('seen')></p></body></html>")
        page.wait_for_timeout(200)
    finally:
        context.close()
    assert missed == [], f"payloads the inspection would not notice: {missed}"
    # The raw scripts ran (the dialog detector works) and so did the handler written last.
    assert "xss-script" in dialogs and dialogs[-1] == "seen"
