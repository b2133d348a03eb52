"""Alert delivery: the traffic-spike estimate, e-mail and webhook rendering, and ``Notifier``.

* ``traffic_spike`` (pure) turns a spread forecast into expected extra site visits and, above
  the policy's threshold, a ``TrafficSpike`` alert for IT.
* ``render_email`` / ``render_webhook`` (pure) format an alert and its posts. Post texts and
  authors are attacker-controlled: escaped in HTML and Slack text, kept off header lines.
* ``Notifier`` sends an alert to every channel of the policy's ``alerts:`` section whose kinds
  and severity match, over SMTP and HTTP, retrying transient failures with exponential backoff.
  It never raises: each channel gets a ``Delivery`` (delivered, failed with a reason, skipped).
  Vendor errors are translated at this boundary into ``ChannelError`` subclasses
  (unavailable: retried; auth: a human must fix credentials; rejected: not retried).
"""

from __future__ import annotations

import html
import json
import logging
import math
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from enum import StrEnum
from functools import partial
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from townhall.config import Settings
from townhall.errors import (
    ChannelAuthError,
    ChannelError,
    ChannelRejectedError,
    ChannelUnavailableError,
    ConfigError,
)
from townhall.org.alerts import AlertPolicy, EmailAlerts, Webhook, WebhookFormat
from townhall.posts import Post
from townhall.radar.alerts import Alert, rank
from townhall.radar.bursts import Severity
from townhall.radar.forecast import Forecast

logger = logging.getLogger(__name__)

KIND_LABELS: dict[str, str] = {
    "crisis": "crisis",
    "burst": "complaint burst",
    "viral_post": "viral post",
    "traffic_spike": "traffic spike",
}
MAX_POSTS_SHOWN = 5
"""Posts quoted in an e-mail or chat message (the rest are listed by id)."""
MAX_POST_CHARS = 500
"""Characters of a post's text quoted in an e-mail or chat message."""
MAX_SUBJECT_CHARS = 200
"""Characters of an e-mail subject line."""
DEFAULT_BACKOFF = 1.0
"""Seconds before the first retry, doubled each time, plus up to this much jitter; 16× at most."""


# -- the traffic spike --------------------------------------------------------------------------
@dataclass(frozen=True)
class TrafficEstimate:
    """Reshares still to come and the site visits they bring, each with its 80% interval."""

    remaining_reshares: float
    remaining_interval: tuple[float, float]
    extra_visits: float
    extra_visits_interval: tuple[float, float]


@dataclass(frozen=True)
class TrafficSpike:
    """An alert for IT: a post's forecast spread implies a traffic spike on the site.

    ``extra_visits`` (site visits over the rest of the post's spread) and its 80% interval come
    from the forecast's reshares still to come × ``clicks_per_reshare`` (visits per reshare).
    """

    at: datetime
    severity: Severity
    topic: str | None
    post_ids: tuple[str, ...]
    why: str
    extra_visits: float
    extra_visits_interval: tuple[float, float]
    clicks_per_reshare: float
    story: str = ""
    kind: Literal["traffic_spike"] = "traffic_spike"

    def to_json(self) -> dict[str, Any]:
        """The Alerts JSONL object plus ``extra_visits``, its interval and the clicks figure."""
        lo, hi = self.extra_visits_interval
        return {
            "at": _utc(self.at).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "kind": self.kind,
            "topic": self.topic,
            "severity": self.severity,
            "post_ids": list(self.post_ids),
            "why": self.why,
            "extra_visits": round(self.extra_visits),
            # rounded first so float noise (250.00000000001) does not widen the interval
            "extra_visits_interval": [math.floor(round(lo, 6)), math.ceil(round(hi, 6))],
            "clicks_per_reshare": self.clicks_per_reshare,
        }


Notice = Alert | TrafficSpike
"""Anything ``Notifier`` delivers: a radar ``Alert`` or a ``TrafficSpike``."""


def expected_extra_visits(
    forecast: Forecast, observed_so_far: int, clicks_per_reshare: float
) -> TrafficEstimate:
    """Site visits still to come: (forecast final − reshares seen) × visits per reshare.

    ``observed_so_far`` is the reshares already seen (their visits have happened);
    ``clicks_per_reshare`` is site visits per reshare. Counts are over the rest of the post's
    spread (the forecast's 7-day horizon), not per hour. Raises ValueError on a non-finite
    forecast or a clicks figure that is not positive.
    """
    if not (clicks_per_reshare > 0 and math.isfinite(clicks_per_reshare)):
        raise ValueError(f"clicks_per_reshare must be a positive number, not {clicks_per_reshare}")
    lo, hi = forecast.interval
    if not all(math.isfinite(v) for v in (forecast.predicted_final, lo, hi)):
        raise ValueError("the forecast is not finite")
    seen = max(observed_so_far, 0)
    remaining = max(forecast.predicted_final - seen, 0.0)
    interval = (max(lo - seen, 0.0), max(hi - seen, 0.0))
    return TrafficEstimate(
        remaining_reshares=remaining,
        remaining_interval=interval,
        extra_visits=remaining * clicks_per_reshare,
        extra_visits_interval=(interval[0] * clicks_per_reshare, interval[1] * clicks_per_reshare),
    )


def traffic_spike(
    forecast: Forecast,
    observed_so_far: int,
    clicks_per_reshare: float,
    *,
    notify_at_least: float,
    at: datetime,
    post_ids: Sequence[str],
    site_visits_per_hour: float | None = None,
    topic: str | None = None,
    story: str = "",
) -> TrafficSpike | None:
    """A ``TrafficSpike`` when the expected extra site visits reach ``notify_at_least`` visits.

    Severity: ``watch`` when the median estimate reaches the threshold, ``warning`` when the
    interval's low end does too (≈ 90% likely), ``critical`` when the low end also reaches
    ``site_visits_per_hour`` (visits/hour: a normal hour's load on top). ``at`` is when the
    forecast was made; see ``expected_extra_visits`` for the units.
    """
    estimate = expected_extra_visits(forecast, observed_so_far, clicks_per_reshare)
    if estimate.extra_visits < notify_at_least:
        return None
    low = estimate.extra_visits_interval[0]
    severity: Severity = "watch"
    if low >= notify_at_least:
        severity = "warning"
        if site_visits_per_hour is not None and low >= site_visits_per_hour:
            severity = "critical"
    lo, hi = forecast.interval
    v_lo, v_hi = estimate.extra_visits_interval
    why = (
        f"forecast {forecast.predicted_final:,.0f} reshares (80%: {lo:,.0f}–{hi:,.0f}), "
        f"{max(observed_so_far, 0):,} seen: {estimate.remaining_reshares:,.0f} more × "
        f"{clicks_per_reshare:g} clicks per reshare ≈ {estimate.extra_visits:,.0f} extra site "
        f"visits (80%: {v_lo:,.0f}–{v_hi:,.0f}; IT is told from {notify_at_least:,.0f})"
    )
    if site_visits_per_hour:
        why += (
            f"; {estimate.extra_visits / site_visits_per_hour:.1f}× a normal hour "
            f"({site_visits_per_hour:,.0f} visits/hour)"
        )
    return TrafficSpike(
        at=at,
        severity=severity,
        topic=topic,
        post_ids=tuple(post_ids),
        why=why,
        extra_visits=estimate.extra_visits,
        extra_visits_interval=estimate.extra_visits_interval,
        clicks_per_reshare=clicks_per_reshare,
        story=story,
    )


# -- rendering ------------------------------------------------------------------------------------
def one_line(text: str, limit: int) -> str:
    """``text`` safe for a header or a list line: no CR/LF or control characters, ≤ ``limit``."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def headline(notice: Notice) -> str:
    """``CRITICAL crisis: product:airfry_5`` (not escaped)."""
    label = KIND_LABELS.get(notice.kind, notice.kind)
    return f"{notice.severity.upper()} {label}: {notice.topic or 'no topic'}"


def subject(notice: Notice) -> str:
    """The e-mail subject: one line, at most ``MAX_SUBJECT_CHARS`` characters."""
    # An ASCII separator: mail readers put a stray space around an encoded word like "—".
    return one_line(f"[Townhall] {headline(notice)} - {notice.why}", MAX_SUBJECT_CHARS)


def _when(notice: Notice) -> str:
    return _utc(notice.at).strftime("%Y-%m-%d %H:%M UTC")


def _author(post: Post) -> str:
    name = post.author.name
    return f"{name} ({post.author.handle})" if name else post.author.handle


def _web_url(url: str | None) -> str | None:
    # Only http(s) links become links: a post's `javascript:` URL must never be clickable.
    if url and urlsplit(url).scheme.lower() in ("http", "https"):
        return url
    return None


def _post_text(post: Post) -> str:
    return one_line(post.text, MAX_POST_CHARS)


def _more(posts: Sequence[Post], notice: Notice) -> int:
    return max(len(notice.post_ids), len(posts)) - min(len(posts), MAX_POSTS_SHOWN)


def email_text(notice: Notice, posts: Sequence[Post]) -> str:
    """The plain-text e-mail body."""
    lines = [headline(notice), f"When: {_when(notice)}", f"Why: {notice.why}", ""]
    if posts:
        lines.append("Posts:")
        for post in posts[:MAX_POSTS_SHOWN]:
            lines.append(f"- {one_line(_author(post), 200)} ({post.id}): {_post_text(post)}")
            url = _web_url(post.url)
            if url:
                lines.append(f"  {one_line(url, 2048)}")
        more = _more(posts, notice)
        if more > 0:
            lines.append(f"- and {more} more")
        lines.append("")
    lines.append(f"Post ids: {', '.join(notice.post_ids) or 'none'}")
    lines.append("")
    lines.append("Sent by Townhall's crisis radar.")
    return "\n".join(lines) + "\n"


def email_html(notice: Notice, posts: Sequence[Post]) -> str:
    """The HTML e-mail body; every value from the alert or a post is escaped."""

    def esc(text: str) -> str:
        return html.escape(text, quote=True)

    parts = [
        "<!DOCTYPE html>",
        '<html><body style="font-family: sans-serif">',
        f"<h2>{esc(headline(notice))}</h2>",
        f"<p><b>When:</b> {esc(_when(notice))}<br><b>Why:</b> {esc(notice.why)}</p>",
    ]
    if posts:
        parts.append("<ul>")
        for post in posts[:MAX_POSTS_SHOWN]:
            item = f"<li><b>{esc(_author(post))}</b> ({esc(post.id)})<br>{esc(_post_text(post))}"
            url = _web_url(post.url)
            if url:
                item += f'<br><a href="{esc(url)}">{esc(url)}</a>'
            parts.append(item + "</li>")
        more = _more(posts, notice)
        if more > 0:
            parts.append(f"<li>and {more} more</li>")
        parts.append("</ul>")
    parts.append(f"<p>Post ids: {esc(', '.join(notice.post_ids) or 'none')}</p>")
    parts.append("<p><small>Sent by Townhall's crisis radar.</small></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_email(
    notice: Notice,
    posts: Sequence[Post],
    *,
    sender: str,
    recipients: Sequence[str],
    now: datetime,
) -> EmailMessage:
    """The alert e-mail: plain text with an HTML alternative; ``now`` is the Date header."""
    message = EmailMessage()
    message["From"] = one_line(sender, 320)
    message["To"] = ", ".join(one_line(r, 320) for r in recipients)
    message["Subject"] = subject(notice)
    message["Date"] = format_datetime(_utc(now))
    message["Message-ID"] = make_msgid("townhall", domain=sender.rpartition("@")[2] or None)
    # RFC 3834: tells auto-responders (out of office) not to answer.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Townhall-Kind"] = notice.kind
    message["X-Townhall-Severity"] = notice.severity
    message.set_content(email_text(notice, posts))
    message.add_alternative(email_html(notice, posts), subtype="html")
    return message


def slack_escape(text: str) -> str:
    """Slack's escaping of message text: ``&``, ``<`` and ``>`` (so no mentions or links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(notice: Notice, posts: Sequence[Post]) -> str:
    """The Slack message text (mrkdwn), every value escaped."""
    lines = [f"*{slack_escape(headline(notice))}*", f"{_when(notice)} · {slack_escape(notice.why)}"]
    for post in posts[:MAX_POSTS_SHOWN]:
        line = f"• {slack_escape(one_line(_author(post), 200))}: {slack_escape(_post_text(post))}"
        url = _web_url(post.url)
        if url:
            line += f" {slack_escape(one_line(url, 2048))}"
        lines.append(line)
    more = _more(posts, notice)
    if posts and more > 0:
        lines.append(f"• and {more} more")
    return "\n".join(lines)


def render_webhook(notice: Notice, posts: Sequence[Post], fmt: WebhookFormat) -> dict[str, Any]:
    """The webhook JSON: ``generic`` is the alert's JSON plus ``posts``; ``slack`` is ``text``."""
    if fmt == "slack":
        return {"text": slack_text(notice, posts)}
    body = notice.to_json()
    body["posts"] = [
        {
            "id": post.id,
            "channel": post.channel,
            "author": {"handle": post.author.handle, "name": post.author.name},
            "text": post.text,
            "url": post.url,
        }
        for post in posts[:MAX_POSTS_SHOWN]
    ]
    return body


# -- delivery -------------------------------------------------------------------------------------
class DeliveryStatus(StrEnum):
    """What became of an alert on one channel."""

    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


Problem = Literal["unavailable", "auth", "rejected", "error"]
"""Why a delivery failed: server unavailable (after retries), credentials refused, request
refused (not retried), or an unexpected error in Townhall itself."""


@dataclass(frozen=True)
class Delivery:
    """One channel's outcome: ``channel`` is ``email`` or ``webhook:<id>``; ``reason`` says
    to whom it went, why it failed or why it was skipped; ``attempts`` counts tries."""

    channel: str
    status: DeliveryStatus
    reason: str
    attempts: int = 0
    problem: Problem | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON object with every field."""
        return {
            "channel": self.channel,
            "status": self.status.value,
            "reason": self.reason,
            "attempts": self.attempts,
            "problem": self.problem,
        }


SmtpSecurity = Literal["none", "starttls", "tls"]
_SCHEMES: dict[str, tuple[SmtpSecurity, int]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}


@dataclass(frozen=True)
class SmtpServer:
    """Where alert e-mails go: host, port, TLS mode and optional login (password not shown)."""

    host: str
    port: int
    security: SmtpSecurity = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """Parse ``smtp://``, ``smtp+starttls://`` or ``smtps://[user:password@]host[:port]``."""
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES:
            raise ConfigError(
                f"smtp_url must start with smtp://, smtp+starttls:// or smtps:// "
                f"(got {parts.scheme or 'none'!r})"
            )
        security, default_port = _SCHEMES[parts.scheme]
        try:
            port = parts.port or default_port
        except ValueError:
            raise ConfigError("smtp_url has an invalid port") from None
        if not parts.hostname:
            raise ConfigError("smtp_url has no host")
        return cls(
            host=parts.hostname,
            port=port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    def connect(self, timeout: float) -> smtplib.SMTP:
        """An open, authenticated SMTP session (``timeout`` seconds per network operation)."""
        smtp: smtplib.SMTP
        if self.security == "tls":
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.username is not None:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {one_line(text, 200)}".strip()


def smtp_error(exc: smtplib.SMTPException | OSError, where: str, timeout: float) -> ChannelError:
    """Translate an ``smtplib`` or socket error into unavailable / auth / rejected."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return ChannelAuthError(
            f"{where} refused the login: {_reply(exc.smtp_code, exc.smtp_error)}"
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{to}: {_reply(c, m)}" for to, (c, m) in exc.recipients.items())
        temporary = all(400 <= c < 500 for c in codes)
        kind = ChannelUnavailableError if temporary else ChannelRejectedError
        return kind(f"{where} refused every recipient ({detail})")
    if isinstance(exc, smtplib.SMTPResponseException):
        kind = ChannelUnavailableError if 400 <= exc.smtp_code < 500 else ChannelRejectedError
        return kind(f"{where} answered {_reply(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return ChannelUnavailableError(f"{where} closed the connection")
    if isinstance(exc, smtplib.SMTPException):
        return ChannelRejectedError(f"{where}: {one_line(str(exc), 200)}")
    if isinstance(exc, ssl.SSLError):
        return ChannelRejectedError(f"{where}: TLS failed ({exc.reason or exc})")
    if isinstance(exc, TimeoutError):
        return ChannelUnavailableError(f"{where} did not answer within {timeout:g} s")
    if isinstance(exc, ConnectionRefusedError):
        return ChannelUnavailableError(f"{where} refused the connection (is it running?)")
    return ChannelUnavailableError(f"cannot reach {where}: {exc.strerror or exc}")


def http_error(exc: httpx.HTTPError | httpx.InvalidURL, where: str, timeout: float) -> ChannelError:
    """Translate an ``httpx`` error into unavailable (network) or rejected (the request)."""
    if isinstance(exc, httpx.TimeoutException):
        return ChannelUnavailableError(f"{where} did not answer within {timeout:g} s")
    if isinstance(exc, httpx.ConnectError):
        return ChannelUnavailableError(f"cannot connect to {where}: {one_line(str(exc), 200)}")
    if isinstance(exc, httpx.TransportError):
        return ChannelUnavailableError(f"{where}: {type(exc).__name__}: {one_line(str(exc), 200)}")
    return ChannelRejectedError(f"{where}: {type(exc).__name__}: {one_line(str(exc), 200)}")


def http_status_error(response: httpx.Response, where: str) -> ChannelError | None:
    """None for a 2xx answer, else unavailable (408, 425, 429, 5xx), auth (401, 403), rejected."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    body = one_line(response.text, 200) if response.content else ""
    detail = f"{where} answered {status} {response.reason_phrase}".rstrip()
    if body:
        detail += f": {body}"
    if 300 <= status < 400:
        return ChannelRejectedError(f"{detail} (redirects are not followed)")
    if status in (408, 425, 429) or status >= 500:
        return ChannelUnavailableError(detail)
    if status in (401, 403):
        return ChannelAuthError(detail)
    return ChannelRejectedError(detail)


def _problem(exc: ChannelError) -> Problem:
    if isinstance(exc, ChannelUnavailableError):
        return "unavailable"
    if isinstance(exc, ChannelAuthError):
        return "auth"
    return "rejected"


def _host(url: str) -> str:
    # Webhook URLs often carry a secret token in the path: reasons name the host only.
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """Sends alerts by e-mail and webhook as the policy's ``alerts:`` section says.

    Synchronous and thread-safe; call ``notify`` from a worker thread. A channel takes at most
    ``attempts × timeout`` seconds plus the backoff waits. ``sleep`` and ``clock`` are injectable
    (tests pass a recorder and ``backoff=0``). Close it (or use ``with``) to free connections.
    """

    def __init__(
        self,
        policy: AlertPolicy,
        smtp: SmtpServer | None = None,
        *,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = DEFAULT_BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utcnow,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.policy = policy
        self.smtp = smtp
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "Townhall-alerts/1"},
        )

    @classmethod
    def from_settings(cls, settings: Settings, policy: AlertPolicy) -> Notifier:
        """A notifier with the SMTP server, timeout and attempts of ``settings``."""
        smtp = SmtpServer.from_url(settings.smtp_url) if settings.smtp_url else None
        if smtp is None and policy.email is not None:
            logger.warning("the policy asks for alert e-mails but TOWNHALL_SMTP_URL is not set")
        return cls(policy, smtp, timeout=settings.alert_timeout, attempts=settings.alert_attempts)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def notify(self, notice: Notice, posts: Sequence[Post] = ()) -> list[Delivery]:
        """Deliver ``notice`` (quoting ``posts``) to each channel: e-mail first, then webhooks
        in policy order. Never raises; returns one ``Delivery`` per configured channel."""
        deliveries: list[Delivery] = []
        if self.policy.email is not None:
            email = self.policy.email
            deliveries.append(self._guard("email", lambda: self._email(notice, posts, email)))
        for hook in self.policy.webhooks:
            channel = f"webhook:{hook.id}"
            deliveries.append(self._guard(channel, partial(self._webhook, notice, posts, hook)))
        return deliveries

    # -- channels ---------------------------------------------------------------------------------
    def _guard(self, channel: str, deliver: Callable[[], Delivery]) -> Delivery:
        try:
            return deliver()
        except Exception as exc:  # the caller must never see an exception from a sink
            logger.exception("alert delivery to %s failed unexpectedly", channel)
            reason = f"unexpected error: {type(exc).__name__}: {one_line(str(exc), 200)}"
            return Delivery(channel, DeliveryStatus.FAILED, reason, problem="error")

    def _email(self, notice: Notice, posts: Sequence[Post], email: EmailAlerts) -> Delivery:
        recipients = email.to.for_kind(notice.kind)
        if not recipients:
            return _skipped("email", f"no e-mail recipients for {notice.kind} alerts")
        if rank(notice.severity) < rank(email.min_severity):
            return _skipped(
                "email",
                f"{notice.severity} is below the channel's min_severity {email.min_severity}",
            )
        server = self.smtp
        if server is None:
            return _skipped("email", "no SMTP server configured (set TOWNHALL_SMTP_URL)")
        message = render_email(
            notice, posts, sender=email.from_, recipients=recipients, now=self._clock()
        )
        where = f"SMTP server {server.host}:{server.port}"

        def send() -> str:
            try:
                with server.connect(self.timeout) as smtp:
                    refused = smtp.send_message(
                        message, from_addr=email.from_, to_addrs=list(recipients)
                    )
            except (smtplib.SMTPException, OSError) as exc:
                raise smtp_error(exc, where, self.timeout) from exc
            sent = f"sent to {len(recipients) - len(refused)} of {len(recipients)} recipients"
            if refused:
                detail = "; ".join(f"{to}: {_reply(c, m)}" for to, (c, m) in refused.items())
                return f"{sent}; refused: {detail}"
            return sent

        return self._deliver("email", send)

    def _webhook(self, notice: Notice, posts: Sequence[Post], hook: Webhook) -> Delivery:
        channel = f"webhook:{hook.id}"
        if notice.kind not in hook.kinds:
            return _skipped(channel, f"takes {', '.join(hook.kinds)} alerts, not {notice.kind}")
        if rank(notice.severity) < rank(hook.min_severity):
            return _skipped(
                channel,
                f"{notice.severity} is below the channel's min_severity {hook.min_severity}",
            )
        content = json.dumps(render_webhook(notice, posts, hook.format), ensure_ascii=False)
        where = f"webhook {hook.id} ({_host(hook.url)})"

        def send() -> str:
            try:
                response = self._http.post(
                    hook.url,
                    content=content.encode(),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise http_error(exc, where, self.timeout) from exc
            problem = http_status_error(response, where)
            if problem is not None:
                raise problem
            return f"{_host(hook.url)} answered {response.status_code}"

        return self._deliver(channel, send)

    def _deliver(self, channel: str, send: Callable[[], str]) -> Delivery:
        """Run ``send`` with retries on ``ChannelUnavailableError``; a Delivery either way."""
        attempts = 0

        def attempt() -> str:
            nonlocal attempts
            attempts += 1
            return send()

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential_jitter(
                multiplier=self.backoff, jitter=self.backoff, max=16 * self.backoff
            ),
            retry=retry_if_exception_type(ChannelUnavailableError),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            reason = retrying(attempt)
        except ChannelError as exc:
            tries = f" (after {attempts} attempts)" if attempts > 1 else ""
            logger.warning("alert delivery to %s failed: %s%s", channel, exc.message, tries)
            return Delivery(
                channel, DeliveryStatus.FAILED, exc.message + tries, attempts, _problem(exc)
            )
        return Delivery(channel, DeliveryStatus.DELIVERED, reason, attempts)


def _skipped(channel: str, reason: str) -> Delivery:
    return Delivery(channel, DeliveryStatus.SKIPPED, reason)
