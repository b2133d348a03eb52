"""The publisher: sends what is due in the outbox, exactly once.

One ``run_once`` pass, each step in short transactions of its own:

0. **Housekeeping**: drafts still unapproved at their scheduled time expire; takeover shifts
   are synced from the policy, and the announcement of a shift that starts (or the sign-off of
   one that ends) enters the outbox, once.
1. **Recover**: a post still ``publishing`` after the lease (``TOWNHALL_PUBLISH_LEASE``)
   belongs to a publisher that died mid-publish: it becomes ``unknown``.
2. **Reconcile** every ``unknown`` post before anything else: read the account's recent posts
   back and look for it (``Publisher.find_published``). Found: ``published``, with the remote id.
   Not found: due again (or ``missed`` if too late). The network unreachable: still unknown.
3. **Miss**: a post overdue by more than the policy's ``publishing.missed_after_minutes`` is
   ``missed``, not posted late.
4. **Claim** each due post atomically (``UPDATE … WHERE status IN (approved, scheduled)``: of
   two publishers only one gets a row), with an attempt row, and commit the claim.
5. **Publish** outside any transaction, then commit the outcome, guarded by the claim token.
   Refused: ``failed`` (the reason kept); unavailable before sending or rate limited: due
   again after a backoff (or the network's reset time); no answer: ``unknown``.

A publisher killed anywhere in 4–5 leaves the post ``publishing``; step 1 and 2 of the next
pass settle it without a blind retry, so every post appears on the network once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from townhall.audit import SYSTEM
from townhall.channels.service import credentials_for
from townhall.config import Settings
from townhall.connectors.base import Capability, Outgoing, Publisher, Sent
from townhall.connectors.registry import capabilities_of, connector_for
from townhall.errors import (
    ChannelAuthError,
    ChannelError,
    ChannelRateLimitedError,
    ChannelRejectedError,
    ConfigError,
    OutcomeUnknownError,
)
from townhall.models import Item, OutboxAttempt, OutboxKind, OutboxPost, OutboxStatus
from townhall.models.outbox import DUE
from townhall.org.policy import Policy
from townhall.posts import Post
from townhall.publishing.drafts import audit, expire
from townhall.webhooks import events as webhook_events
from townhall.webhooks.outgoing import emit

log = logging.getLogger(__name__)

BATCH = 50
"""Most posts claimed in one pass."""

RETRY_BACKOFF = timedelta(seconds=30)
"""Wait before a post whose channel was unavailable is tried again (doubled per attempt)."""

AUTH_RETRY = timedelta(minutes=5)
"""Wait before trying again on a channel whose credentials were refused."""

SKEW = timedelta(minutes=2)
"""Clock difference allowed between Townhall and the network when reading posts back."""


@dataclass
class RunSummary:
    """What one publisher pass did (the JSON of ``townhall publish run``)."""

    published: int = 0
    failed: int = 0
    unknown: int = 0
    reconciled: int = 0
    retried: int = 0
    missed: int = 0
    expired: int = 0
    announced: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Every count, and the errors (one line each)."""
        return {
            "published": self.published,
            "failed": self.failed,
            "unknown": self.unknown,
            "reconciled": self.reconciled,
            "retried": self.retried,
            "missed": self.missed,
            "expired": self.expired,
            "announced": self.announced,
            "errors": self.errors,
        }

    @property
    def busy(self) -> bool:
        """Whether the pass did anything."""
        return any(
            (
                self.published,
                self.failed,
                self.unknown,
                self.reconciled,
                self.missed,
                self.expired,
                self.announced,
            )
        )


def outgoing(post: OutboxPost) -> Outgoing:
    """What the connector is asked to send for an outbox post (the same on every attempt)."""
    reply_to = Post.native_id(post.reply_to, post.channel) if post.reply_to else None
    return Outgoing(
        text=post.text,
        key=post.key,
        reply_to=reply_to if post.kind != OutboxKind.PRIVATE else None,
        reply_to_author=post.reply_to_author if post.kind == OutboxKind.REPLY else None,
        direct_to=post.direct_to if post.kind == OutboxKind.PRIVATE else None,
    )


class OutboxPublisher:
    """Publishes the outbox's due posts through the channels' connectors."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        policy: Callable[[], Policy],
        settings: Settings,
        clock: Callable[[], datetime],
        connectors: Callable[[str], Publisher] | None = None,
    ) -> None:
        """``connectors`` builds the publisher of a channel id (default: the registry's
        connector with the channel's credentials), kept for the publisher's life."""
        self._sessions = sessions
        self._policy = policy
        self._settings = settings
        self._clock = clock
        self._build = connectors
        self._connectors: dict[str, Publisher] = {}
        self._limited: dict[str, ChannelRateLimitedError] = {}
        """Channels rate limited in the current pass: their other posts wait without a call."""

    def _connector(self, channel_id: str) -> Publisher:
        if channel_id in self._connectors:
            return self._connectors[channel_id]
        if self._build is not None:
            connector = self._build(channel_id)
        else:
            try:
                channel = self._policy().channel(channel_id)
            except KeyError:
                raise ChannelRejectedError(f"the policy has no channel {channel_id!r}") from None
            if Capability.PUBLISH not in capabilities_of(channel):
                raise ChannelRejectedError(
                    f"{channel_id} cannot publish: it is not connected to a network "
                    "(give it an api_base_url in the policy)"
                )
            now = self._clock()
            try:
                credentials = credentials_for(self._sessions, self._settings, channel, now)
            except ConfigError as exc:
                raise ChannelAuthError(exc.message) from None
            built = connector_for(channel, credentials, timeout=self._settings.channel_timeout)
            if not isinstance(built, Publisher):
                raise ChannelRejectedError(f"{channel_id} ({channel.kind}) cannot publish")
            connector = built
        self._connectors[channel_id] = connector
        return connector

    def close(self) -> None:
        """Close the connectors' connections."""
        for connector in self._connectors.values():
            close = getattr(connector, "close", None)
            if callable(close):
                close()
        self._connectors.clear()

    # -- the pass ---------------------------------------------------------------------------
    def run_once(self, limit: int = BATCH) -> RunSummary:
        """One pass: recover, reconcile, miss, claim and publish (see the module)."""
        summary = RunSummary()
        self._limited = {}
        self._housekeeping(summary)
        self._recover()
        self._reconcile(summary)
        self._miss(summary)
        for post_id, token in self._claim(limit):
            self._publish(post_id, token, summary)
        return summary

    def _housekeeping(self, summary: RunSummary) -> None:
        """Drafts past their time expire; takeover shifts that start or end are announced
        (the announcements then go out in this same pass); recurring slots write their drafts
        ahead (once an hour)."""
        from townhall.publishing import recurring, takeovers  # deferred: they import drafts

        now, policy = self._clock(), self._policy()
        with self._sessions() as session, session.begin():
            summary.expired += len(expire(session, now))
            takeovers.sync_rota(session, policy, now)
            summary.announced += len(takeovers.hand_over(session, policy, now))
        self._ahead = getattr(self, "_ahead", None) or recurring.HourlyPass()
        with self._sessions() as session, session.begin():
            self._ahead.run(session, policy, now)

    def _recover(self) -> None:
        now = self._clock()
        stale = now - timedelta(seconds=self._settings.publish_lease)
        with self._sessions() as session, session.begin():
            rows = session.scalars(
                select(OutboxPost).where(
                    OutboxPost.status == OutboxStatus.PUBLISHING, OutboxPost.claimed_at < stale
                )
            ).unique()
            for post in rows:
                post.status, post.claim, post.updated_at = OutboxStatus.UNKNOWN, None, now
                post.error_kind = "unknown"
                post.error = "The publisher stopped while publishing: reading the account back."
                _finish_open_attempts(session, post.id, now, "unknown", post.error)
                audit(session, post, SYSTEM, "outbox.unknown", now, post.error)

    def _reconcile(self, summary: RunSummary) -> None:
        with self._sessions() as session, session.begin():
            rows = list(
                session.scalars(
                    select(OutboxPost).where(OutboxPost.status == OutboxStatus.UNKNOWN).limit(BATCH)
                ).unique()
            )
            todo = [(p.id, p.channel, outgoing(p), p.claimed_at or p.created_at) for p in rows]
        for post_id, channel, sent, since in todo:
            now = self._clock()
            try:
                found = self._connector(channel).find_published(sent, since - SKEW)
            except ChannelError as exc:
                summary.errors.append(f"outbox #{post_id}: cannot check {channel}: {exc.message}")
                summary.unknown += 1
                self._attempt(post_id, "reconcile", now, "unavailable", exc)
                continue
            with self._sessions() as session, session.begin():
                post = session.get(OutboxPost, post_id)
                if post is None or post.status != OutboxStatus.UNKNOWN:
                    continue
                attempt = _attempt_row(session, post.id, "reconcile", now)
                if found is not None:
                    attempt.outcome = "found"
                    attempt.remote_id, attempt.remote_url = found.remote_id, found.url
                    self._published(session, post, found, now, "found on the network")
                    summary.reconciled += 1
                else:
                    attempt.outcome = "not_found"
                    post.status, post.updated_at = OutboxStatus.APPROVED, now
                    post.error = "Not on the network after an unknown outcome: sending again."
                    audit(session, post, SYSTEM, "outbox.retry", now, post.error)
                    summary.retried += 1
                attempt.finished_at = now

    def _miss(self, summary: RunSummary) -> None:
        now = self._clock()
        limit = timedelta(minutes=self._policy().publishing.missed_after_minutes)
        with self._sessions() as session, session.begin():
            rows = session.scalars(select(OutboxPost).where(OutboxPost.status.in_(DUE))).unique()
            for post in rows:
                due = post.scheduled_at or post.decided_at or post.created_at
                if now - due <= limit:
                    continue
                post.status, post.updated_at, post.error_kind = OutboxStatus.MISSED, now, "missed"
                minutes = limit.total_seconds() / 60
                post.error = (
                    f"Due at {due:%Y-%m-%d %H:%M} UTC and still not out {minutes:.0f} minutes "
                    "later: not posted late."
                )
                audit(session, post, SYSTEM, "outbox.missed", now, post.error)
                summary.missed += 1

    def _claim(self, limit: int) -> list[tuple[int, str]]:
        now = self._clock()
        claimed: list[tuple[int, str]] = []
        with self._sessions() as session, session.begin():
            ids = list(
                session.scalars(
                    select(OutboxPost.id)
                    .where(
                        OutboxPost.status.in_(DUE),
                        or_(OutboxPost.scheduled_at.is_(None), OutboxPost.scheduled_at <= now),
                        or_(
                            OutboxPost.next_attempt_at.is_(None), OutboxPost.next_attempt_at <= now
                        ),
                    )
                    .order_by(OutboxPost.id)
                    .limit(limit)
                )
            )
        for post_id in ids:
            token = uuid.uuid4().hex
            with self._sessions() as session, session.begin():
                won = session.execute(
                    update(OutboxPost)
                    .where(OutboxPost.id == post_id, OutboxPost.status.in_(DUE))
                    .values(
                        status=OutboxStatus.PUBLISHING,
                        claim=token,
                        claimed_at=now,
                        attempts=OutboxPost.attempts + 1,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                if cast(CursorResult[Any], won).rowcount != 1:  # another publisher took it
                    continue
                _attempt_row(session, post_id, "publish", now)
            claimed.append((post_id, token))
        return claimed

    def _publish(self, post_id: int, token: str, summary: RunSummary) -> None:
        with self._sessions() as session, session.begin():
            post = session.get(OutboxPost, post_id)
            if post is None or post.claim != token:
                return
            channel, sent = post.channel, outgoing(post)
        result: Sent | ChannelError
        if channel in self._limited:  # the channel said "wait" earlier in this pass
            result = self._limited[channel]
        else:
            try:
                result = self._connector(channel).publish(sent)
            except ChannelError as exc:
                result = exc
            if isinstance(result, ChannelRateLimitedError):
                self._limited[channel] = result
        now = self._clock()
        with self._sessions() as session, session.begin():
            post = session.get(OutboxPost, post_id)
            if post is None or post.claim != token or post.status != OutboxStatus.PUBLISHING:
                return  # our lease ran out and another pass settled it
            if isinstance(result, Sent):
                _finish_open_attempts(session, post.id, now, "published", "", result)
                self._published(session, post, result, now, "published")
                summary.published += 1
                return
            self._settle_failure(session, post, result, now, summary)

    def _settle_failure(
        self,
        session: Session,
        post: OutboxPost,
        exc: ChannelError,
        now: datetime,
        summary: RunSummary,
    ) -> None:
        post.claim, post.updated_at, post.error = None, now, exc.message
        summary.errors.append(f"outbox #{post.id} on {post.channel}: {exc.message}")
        if isinstance(exc, OutcomeUnknownError):
            post.status, post.error_kind, outcome = OutboxStatus.UNKNOWN, "unknown", "unknown"
            summary.unknown += 1
        elif isinstance(exc, ChannelRejectedError):
            post.status, post.error_kind, outcome = OutboxStatus.FAILED, "rejected", "failed"
            emit(session, "post.failed", webhook_events.outbox_post(post), now)
            summary.failed += 1
        else:
            post.status = OutboxStatus.APPROVED
            if isinstance(exc, ChannelRateLimitedError):
                post.error_kind, outcome = "rate_limited", "rate_limited"
                post.next_attempt_at = exc.retry_at or now + RETRY_BACKOFF
            elif isinstance(exc, ChannelAuthError):
                post.error_kind, outcome = "auth", "auth"
                post.next_attempt_at = now + AUTH_RETRY
                self._connectors.pop(post.channel, None)
            else:
                post.error_kind, outcome = "unavailable", "unavailable"
                post.next_attempt_at = now + RETRY_BACKOFF * 2 ** min(post.attempts - 1, 6)
            summary.retried += 1
        _finish_open_attempts(session, post.id, now, outcome, exc.message, kind=post.error_kind)
        audit(session, post, SYSTEM, f"outbox.{outcome}", now, exc.message)

    # -- helpers ----------------------------------------------------------------------------
    def _published(
        self, session: Session, post: OutboxPost, sent: Sent, now: datetime, how: str
    ) -> None:
        post.status, post.claim, post.updated_at = OutboxStatus.PUBLISHED, None, now
        post.remote_id, post.remote_url, post.published_at = sent.remote_id, sent.url, now
        post.error_kind, post.error, post.next_attempt_at = None, "", None
        if post.item_id is not None:
            item = session.get(Item, post.item_id)
            if item is not None and item.first_responded_at is None:
                item.first_responded_at = now
        where = f" at {sent.url}" if sent.url else ""
        audit(session, post, SYSTEM, "outbox.published", now, f"The {post.kind} was {how}{where}")
        emit(session, "post.published", webhook_events.outbox_post(post), now)

    def _attempt(
        self, post_id: int, action: str, now: datetime, outcome: str, exc: ChannelError
    ) -> None:
        with self._sessions() as session, session.begin():
            attempt = _attempt_row(session, post_id, action, now)
            attempt.outcome, attempt.error, attempt.finished_at = outcome, exc.message, now


def _attempt_row(session: Session, post_id: int, action: str, now: datetime) -> OutboxAttempt:
    attempt = OutboxAttempt(
        outbox_id=post_id, action=action, started_at=now, outcome="started", error=""
    )
    session.add(attempt)
    return attempt


def _finish_open_attempts(
    session: Session,
    post_id: int,
    now: datetime,
    outcome: str,
    error: str,
    sent: Sent | None = None,
    kind: str | None = None,
) -> None:
    for attempt in session.scalars(
        select(OutboxAttempt).where(
            OutboxAttempt.outbox_id == post_id, OutboxAttempt.outcome == "started"
        )
    ):
        attempt.outcome, attempt.error, attempt.finished_at = outcome, error, now
        attempt.error_kind = kind
        if sent is not None:
            attempt.remote_id, attempt.remote_url = sent.remote_id, sent.url
