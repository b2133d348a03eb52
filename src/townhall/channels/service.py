"""Listening on network channels: secrets, cursors, health, alerts.

``ChannelListener`` runs one channel: ``once`` fetches everything new since the stored cursor,
pushes it through the pipeline and commits the cursor in the same transaction as the posts it
covers (a crash in between refetches and deduplicates; it never skips). ``run`` repeats that,
waiting for the network's stream (or the poll interval) in between, backing off on failure.
A change of health is written to the audit log and raised as a ``channel`` alert for the
channel's owner department (delivered by e-mail and webhook like the radar's).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from townhall.audit import SYSTEM, record
from townhall.channels import health as rules
from townhall.channels.secrets import SecretBox
from townhall.config import Settings
from townhall.connectors.base import Credentials, Fetched, Listener
from townhall.connectors.registry import connector_for
from townhall.errors import ChannelAuthError, ChannelError, ConfigError
from townhall.models import AlertRecord, ChannelHealth, ChannelState
from townhall.org.policy import Channel, Policy
from townhall.pipeline.runner import EMPTY, BatchResult, Intake
from townhall.pipeline.streams import BROKER_ERRORS
from townhall.posts import check_time, terminal_safe

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
"""Longest wait between failed passes, in seconds."""


def get_state(session: Session, channel: str, now: datetime) -> ChannelState:
    """The stored state of ``channel`` (created, new, on first use)."""
    state = session.get(ChannelState, channel)
    if state is None:
        state = ChannelState(
            channel=channel,
            cursor={},
            health=ChannelHealth.NEW,
            last_error="",
            failures=0,
            fetched=0,
            stored=0,
            updated_at=now,
        )
        session.add(state)
        session.flush()
    return state


def connect(
    session: Session,
    settings: Settings,
    channel: Channel,
    secret: str,
    *,
    actor: str,
    now: datetime,
) -> ChannelState:
    """Store a channel's token or app password, encrypted (``TOWNHALL_SECRETS_KEY``); a saved
    login session is dropped, so the next pass logs in with the new secret."""
    secret = secret.strip()
    if not secret:
        raise ConfigError("the secret is empty")
    box = SecretBox(settings.secrets_key)
    state = get_state(session, channel.id, now)
    state.secret, state.session = box.seal(secret), None
    state.health, state.failures, state.last_error, state.error_kind = (
        ChannelHealth.NEW,
        0,
        "",
        None,
    )
    state.updated_at = now
    record(
        session,
        at=now,
        actor=actor,
        action="channel.connected",
        subject_type="channel",
        subject_id=channel.id,
        why=f"{actor} stored a new secret for {channel.id} (encrypted)",
    )
    return state


def credentials_for(
    sessions: sessionmaker[Session], settings: Settings, channel: Channel, now: datetime
) -> Credentials:
    """The channel's secret (its environment variable first, else the encrypted store) and
    saved session; raises ``ChannelAuthError`` when the channel needs one and has none."""
    secret = settings.channel_secret(channel.secret_env) if channel.secret_env else None
    with sessions() as session, session.begin():
        state = get_state(session, channel.id, now)
        sealed_secret, sealed_session = state.secret, state.session
    box: SecretBox | None = None
    if sealed_secret or sealed_session:
        box = SecretBox(settings.secrets_key)
    if secret is None and sealed_secret and box is not None:
        secret = box.open(sealed_secret, f"the secret of channel {channel.id}")
    saved = (
        box.open(sealed_session, f"the session of {channel.id}") if box and sealed_session else None
    )
    if secret is None and saved is None and channel.kind.value != "rss":
        where = f"set {channel.secret_env} or " if channel.secret_env else ""
        raise ChannelAuthError(
            f"{channel.id} has no credentials: {where}run `townhall channels connect {channel.id}`"
        )

    def save_session(value: str) -> None:
        if not settings.secrets_key:
            log.info("%s: TOWNHALL_SECRETS_KEY unset, the login session is not kept", channel.id)
            return
        sealed = SecretBox(settings.secrets_key).seal(value)
        with sessions() as session, session.begin():
            get_state(session, channel.id, now).session = sealed

    return Credentials(secret=secret, session=saved, save_session=save_session)


@dataclass
class ListenReport:
    """One listen pass of one channel (the JSON line of ``townhall listen --once``)."""

    channel: str
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    queued: int = 0
    """Posts handed to the broker for ``townhall worker`` to store (with a broker)."""
    cursor: dict[str, Any] = field(default_factory=dict)
    health: ChannelHealth = ChannelHealth.NEW
    rejected: list[str] = field(default_factory=list)
    error: str = ""
    retry_at: datetime | None = None
    not_modified: bool = False

    def to_json(self) -> dict[str, Any]:
        """``channel``, ``fetched``, ``stored``, ``duplicates``, ``queued``, ``cursor``,
        ``health``, and ``rejected`` (a count), ``error`` and ``not_modified``."""
        return {
            "channel": self.channel,
            "fetched": self.fetched,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "queued": self.queued,
            "cursor": self.cursor,
            "health": self.health.value,
            "rejected": len(self.rejected),
            "error": self.error,
            "not_modified": self.not_modified,
        }


def _alert(session: Session, policy: Policy, state: ChannelState, now: datetime) -> None:
    """Raise (once per change) an alert and an audit event for a bad health, and note a
    recovery in the audit log."""
    new = ChannelHealth(state.health)
    if new.value == state.alerted_health:
        return
    if new in rules.BAD:
        try:
            owner = policy.channel(state.channel).default_owner
        except KeyError:
            owner = ""
        severity = "critical" if new is ChannelHealth.AUTH_FAILED else "warning"
        why = f"Channel {state.channel} is {new.value.replace('_', ' ')}: {state.last_error}"
        session.add(
            AlertRecord(
                at=now,
                raised_at=now,
                kind="channel",
                topic=f"channel:{state.channel}",
                severity=severity,
                story="",
                post_ids=[],
                why=why,
                score=0.0,
                details={"channel": state.channel, "health": new.value, "department": owner},
                deliveries=[],
            )
        )
        action, actor = "channel.unhealthy", SYSTEM
    elif state.alerted_health is None or new is not ChannelHealth.OK:
        state.alerted_health = new.value
        return
    else:
        why, action, actor = f"Channel {state.channel} works again", "channel.recovered", SYSTEM
    record(
        session,
        at=now,
        actor=actor,
        action=action,
        subject_type="channel",
        subject_id=state.channel,
        why=why,
        details={"health": new.value},
    )
    state.alerted_health = new.value


class ChannelListener:
    """Listens on one live channel of the policy through its connector."""

    def __init__(
        self,
        channel: Channel,
        sessions: sessionmaker[Session],
        pipeline: Intake,
        policy: Callable[[], Policy],
        settings: Settings,
        clock: Callable[[], datetime],
        connector: Listener | None = None,
    ) -> None:
        self.channel = channel
        self._sessions = sessions
        self._pipeline = pipeline
        self._policy = policy
        self._settings = settings
        self._clock = clock
        self._connector = connector

    def connector(self, now: datetime) -> Listener:
        """The connector, built on first use with the channel's credentials."""
        if self._connector is None:
            credentials = credentials_for(self._sessions, self._settings, self.channel, now)
            self._connector = connector_for(
                self.channel, credentials, timeout=self._settings.channel_timeout
            )
        return self._connector

    def close(self) -> None:
        """Close the connector's connections."""
        if self._connector is not None:
            self._connector.close()

    def once(self) -> ListenReport:
        """Fetch what is new since the stored cursor and store it (never raises for a
        channel's failure, nor while the database or the broker is down: the report and the
        stored health say what happened, and the cursor moves only after the posts are safe)."""
        report = ListenReport(self.channel.id)
        try:
            return self._pass(report)
        except (*BROKER_ERRORS, OperationalError) as exc:
            # The cursor did not move: the next pass fetches these posts again.
            log.warning("%s: could not hand the posts on: %s", self.channel.id, exc)
            report.error = (
                f"the broker or the database does not answer ({type(exc).__name__}); "
                "the posts will be fetched again"
            )
            return report

    def _pass(self, report: ListenReport) -> ListenReport:
        now = self._clock()
        with self._sessions() as session, session.begin():
            state = get_state(session, self.channel.id, now)
            cursor, report.health = dict(state.cursor or {}), ChannelHealth(state.health)
            retry_at = state.retry_at
        report.cursor = cursor
        if retry_at is not None and retry_at > now:
            report.error, report.retry_at = f"rate limited until {retry_at:%H:%M:%S} UTC", retry_at
            return report
        try:
            fetched = self.connector(now).fetch_new(cursor)
        except (ChannelError, ConfigError) as exc:
            channel_exc = exc if isinstance(exc, ChannelError) else ChannelAuthError(exc.message)
            if isinstance(channel_exc, ChannelAuthError):
                self._connector = None  # reconnecting may pick up a new secret
            return self._failed(report, channel_exc, now)
        return self._store(report, fetched, now)

    def _failed(self, report: ListenReport, exc: ChannelError, now: datetime) -> ListenReport:
        with self._sessions() as session, session.begin():
            state = get_state(session, self.channel.id, now)
            verdict = rules.after_failure(exc, state.failures, ChannelHealth(state.health))
            state.health, state.failures = verdict.health, verdict.failures
            state.error_kind, state.last_error = verdict.error_kind, verdict.error
            state.retry_at, state.last_fetch_at, state.updated_at = verdict.retry_at, now, now
            _alert(session, self._policy(), state, now)
        report.health, report.error, report.retry_at = (
            verdict.health,
            verdict.error,
            verdict.retry_at,
        )
        return report

    def _store(self, report: ListenReport, fetched: Fetched, now: datetime) -> ListenReport:
        report.rejected = [str(r) for r in fetched.rejected]
        posts = []
        for post in fetched.posts:
            late = check_time(post, now, self._settings.max_future_seconds)
            if late is None:
                posts.append(post)
            else:
                report.rejected.append(f"{self.channel.id} post {post.external_id}: {late}")
        report.fetched = len(fetched.posts)
        report.not_modified, report.cursor = fetched.not_modified, dict(fetched.cursor)
        size = max(1, self._settings.batch_size)
        chunks = [posts[i : i + size] for i in range(0, len(posts), size)] or [[]]
        total = EMPTY

        def commit_cursor(session: Session, result: BatchResult) -> None:
            state = get_state(session, self.channel.id, now)
            stored = total.stored + result.stored + total.queued + result.queued
            newest = max((p.created_at for p in posts), default=None)
            if stored and newest is not None:
                state.gap_seconds = rules.next_gap(
                    state.gap_seconds, state.last_post_at, newest, stored
                )
                if state.last_post_at is None or newest > state.last_post_at:
                    state.last_post_at = newest
            verdict = rules.after_success(state.last_post_at, state.gap_seconds, now)
            state.cursor = dict(fetched.cursor)
            state.health, state.failures = verdict.health, verdict.failures
            state.error_kind, state.last_error, state.retry_at = (
                verdict.error_kind,
                verdict.error,
                None,
            )
            state.last_fetch_at = state.last_success_at = state.updated_at = now
            state.fetched += len(posts)
            state.stored += stored
            _alert(session, self._policy(), state, now)
            report.health = verdict.health

        for number, chunk in enumerate(chunks, start=1):
            last = number == len(chunks)
            result = self._pipeline.process_batch(
                chunk, now, within=commit_cursor if last else None
            )
            total = total + result
        report.stored, report.duplicates = total.stored, total.duplicates
        report.queued = total.queued
        for rejected in report.rejected:
            log.warning("%s: %s", self.channel.id, terminal_safe(rejected))
        return report

    def run(
        self, stop: threading.Event, on_report: Callable[[ListenReport], None] | None = None
    ) -> None:
        """Listen until ``stop`` is set: a pass, then wait for news (or back off after a
        failure: doubling from 1 s to ``MAX_BACKOFF``, or until a rate limit ends)."""
        backoff = 1.0
        while not stop.is_set():
            report = self.once()
            if on_report is not None:
                on_report(report)
            if report.error and report.health is not ChannelHealth.QUIET:
                wait = backoff
                if report.retry_at is not None:
                    wait = max(1.0, (report.retry_at - self._clock()).total_seconds())
                stop.wait(min(wait, MAX_BACKOFF))
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            try:
                self.connector(self._clock()).wait_for_news(self.channel.poll_seconds, stop)
            except (ChannelError, ConfigError):
                stop.wait(1.0)
        self.close()


def live_channels(policy: Policy, wanted: list[str] | None = None) -> list[Channel]:
    """The policy's live channels (or those named in ``wanted``: ``KeyError`` for a name the
    policy lacks, ``ValueError`` for one that is not live)."""
    if not wanted:
        return [c for c in policy.channels if c.live]
    channels = []
    for name in wanted:
        channel = policy.channel(name)
        if not channel.live:
            raise ValueError(name)
        channels.append(channel)
    return channels
