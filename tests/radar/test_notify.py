"""Alert delivery: traffic-spike estimate, rendering, and real SMTP / HTTP round trips.

The SMTP server is aiosmtpd on 127.0.0.1; the webhooks are a stdlib HTTP server on 127.0.0.1.
Retry waits go through an injected ``sleep`` that only records them.
"""

from __future__ import annotations

import email
import email.policy
import math
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from townhall.config import Settings
from townhall.connectors.standin import free_port
from townhall.org.alerts import AlertPolicy
from townhall.posts import Post
from townhall.radar.alerts import Alert
from townhall.radar.forecast import Forecast
from townhall.radar.notify import Delivery, DeliveryStatus, Notifier, SmtpServer
from townhall.radar.render import one_line, render_email, render_webhook
from townhall.radar.traffic import TrafficSpike, expected_extra_visits, traffic_spike

pytestmark = pytest.mark.timeout(60)

AT = datetime(2026, 11, 20, 10, 13, 5, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 10, 14, tzinfo=UTC)
SENDER = "townhall@acme.example"
PR = "grace.lindqvist@acme.example"
CS = "sofia.rossi@acme.example"
IT = "jonas.weber@acme.example"


# -- servers --------------------------------------------------------------------------------------
@dataclass
class Mailbox:
    """What the SMTP server received; ``replies`` are answered to DATA before accepting."""

    port: int = 0
    messages: list[Envelope] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        if self.replies:
            return self.replies.pop(0)
        self.messages.append(envelope)
        return "250 Message accepted for delivery"

    def received(self, i: int = 0) -> EmailMessage:
        content = self.messages[i].content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def _start_smtp(mailbox: Mailbox, **kwargs: Any) -> Controller:
    mailbox.port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=mailbox.port, ready_timeout=10, **kwargs
    )
    controller.start()
    return controller


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1 without authentication."""
    box = Mailbox()
    controller = _start_smtp(box)
    yield box
    controller.stop()


@pytest.fixture
def login_mailbox() -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1 that accepts the login alice / s3cret (AUTH over plain SMTP)."""
    box = Mailbox()

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"alice",
            b"s3cret",
        )
        if ok:
            box.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: send the 535

    controller = _start_smtp(box, authenticator=authenticate, auth_require_tls=False)
    yield box
    controller.stop()


# -- helpers --------------------------------------------------------------------------------------
def crisis(**overrides: Any) -> Alert:
    data: dict[str, Any] = {
        "at": AT,
        "kind": "crisis",
        "topic": "product:airfry_5",
        "severity": "warning",
        "post_ids": ("forum:1", "forum:2", "forum:3"),
        "why": "2 of 3 posts negative about product:airfry_5 in ACME owners club; risk 0.52",
        "story": "forum:1",
        "score": 0.52,
    }
    data.update(overrides)
    return Alert(**data)


@pytest.fixture
def posts(make_post: Callable[..., Post]) -> list[Post]:
    """Two hostile posts: markup and a Slack mention in the text, markup in a URL."""
    return [
        make_post(
            1,
            id="forum:1",
            channel="forum",
            text="<script>alert(1)</script> my AirFry 5 caught fire\n<!channel> look",
            author={"handle": "@eve@evil.example", "name": 'Eve "<b>"'},
            url='https://evil.example/"><img src=x onerror=alert(1)>',
        ),
        make_post(
            2,
            id="forum:2",
            channel="forum",
            text="Same here & worse",
            author={"handle": "@bob@example.social", "name": None},
            url="https://forum.acme.example/t/1?a=1&b=2",
        ),
    ]


def alert_policy(webhooks: list[dict[str, Any]] | None = None, **email: Any) -> AlertPolicy:
    section: dict[str, Any] = {"from": SENDER, "to": {"crisis": [PR, CS], "traffic_spike": IT}}
    section.update(email)
    return AlertPolicy.model_validate({"email": section, "webhooks": webhooks or []})


class Waits(list[float]):
    """A ``sleep`` that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def notifier(
    policy: AlertPolicy,
    smtp: SmtpServer | None = None,
    waits: Waits | None = None,
    **kwargs: Any,
) -> Notifier:
    kwargs.setdefault("timeout", 5.0)
    kwargs.setdefault("backoff", 0.0)
    return Notifier(
        policy, smtp, sleep=waits if waits is not None else Waits(), clock=lambda: NOW, **kwargs
    )


def local(port: int) -> SmtpServer:
    return SmtpServer("127.0.0.1", port)


FORECAST = Forecast(
    observed=40, predicted_final=1040.0, interval=(540.0, 2540.0), p_viral=0.9, infectiousness=1e-3
)


# -- traffic spike --------------------------------------------------------------------------------
def test_extra_visits_are_reshares_to_come_times_clicks_per_reshare():
    estimate = expected_extra_visits(FORECAST, 40, 0.5)
    assert estimate.remaining_reshares == 1000
    assert estimate.remaining_interval == (500, 2500)
    assert estimate.extra_visits == 500
    assert estimate.extra_visits_interval == (250, 1250)


def test_reshares_seen_since_the_forecast_are_not_counted_again():
    estimate = expected_extra_visits(FORECAST, 800, 0.5)
    assert estimate.remaining_reshares == 240
    assert estimate.remaining_interval == (0, 1740)
    assert expected_extra_visits(FORECAST, 5000, 0.5).extra_visits == 0


def test_extra_visits_refuse_nonsense():
    with pytest.raises(ValueError, match="clicks_per_reshare must be a positive number, not 0"):
        expected_extra_visits(FORECAST, 40, 0)
    infinite = Forecast(40, math.inf, (540.0, math.inf), 1.0, 1e-3)
    with pytest.raises(ValueError, match="the forecast is not finite"):
        expected_extra_visits(infinite, 40, 0.5)


def spike(threshold: float, hourly: float | None = None) -> TrafficSpike | None:
    return traffic_spike(
        FORECAST,
        40,
        0.5,
        notify_at_least=threshold,
        site_visits_per_hour=hourly,
        at=AT,
        post_ids=["forum:1"],
        topic="product:airfry_5",
        story="forum:1",
    )


def test_traffic_spike_fires_at_the_threshold_with_a_severity_from_the_interval():
    assert spike(501) is None  # 500 expected
    watch = spike(500)
    assert watch is not None and watch.severity == "watch"  # low end 250 < 500
    warning = spike(250, hourly=4000)
    assert warning is not None and warning.severity == "warning"  # low end 250 < 4000/hour
    critical = spike(250, hourly=250)
    assert critical is not None and critical.severity == "critical"


def test_traffic_spike_says_why_and_serialises():
    alert = spike(200, hourly=4000)
    assert alert is not None
    assert alert.why == (
        "forecast 1,040 reshares (80%: 540–2,540), 40 seen: 1,000 more × 0.5 clicks per "
        "reshare ≈ 500 extra site visits (80%: 250–1,250; IT is told from 200); "
        "0.1× a normal hour (4,000 visits/hour)"
    )
    assert alert.to_json() == {
        "at": "2026-11-20T10:13:05Z",
        "kind": "traffic_spike",
        "topic": "product:airfry_5",
        "severity": "warning",
        "post_ids": ["forum:1"],
        "why": alert.why,
        "extra_visits": 500,
        "extra_visits_interval": [250, 1250],
        "clicks_per_reshare": 0.5,
    }
    assert alert.story == "forum:1"


# -- rendering ------------------------------------------------------------------------------------
def test_one_line_removes_line_breaks_and_control_characters():
    assert one_line("a\r\nBcc: x@evil.example\u2028b\x00c\td", 100) == "a Bcc: x@evil.example b c d"
    assert one_line("abcdef", 4) == "abc…"


def test_email_rendering_escapes_html_and_keeps_headers_on_one_line(posts: list[Post]):
    alert = crisis(topic="product:x\r\nBcc: victim@evil.example", why="bad\nX-Evil: 1")
    message = render_email(alert, posts, sender=SENDER, recipients=[PR], now=NOW)
    assert message["Subject"] == (
        "[Townhall] WARNING crisis: product:x Bcc: victim@evil.example - bad X-Evil: 1"
    )
    assert message["Bcc"] is None and message["X-Evil"] is None
    body = message.get_body(("html",))
    assert body is not None
    html = body.get_content()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- e-mail over real SMTP ------------------------------------------------------------------------
EXPECTED_TEXT = """\
WARNING crisis: product:airfry_5
When: 2026-11-20 10:13 UTC
Why: 2 of 3 posts negative about product:airfry_5 in ACME owners club; risk 0.52

Posts:
- Eve "<b>" (@eve@evil.example) (forum:1): <script>alert(1)</script> my AirFry 5 caught fire \
<!channel> look
  https://evil.example/"><img src=x onerror=alert(1)>
- @bob@example.social (forum:2): Same here & worse
  https://forum.acme.example/t/1?a=1&b=2
- and 1 more

Post ids: forum:1, forum:2, forum:3

Sent by Townhall's crisis radar.
"""

EXPECTED_HTML = """\
<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2>WARNING crisis: product:airfry_5</h2>
<p><b>When:</b> 2026-11-20 10:13 UTC<br><b>Why:</b> 2 of 3 posts negative about \
product:airfry_5 in ACME owners club; risk 0.52</p>
<ul>
<li><b>Eve &quot;&lt;b&gt;&quot; (@eve@evil.example)</b> (forum:1)<br>&lt;script&gt;alert(1)\
&lt;/script&gt; my AirFry 5 caught fire &lt;!channel&gt; look<br>\
<a href="https://evil.example/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">\
https://evil.example/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</a></li>
<li><b>@bob@example.social</b> (forum:2)<br>Same here &amp; worse<br>\
<a href="https://forum.acme.example/t/1?a=1&amp;b=2">https://forum.acme.example/t/1?a=1&amp;b=2</a></li>
<li>and 1 more</li>
</ul>
<p>Post ids: forum:1, forum:2, forum:3</p>
<p><small>Sent by Townhall's crisis radar.</small></p>
</body></html>
"""


def test_email_arrives_with_exact_headers_and_both_bodies(mailbox: Mailbox, posts: list[Post]):
    with notifier(alert_policy(), local(mailbox.port)) as sender:
        deliveries = sender.notify(crisis(), posts)
    assert deliveries == [
        Delivery("email", DeliveryStatus.DELIVERED, "sent to 2 of 2 recipients", attempts=1)
    ]
    [envelope] = mailbox.messages
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == [PR, CS]
    message = mailbox.received()
    assert message["From"] == SENDER
    assert message["To"] == f"{PR}, {CS}"
    assert message["Subject"] == (
        "[Townhall] WARNING crisis: product:airfry_5 - 2 of 3 posts negative about "
        "product:airfry_5 in ACME owners club; risk 0.52"
    )
    assert message["Date"] == "Fri, 20 Nov 2026 10:14:00 +0000"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Townhall-Kind"] == "crisis"
    assert message["X-Townhall-Severity"] == "warning"
    assert message["Message-ID"].endswith("@acme.example>")
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and rich is not None
    assert plain.get_content().replace("\r\n", "\n") == EXPECTED_TEXT
    assert rich.get_content().replace("\r\n", "\n") == EXPECTED_HTML


def test_header_injection_through_topic_and_why_is_neutralised(mailbox: Mailbox):
    alert = crisis(
        topic="product:x\r\nBcc: victim@evil.example",
        why="bad\r\n\r\nX-Evil: 1\nTo: victim@evil.example",
    )
    with notifier(alert_policy(), local(mailbox.port)) as sender:
        [delivery] = sender.notify(alert)
    assert delivery.status is DeliveryStatus.DELIVERED
    [envelope] = mailbox.messages
    assert envelope.rcpt_tos == [PR, CS]
    message = mailbox.received()
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message.get_all("To") == [f"{PR}, {CS}"]
    assert message["Subject"] == (
        "[Townhall] WARNING crisis: product:x Bcc: victim@evil.example - bad X-Evil: 1 To: "
        "victim@evil.example"
    )


def test_a_temporary_smtp_refusal_is_retried_with_backoff(mailbox: Mailbox):
    mailbox.replies = ["451 4.3.0 try again later"]
    waits = Waits()
    with notifier(alert_policy(), local(mailbox.port), waits, backoff=0.5) as sender:
        [delivery] = sender.notify(crisis())
    assert delivery == Delivery(
        "email", DeliveryStatus.DELIVERED, "sent to 2 of 2 recipients", attempts=2
    )
    assert len(mailbox.messages) == 1
    assert len(waits) == 1 and 0.5 <= waits[0] <= 1.0  # 0.5 s × 2⁰ plus up to 0.5 s jitter


def test_a_permanent_smtp_refusal_is_not_retried(mailbox: Mailbox):
    mailbox.replies = ["554 5.7.1 message rejected"]
    with notifier(alert_policy(), local(mailbox.port)) as sender:
        [delivery] = sender.notify(crisis())
    assert delivery == Delivery(
        "email",
        DeliveryStatus.FAILED,
        f"SMTP server 127.0.0.1:{mailbox.port} answered 554 5.7.1 message rejected",
        attempts=1,
        problem="rejected",
    )
    assert mailbox.messages == []


def test_refused_recipients_are_named(mailbox: Mailbox):
    mailbox.refuse = {CS: "550 5.1.1 no such user"}
    with notifier(alert_policy(), local(mailbox.port)) as sender:
        [delivery] = sender.notify(crisis())
    assert delivery == Delivery(
        "email",
        DeliveryStatus.DELIVERED,
        f"sent to 1 of 2 recipients; refused: {CS}: 550 5.1.1 no such user",
        attempts=1,
    )
    assert mailbox.messages[0].rcpt_tos == [PR]
    mailbox.refuse = {PR: "550 5.1.1 no such user", CS: "450 4.2.1 mailbox busy"}
    with notifier(alert_policy(), local(mailbox.port)) as sender:
        [delivery] = sender.notify(crisis())
    assert delivery == Delivery(
        "email",
        DeliveryStatus.FAILED,
        f"SMTP server 127.0.0.1:{mailbox.port} refused every recipient ({PR}: 550 5.1.1 no such "
        f"user; {CS}: 450 4.2.1 mailbox busy)",
        attempts=1,
        problem="rejected",
    )
    assert len(mailbox.messages) == 1


def test_smtp_login(login_mailbox: Mailbox):
    server = SmtpServer("127.0.0.1", login_mailbox.port, username="alice", password="s3cret")
    with notifier(alert_policy(), server) as sender:
        [delivery] = sender.notify(crisis())
    assert delivery.status is DeliveryStatus.DELIVERED
    assert login_mailbox.logins == ["alice"]
    assert len(login_mailbox.messages) == 1


def test_a_refused_smtp_login_is_an_auth_failure_without_retries(login_mailbox: Mailbox):
    server = SmtpServer("127.0.0.1", login_mailbox.port, username="alice", password="wrong")
    with notifier(alert_policy(), server) as sender:
        [delivery] = sender.notify(crisis())
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.problem == "auth" and delivery.attempts == 1
    assert delivery.reason.startswith(
        f"SMTP server 127.0.0.1:{login_mailbox.port} refused the login: 535 "
    )
    assert login_mailbox.messages == []


def test_a_dead_smtp_server_gives_a_failed_delivery_and_no_exception():
    port = free_port()
    waits = Waits()
    with notifier(alert_policy(), local(port), waits, attempts=3) as sender:
        [delivery] = sender.notify(crisis())
    assert delivery == Delivery(
        "email",
        DeliveryStatus.FAILED,
        f"SMTP server 127.0.0.1:{port} refused the connection (is it running?) (after 3 attempts)",
        attempts=3,
        problem="unavailable",
    )
    assert waits == [0.0, 0.0]


# -- webhooks over real HTTP ----------------------------------------------------------------------
def hook(hooks: Any, ident: str = "it", **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "url": f"{hooks.url}/hooks/{ident}?token=secret",
        "kinds": ["crisis"],
    } | extra


def test_generic_webhook_receives_the_alert_json(hooks: Any, posts: list[Post]):
    policy = AlertPolicy.model_validate({"webhooks": [hook(hooks)]})
    with notifier(policy) as sender:
        deliveries = sender.notify(crisis(), posts)
    port = hooks.url.rsplit(":", 1)[1]
    assert deliveries == [
        Delivery("webhook:it", DeliveryStatus.DELIVERED, f"127.0.0.1:{port} answered 200", 1)
    ]
    [(path, headers, _)] = hooks.requests
    assert path == "/hooks/it?token=secret"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert hooks.json() == {
        "at": "2026-11-20T10:13:05Z",
        "kind": "crisis",
        "topic": "product:airfry_5",
        "severity": "warning",
        "post_ids": ["forum:1", "forum:2", "forum:3"],
        "why": "2 of 3 posts negative about product:airfry_5 in ACME owners club; risk 0.52",
        "topic_name": "product:airfry_5",  # not named: this alert did not come from the store
        "posts": [
            {
                "id": "forum:1",
                "channel": "forum",
                "author": {"handle": "@eve@evil.example", "name": 'Eve "<b>"'},
                "text": "<script>alert(1)</script> my AirFry 5 caught fire\n<!channel> look",
                "url": 'https://evil.example/"><img src=x onerror=alert(1)>',
            },
            {
                "id": "forum:2",
                "channel": "forum",
                "author": {"handle": "@bob@example.social", "name": None},
                "text": "Same here & worse",
                "url": "https://forum.acme.example/t/1?a=1&b=2",
            },
        ],
    }


def test_slack_webhook_receives_escaped_text(hooks: Any, posts: list[Post]):
    policy = AlertPolicy.model_validate({"webhooks": [hook(hooks, "chat", format="slack")]})
    with notifier(policy) as sender:
        [delivery] = sender.notify(crisis(why="risk <high> & rising"), posts)
    assert delivery.status is DeliveryStatus.DELIVERED
    assert hooks.json() == {
        "text": "*WARNING crisis: product:airfry_5*\n"
        "2026-11-20 10:13 UTC · risk &lt;high&gt; &amp; rising\n"
        '• Eve "&lt;b&gt;" (@eve@evil.example): &lt;script&gt;alert(1)&lt;/script&gt; my AirFry 5 '
        'caught fire &lt;!channel&gt; look https://evil.example/"&gt;&lt;img src=x '
        "onerror=alert(1)&gt;\n"
        "• @bob@example.social: Same here &amp; worse https://forum.acme.example/t/1?a=1&amp;b=2\n"
        "• and 1 more"
    }


def test_traffic_spike_goes_to_its_webhook_and_email(hooks: Any, mailbox: Mailbox):
    alert = spike(200, hourly=4000)
    assert alert is not None
    policy = alert_policy(
        [hook(hooks, "it", kinds=["traffic_spike"]), hook(hooks, "chat", format="slack")]
    )
    with notifier(policy, local(mailbox.port)) as sender:
        deliveries = sender.notify(alert)
    assert [(d.channel, d.status.value) for d in deliveries] == [
        ("email", "delivered"),
        ("webhook:it", "delivered"),
        ("webhook:chat", "skipped"),
    ]
    assert deliveries[2].reason == "takes crisis alerts, not traffic_spike"
    assert mailbox.messages[0].rcpt_tos == [IT]
    assert mailbox.received()["Subject"].startswith(
        "[Townhall] WARNING traffic spike: product:airfry_5 - forecast 1,040 reshares"
    )
    assert hooks.json() == alert.to_json() | {"topic_name": "product:airfry_5", "posts": []}


def test_a_server_error_then_success_is_retried(hooks: Any):
    hooks.answers = [(500, "oops")]
    waits = Waits()
    policy = AlertPolicy.model_validate({"webhooks": [hook(hooks)]})
    with notifier(policy, waits=waits, backoff=2.0) as sender:
        [delivery] = sender.notify(crisis())
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 2
    assert len(hooks.requests) == 2 and hooks.requests[0][2] == hooks.requests[1][2]
    assert len(waits) == 1 and 2.0 <= waits[0] <= 4.0


def test_a_server_that_stays_unavailable_fails_after_the_attempts(hooks: Any):
    hooks.answers = [(503, "busy")] * 3
    policy = AlertPolicy.model_validate({"webhooks": [hook(hooks)]})
    with notifier(policy, attempts=3) as sender:
        [delivery] = sender.notify(crisis())
    port = hooks.url.rsplit(":", 1)[1]
    assert delivery == Delivery(
        "webhook:it",
        DeliveryStatus.FAILED,
        f"webhook it (127.0.0.1:{port}) answered 503 Service Unavailable: busy (after 3 attempts)",
        attempts=3,
        problem="unavailable",
    )


@pytest.mark.parametrize(
    ("status", "problem"), [(404, "rejected"), (400, "rejected"), (401, "auth"), (302, "rejected")]
)
def test_client_errors_are_not_retried(hooks: Any, status: int, problem: str):
    hooks.answers = [(status, "no")]
    policy = AlertPolicy.model_validate({"webhooks": [hook(hooks)]})
    with notifier(policy) as sender:
        [delivery] = sender.notify(crisis())
    assert delivery.status is DeliveryStatus.FAILED
    assert (delivery.problem, delivery.attempts, len(hooks.requests)) == (problem, 1, 1)
    assert f"answered {status} " in delivery.reason
    assert "token=secret" not in delivery.reason  # the URL's secret stays out of reasons


def test_a_dead_webhook_port_gives_a_failed_delivery_and_no_exception():
    port = free_port()
    policy = AlertPolicy.model_validate(
        {"webhooks": [{"id": "it", "url": f"http://127.0.0.1:{port}/x", "kinds": "crisis"}]}
    )
    with notifier(policy, attempts=2) as sender:
        [delivery] = sender.notify(crisis())
    assert delivery == Delivery(
        "webhook:it",
        DeliveryStatus.FAILED,
        f"cannot connect to webhook it (127.0.0.1:{port}): [Errno 111] Connection refused "
        "(after 2 attempts)",
        attempts=2,
        problem="unavailable",
    )


def test_a_webhook_that_never_answers_times_out():
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        policy = AlertPolicy.model_validate(
            {"webhooks": [{"id": "it", "url": f"http://127.0.0.1:{port}/", "kinds": "crisis"}]}
        )
        with notifier(policy, attempts=1, timeout=0.2) as sender:
            [delivery] = sender.notify(crisis())
    assert delivery == Delivery(
        "webhook:it",
        DeliveryStatus.FAILED,
        f"webhook it (127.0.0.1:{port}) did not answer within 0.2 s",
        attempts=1,
        problem="unavailable",
    )


# -- choosing channels ----------------------------------------------------------------------------
def test_channels_are_skipped_by_kind_severity_and_missing_smtp(hooks: Any):
    policy = alert_policy(
        [hook(hooks, "chat", min_severity="critical"), hook(hooks, "it", kinds=["burst"])],
        min_severity="critical",
    )
    with notifier(policy, local(free_port())) as sender:
        assert sender.notify(crisis()) == [
            Delivery(
                "email",
                DeliveryStatus.SKIPPED,
                "warning is below the channel's min_severity critical",
            ),
            Delivery(
                "webhook:chat",
                DeliveryStatus.SKIPPED,
                "warning is below the channel's min_severity critical",
            ),
            Delivery("webhook:it", DeliveryStatus.SKIPPED, "takes burst alerts, not crisis"),
        ]
        assert sender.notify(crisis(kind="viral_post", severity="critical"))[0] == Delivery(
            "email", DeliveryStatus.SKIPPED, "no e-mail recipients for viral_post alerts"
        )
    with notifier(alert_policy()) as sender:
        assert sender.notify(crisis()) == [
            Delivery(
                "email", DeliveryStatus.SKIPPED, "no SMTP server configured (set TOWNHALL_SMTP_URL)"
            )
        ]
    assert hooks.requests == []
    with notifier(AlertPolicy()) as sender:
        assert sender.notify(crisis()) == []


def test_an_unexpected_error_becomes_a_failed_delivery(mailbox: Mailbox):
    def broken_clock() -> datetime:
        raise RuntimeError("clock exploded")

    with Notifier(alert_policy(), local(mailbox.port), clock=broken_clock) as sender:
        [delivery] = sender.notify(crisis())
    assert delivery == Delivery(
        "email",
        DeliveryStatus.FAILED,
        "unexpected error: RuntimeError: clock exploded",
        problem="error",
    )
    assert delivery.to_json() == {
        "channel": "email",
        "status": "failed",
        "reason": "unexpected error: RuntimeError: clock exploded",
        "attempts": 0,
        "problem": "error",
    }


# -- settings -------------------------------------------------------------------------------------
def test_notifier_from_settings():
    settings = Settings(
        smtp_url="smtp+starttls://alice:p%40ss@mail.acme.example:2525",
        alert_timeout=3,
        alert_attempts=5,
    )
    with Notifier.from_settings(settings, alert_policy()) as sender:
        assert sender.smtp == SmtpServer("mail.acme.example", 2525, "starttls", "alice", "p@ss")
        assert (sender.timeout, sender.attempts) == (3, 5)
        assert "p@ss" not in repr(sender.smtp)
    with Notifier.from_settings(Settings(), AlertPolicy()) as sender:
        assert sender.smtp is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1", SmtpServer("127.0.0.1", 25, "none")),
        ("smtps://u@mail.example", SmtpServer("mail.example", 465, "tls", "u")),
        ("smtp+starttls://mail.example", SmtpServer("mail.example", 587, "starttls")),
    ],
)
def test_smtp_url_schemes_and_default_ports(url: str, expected: SmtpServer):
    assert SmtpServer.from_url(url) == expected


def test_generic_webhook_json_of_a_radar_alert_without_posts():
    assert render_webhook(crisis(), [], "generic") == crisis().to_json() | {
        "topic_name": "product:airfry_5",
        "posts": [],
    }


def test_the_worked_example_of_docs_alerts_md():
    forecast = Forecast(120, 5200.0, (3100.0, 9800.0), 0.99, 1e-3)
    estimate = expected_extra_visits(forecast, 120, 0.3)
    assert estimate.remaining_reshares == 5080
    assert estimate.remaining_interval == (2980, 9680)
    assert [round(v) for v in (estimate.extra_visits, *estimate.extra_visits_interval)] == [
        1524,
        894,
        2904,
    ]
    alert = traffic_spike(
        forecast,
        120,
        0.3,
        notify_at_least=1000,
        site_visits_per_hour=4000,
        at=AT,
        post_ids=["forum:1"],
    )
    assert alert is not None and alert.severity == "watch"
    assert alert.why.endswith("; 0.4× a normal hour (4,000 visits/hour)")
