"""Weekly digests on schedule: which are due (the policy's ``insights.digests``), sending one
over SMTP, and the audit event that makes each go out once per department and ISO week.

A schedule ``{department: pr, weekday: mon, time: "08:00"}`` sends, from Monday 08:00 on the
department's wall clock, the digest of the week that just ended; a server that was down then
sends it when it comes back during that week. Each send is recorded in the audit log (action
``digest.sent``, subject ``digest`` ``pr/2026-W47``), which is checked before sending: two due
passes send once. The sender remembers what it sent or found sent, so a pass where nothing is
due reads nothing from the database. A failed send is tried again ``RETRY_AFTER`` later.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from townhall import audit
from townhall.config import Settings
from townhall.errors import ChannelError, ConfigError
from townhall.insights.digest import Digest, IsoWeek, build_digest
from townhall.insights.render import digest_email
from townhall.models import AuditEvent
from townhall.org.fields import WEEKDAYS
from townhall.org.insights import DigestSchedule
from townhall.org.policy import Policy
from townhall.publishing import localtime
from townhall.radar.notify import SmtpServer, smtp_error

log = logging.getLogger(__name__)

DIGEST_SENT = "digest.sent"
"""The audit action of a digest that went out."""
SUBJECT_TYPE = "digest"
RETRY_AFTER = timedelta(minutes=15)
"""How long after a failed send the schedule tries again."""


# -- pure -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DueDigest:
    """A scheduled digest whose time has come: the department and the week it reports."""

    schedule: DigestSchedule
    week: IsoWeek

    @property
    def key(self) -> str:
        """``pr/2026-W47``: the audit subject that says it went out."""
        return subject_of(self.schedule.department, self.week)


def subject_of(department: str, week: IsoWeek) -> str:
    """The audit subject id of a department's digest of ``week``."""
    return f"{department}/{week}"


def send_time(schedule: DigestSchedule, week: IsoWeek, zone_name: str) -> datetime:
    """When, in UTC, the schedule sends during ``week`` (its weekday and local time)."""
    day = week.monday + timedelta(days=WEEKDAYS.index(schedule.weekday))
    hours, minutes = (int(part) for part in schedule.time.split(":"))
    return localtime.at_local(day, time(hours % 24, minutes), localtime.zone(zone_name))


def due(policy: Policy, now: datetime) -> list[DueDigest]:
    """The digests whose send time this week (on each department's clock) has passed: each
    reports the week before."""
    found = []
    for schedule in policy.insights.digests:
        zone = policy.department_timezone(schedule.department)
        this_week = IsoWeek.of(localtime.local(now, localtime.zone(zone)).date())
        if now >= send_time(schedule, this_week, zone):
            found.append(DueDigest(schedule, this_week.shifted(-1)))
    return found


def recipients(policy: Policy, department: str, to: Sequence[str] = ()) -> list[str]:
    """Who gets a department's digest: ``to`` if given, else its schedule's ``to``, else the
    department's people."""
    if to:
        return list(dict.fromkeys(to))
    for schedule in policy.insights.digests:
        if schedule.department == department and schedule.to:
            return list(schedule.to)
    return [p.email for p in policy.people_in(department)]


def sender_of(policy: Policy, recipients: Sequence[str]) -> str:
    """The From address: the alert e-mails' sender, else townhall@ the first recipient's
    domain."""
    if policy.alerts is not None and policy.alerts.email is not None:
        return policy.alerts.email.from_
    domain = recipients[0].rpartition("@")[2] if recipients else ""
    return f"townhall@{domain or 'localhost'}"


# -- I/O ------------------------------------------------------------------------------------------
def already_sent(session: Session, department: str, week: IsoWeek) -> bool:
    """Whether the audit log says this digest went out."""
    found = session.scalar(
        select(AuditEvent.id)
        .where(
            AuditEvent.subject_type == SUBJECT_TYPE,
            AuditEvent.subject_id == subject_of(department, week),
            AuditEvent.action == DIGEST_SENT,
        )
        .limit(1)
    )
    return found is not None


def record_sent(
    session: Session,
    digest: Digest,
    sent_to: Sequence[str],
    message_id: str,
    now: datetime,
    actor: str = audit.SYSTEM,
) -> None:
    """Add the audit event of a digest that went out (the caller commits)."""
    audit.record(
        session,
        at=now,
        actor=actor,
        action=DIGEST_SENT,
        subject_type=SUBJECT_TYPE,
        subject_id=subject_of(digest.department, digest.week),
        why=f"{digest.subject} sent to {len(sent_to)} recipients",
        details={"sent_to": list(sent_to), "message_id": message_id, "week": str(digest.week)},
    )


@dataclass(frozen=True)
class Sent:
    """A digest that went out: to whom, and its Message-ID."""

    sent_to: list[str]
    message_id: str


def send_digest(
    server: SmtpServer,
    policy: Policy,
    digest: Digest,
    to: Sequence[str],
    timeout: float = 10.0,
) -> Sent:
    """Send ``digest`` to ``to`` over SMTP; raises ``ChannelError`` (unavailable, auth,
    rejected) when it did not go out; ``timeout`` is seconds per network operation."""
    if not to:
        raise ConfigError(f"{digest.department_name} has nobody to send its digest to")
    sender = sender_of(policy, to)
    message = digest_email(policy, digest, sender=sender, recipients=list(to))
    where = f"SMTP server {server.host}:{server.port}"
    try:
        with server.connect(timeout) as smtp:
            refused = smtp.send_message(message, from_addr=sender, to_addrs=list(to))
    except (smtplib.SMTPException, OSError) as exc:
        raise smtp_error(exc, where, timeout) from exc
    return Sent([r for r in to if r not in refused], str(message["Message-ID"]))


class DigestSender:
    """Sends the digests due, once each (the background loop calls ``run`` every pass)."""

    def __init__(self, server: SmtpServer | None, timeout: float = 10.0) -> None:
        self.server = server
        self.timeout = timeout
        self._done: set[str] = set()
        self._retry_at: dict[str, datetime] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> DigestSender:
        """A sender using the alerts' SMTP server (none without ``TOWNHALL_SMTP_URL``)."""
        server = SmtpServer.from_url(settings.smtp_url) if settings.smtp_url else None
        return cls(server, settings.alert_timeout)

    def run(
        self, sessions: sessionmaker[Session], policy: Policy, clock: Callable[[], datetime]
    ) -> list[str]:
        """Send every digest due and not yet sent; the keys (``pr/2026-W47``) that went out."""
        now = clock()
        todo = [
            d
            for d in due(policy, now)
            if d.key not in self._done and now >= self._retry_at.get(d.key, now)
        ]
        if not todo or self.server is None:
            return []
        sent: list[str] = []
        for item in todo:
            department, week = item.schedule.department, item.week
            with sessions() as session, session.begin():
                if already_sent(session, department, week):
                    self._done.add(item.key)
                    continue
                digest = build_digest(session, policy, department, week, now)
            try:
                outcome = send_digest(
                    self.server, policy, digest, recipients(policy, department), self.timeout
                )
            except (ChannelError, ConfigError) as exc:
                log.warning("digest %s not sent: %s", item.key, exc.message)
                self._retry_at[item.key] = now + RETRY_AFTER
                continue
            with sessions() as session, session.begin():
                record_sent(session, digest, outcome.sent_to, outcome.message_id, clock())
            self._done.add(item.key)
            sent.append(item.key)
        return sent
