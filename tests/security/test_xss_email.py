"""Alert e-mails carrying the XSS corpus, sent through a real SMTP server (aiosmtpd, loopback),
and webhook bodies carrying post text.

The HTML part must hold the payloads as escaped text (only the renderer's own tags and
attributes), the text part the payloads on one line each, and no header may carry a raw
control character or a header a payload tried to add.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import orjson
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from security.conftest import from_jsonl
from security.xss_corpus import CORPUS
from townhall.connectors.standin import free_port
from townhall.org.alerts import AlertPolicy
from townhall.posts import Post, clean_text
from townhall.radar.alerts import Alert
from townhall.radar.notify import DeliveryStatus, Notifier, SmtpServer
from townhall.radar.render import MAX_POSTS_SHOWN, one_line

pytestmark = pytest.mark.timeout(60)

AT = datetime(2026, 11, 20, 10, 13, tzinfo=UTC)
SENDER = "townhall@acme.example"
PR = "grace.lindqvist@acme.example"
# The renderer's own markup: what any tag or attribute in an alert e-mail must be.
OWN_TAGS = {"html", "body", "h2", "p", "b", "br", "ul", "li", "a", "small"}
OWN_ATTRIBUTES = {("body", "style"), ("a", "href")}
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
HEADERS = {
    "from", "to", "subject", "date", "message-id", "auto-submitted", "x-townhall-kind",
    "x-townhall-severity", "content-type", "mime-version", "content-transfer-encoding",
    "x-peer", "x-mailfrom", "x-rcptto",
}  # fmt: skip


@dataclass
class Mailbox:
    """What the SMTP server received."""

    messages: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """aiosmtpd on 127.0.0.1 (a free port picked first: the Controller cannot take port 0)."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    yield box, port
    controller.stop()


class Markup(HTMLParser):
    """Every tag and attribute of an HTML document, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []
        self.other: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.other.append(f"comment {data[:40]!r}")

    def unknown_decl(self, data: str) -> None:
        self.other.append(f"declaration {data[:40]!r}")

    def handle_pi(self, data: str) -> None:
        self.other.append(f"processing instruction {data[:40]!r}")


def _alert(posts: list[Post], group: str) -> Alert:
    # The radar writes the forum group into why (group names are the posters' own text).
    return Alert(
        at=AT,
        kind="crisis",
        topic="product:airfry_5",
        severity="critical",
        post_ids=tuple(p.id for p in posts),
        why=f"{len(posts)} posts negative about product:airfry_5 in {group}; risk 0.91",
        story=posts[0].id,
        score=0.91,
    )


def _send(port: int, alert: Alert, posts: list[Post]) -> None:
    policy = AlertPolicy.model_validate({"email": {"from": SENDER, "to": {"crisis": [PR]}}})
    with Notifier(policy, SmtpServer("127.0.0.1", port), timeout=5.0, backoff=0.0) as notifier:
        [delivery] = notifier.notify(alert, posts)
    assert delivery.status is DeliveryStatus.DELIVERED, delivery


def _received(envelope: Envelope) -> EmailMessage:
    assert isinstance(envelope.content, bytes)
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_alert_emails_carry_the_corpus_as_escaped_text(smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    posts = from_jsonl()
    batches = [posts[i : i + MAX_POSTS_SHOWN] for i in range(0, len(posts), MAX_POSTS_SHOWN)]
    for batch in batches:
        _send(port, _alert(batch, batch[0].group or ""), batch)
    assert len(box.messages) == len(batches)

    for batch, envelope in zip(batches, box.messages, strict=True):
        raw_head = envelope.content.split(b"\r\n\r\n", 1)[0]  # type: ignore[union-attr]
        assert all(b >= 0x20 or b in b"\r\n\t" for b in raw_head), raw_head[:200]
        assert b"\r\nBcc:" not in raw_head and envelope.rcpt_tos == [PR]
        message = _received(envelope)
        assert {name.lower() for name in message} <= HEADERS, message.keys()
        for name, value in message.items():
            assert value.isprintable(), f"{name}: {value!r}"
        assert "\n" not in str(message["Subject"])

        html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
        assert html_part is not None and text_part is not None
        body = html_part.get_content()
        # No raw control character in either body either (a terminal mail reader runs them).
        assert not _RAW_CONTROL.search(body + text_part.get_content()), batch[0].id
        markup = Markup()
        markup.feed(body)
        markup.close()
        assert set(markup.tags) <= OWN_TAGS, sorted(set(markup.tags) - OWN_TAGS)
        assert markup.other == []
        for tag, name, value in markup.attributes:
            assert (tag, name) in OWN_ATTRIBUTES, (tag, name, value)
            if name == "href":
                assert value is not None and value.startswith(("https://", "http://"))
        shown = "".join(markup.text)
        plain = text_part.get_content()
        for post in batch:
            # Escaped, an HTML reader shows exactly the post's text (on one line, cut to size).
            quoted = one_line(post.text, 500)
            assert quoted in shown, quoted[:80]
            assert quoted in plain
            assert one_line(post.author.name or "", 200).removesuffix("…") in shown


def test_every_payload_reaches_an_email_in_the_group_and_the_author(
    smtp: tuple[Mailbox, int],
) -> None:
    box, port = smtp
    posts = from_jsonl()
    for payload, post in zip(CORPUS, posts, strict=True):
        # One e-mail per payload, as the group of the alert (cleaned as a post's group is)
        # and in the only post.
        _send(port, _alert([post], clean_text(payload.text)[:500]), [post])
    for payload, envelope in zip(CORPUS, box.messages, strict=True):
        message = _received(envelope)
        subject = str(message["Subject"])
        # (folding a long header and unfolding it again may double a space)
        assert subject.isprintable() and len(" ".join(subject.split())) <= 200, subject
        html_part = message.get_body(("html",))
        assert html_part is not None
        markup = Markup()
        markup.feed(html_part.get_content())
        markup.close()
        assert set(markup.tags) <= OWN_TAGS, (payload.name, set(markup.tags) - OWN_TAGS)
        assert all((t, n) in OWN_ATTRIBUTES for t, n, _ in markup.attributes), payload.name
        assert _flat(clean_text(payload.text)[:500]) in _flat("".join(markup.text)), payload.name


def _flat(text: str) -> str:
    """``text`` as a reader sees it: anything unprintable a space, whitespace collapsed."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


# -- webhook bodies ----------------------------------------------------------------------------
def test_webhook_bodies_carry_post_text_as_json_escaped_text() -> None:
    """An ``item.routed`` body for each corpus post, encoded as the sender encodes it: valid
    JSON whose excerpt reads back exactly, with no raw control byte in the body."""
    events = pytest.importorskip("townhall.webhooks.events")
    outgoing = pytest.importorskip("townhall.webhooks.outgoing")
    posts = from_jsonl()
    stored = [(n, post, None) for n, post in enumerate(posts, start=1)]
    items = [
        {
            "post_pk": n,
            "department": "customer_service",
            "supporting": [],
            "priority": "normal",
            "rule": "default",
            "why": f"from {post.author.handle}",
            "resolved_at": None,
            "first_response_due_at": AT,
            "resolution_due_at": None,
        }
        for n, post, _ in stored
    ]
    datas = list(events.item_routed(list(range(1, len(posts) + 1)), items, stored))
    for post, data in zip(posts, datas, strict=True):
        body = orjson.dumps(outgoing.payload("item.routed", "d-1", data, AT))  # as delivery does
        assert not re.search(rb"[\x00-\x1f]", body), post.id
        decoded = json.loads(body)
        assert decoded["data"]["post"]["excerpt"] == events.excerpt(post.text)
        assert decoded["data"]["post"]["author"] == post.author.handle
        assert decoded["data"]["why"] == f"from {post.author.handle}"
        if '"' in post.text[:100]:
            assert b'\\"' in body  # quotes are escaped, so the text cannot end the string
