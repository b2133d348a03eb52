"""Alert delivery: ``Notifier`` sends alerts by e-mail (SMTP) and webhooks (HTTP).

``Notifier`` sends an alert to every channel of the policy's ``alerts:`` section whose kinds and
severity match, retrying transient failures with exponential backoff. It never raises: each
channel gets a ``Delivery`` (delivered, failed with a reason, skipped). Vendor errors are
translated at this boundary into ``ChannelError`` subclasses (unavailable: retried; auth: a
human must fix credentials; rejected: not retried). What is sent comes from
``townhall.radar.render``; the traffic-spike alert from ``townhall.radar.traffic``.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from townhall.org.alerts import AlertPolicy, EmailAlerts, Webhook
from townhall.posts import Post
from townhall.radar.alerts import rank
from townhall.radar.render import one_line, render_email, render_webhook
from townhall.radar.traffic import Notice

logger = logging.getLogger(__name__)

DEFAULT_BACKOFF = 1.0
"""Seconds before the first retry, doubled each time, plus up to this much jitter; 16× at most."""


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
