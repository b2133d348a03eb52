"""Calendar feeds: a department's or a campaign's plan as an iCalendar (``.ics``) file that
people subscribe to in their own calendar.

The feed's address carries a token (``thc_…``) that is its only credential: Townhall keeps its
SHA-256 and shows the token once, when the feed is made. A revoked feed answers as if it never
existed. Each calendar entry is one VEVENT whose UID stays the same across builds, so a
calendar app updates it in place when the post moves.

Services never commit: the caller owns the transaction. Making and revoking a feed is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from townhall.models import (
    CalendarFeed,
    Campaign,
    FeedScope,
    OutboxPost,
    OutboxStatus,
    PlannedEntry,
    PlanStep,
    Role,
    Takeover,
    User,
)
from townhall.org.policy import Policy
from townhall.publishing import calendar
from townhall.publishing.drafts import STATUS_LABELS

TOKEN_PREFIX = "thc_"  # noqa: S105 (a prefix, not a secret)
"""How every feed token starts (so a leaked one is recognisable)."""

MAX_TOKEN_CHARS = 100
"""Longest token the feed address accepts (a real one is 47 characters)."""

BEFORE = timedelta(days=30)
"""How far back a feed shows entries."""

AHEAD = timedelta(days=180)
"""How far ahead a feed shows entries."""

DEFAULT_LENGTH = timedelta(minutes=30)
"""How long an entry without an end lasts in a calendar app."""

TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often."""

PRODID = "-//Townhall//Calendar feed//EN"

TENTATIVE = frozenset({OutboxStatus.DRAFT, OutboxStatus.CHANGES, OutboxStatus.UNKNOWN})
CANCELLED = frozenset({OutboxStatus.EXPIRED, OutboxStatus.MISSED, OutboxStatus.FAILED})
PREFIXED = TENTATIVE | CANCELLED
"""Outbox statuses whose title starts with the status, e.g. "[waiting for approval]"."""


@dataclass(frozen=True)
class NewFeed:
    """A feed just made, with its token (shown this once, never stored)."""

    feed: CalendarFeed
    token: str

    @property
    def path(self) -> str:
        """The feed's address on the site (``/feeds/thc_….ics``)."""
        return feed_path(self.token)


def feed_path(token: str) -> str:
    """The address of the feed with this token, from the site's root."""
    return f"/feeds/{token}.ics"


def hash_token(token: str) -> str:
    """The SHA-256 (hex) that identifies a token in the database."""
    return hashlib.sha256(token.encode()).hexdigest()


def _campaign(session: Session, target: str) -> Campaign:
    campaign = session.get(Campaign, int(target)) if target.isdigit() else None
    if campaign is None:
        raise NotFoundError(f"campaign: there is no campaign {target!r}.")
    return campaign


def label_of(session: Session, policy: Policy, scope: FeedScope, target: str) -> str:
    """What a feed shows, in words: "Marketing plan", "AirFry 5 launch campaign"."""
    if scope is FeedScope.DEPARTMENT:
        try:
            return f"{policy.department(target).name} plan"
        except KeyError:
            return f"{target} plan"
    return f"{_campaign(session, target).name} campaign"


def create(
    session: Session,
    policy: Policy,
    *,
    scope: FeedScope,
    target: str,
    creator: User,
    now: datetime,
    actor: str | None = None,
) -> NewFeed:
    """Make a feed of a department's (id) or a campaign's (id) plan; raises ``InputError`` for
    an unknown department, ``NotFoundError`` for an unknown campaign. Who may is the caller's
    check. ``actor`` names who acted in the audit log (default: the creator)."""
    if scope is FeedScope.DEPARTMENT and target not in policy.department_ids:
        known = ", ".join(policy.department_ids)
        raise InputError(f"department: unknown department {target!r} (the policy has {known})")
    label = label_of(session, policy, scope, target)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed(
        token_hash=hash_token(token),
        scope=scope,
        target=target,
        label=label,
        created_by_id=creator.id,
        created_at=now,
    )
    session.add(feed)
    session.flush()
    record(
        session,
        at=now,
        actor=actor or creator.email,
        action="calendar_feed.created",
        subject_type="calendar_feed",
        subject_id=feed.id,
        why=f"a calendar feed of the {label} for {creator.name}",
        details={"scope": str(scope), "target": target},
    )
    return NewFeed(feed, token)


def revoke(
    session: Session, feed_id: int, *, now: datetime, by: User | None, actor: str | None = None
) -> CalendarFeed:
    """Revoke a feed: its address answers 404 from now on. ``by`` (None: an operator at the
    command line) must be its creator or an admin; raises ``NotFoundError``,
    ``PermissionDeniedError`` or ``ConflictError`` (already revoked)."""
    feed = session.get(CalendarFeed, feed_id)
    if feed is None:
        raise NotFoundError(f"There is no calendar feed #{feed_id}.")
    if by is not None and by.id != feed.created_by_id and by.role != Role.ADMIN:
        raise PermissionDeniedError(
            "Only the person who made a calendar feed, or an administrator, may revoke it."
        )
    if feed.revoked_at is not None:
        raise ConflictError(f"Calendar feed #{feed_id} is already revoked.")
    feed.revoked_at = now
    record(
        session,
        at=now,
        actor=actor or (by.email if by is not None else "cli"),
        action="calendar_feed.revoked",
        subject_type="calendar_feed",
        subject_id=feed.id,
        why=f"the calendar feed of the {feed.label} was revoked",
    )
    return feed


def find(session: Session, token: str) -> CalendarFeed | None:
    """The live (not revoked) feed of ``token``, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_CHARS:
        return None
    feed = session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == hash_token(token)))
    if feed is None or feed.revoked_at is not None:
        return None
    return feed


def feeds_of(session: Session, user: User | None) -> list[CalendarFeed]:
    """The feeds ``user`` made (None: every feed), newest first."""
    query = select(CalendarFeed).order_by(CalendarFeed.id.desc())
    if user is not None:
        query = query.where(CalendarFeed.created_by_id == user.id)
    return list(session.scalars(query))


def needs_touch(feed: CalendarFeed, now: datetime) -> bool:
    """Whether ``last_used_at`` is older than ``TOUCH_EVERY`` (or unset)."""
    return feed.last_used_at is None or now - _aware(feed.last_used_at) >= TOUCH_EVERY


def touch(session: Session, feed_id: int, now: datetime) -> None:
    """Record that the feed was read at ``now``."""
    feed = session.get(CalendarFeed, feed_id)
    if feed is not None:
        feed.last_used_at = now


def status_of(feed: CalendarFeed) -> str:
    """``active`` or ``revoked``."""
    return "revoked" if feed.revoked_at is not None else "active"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- the iCalendar file ---------------------------------------------------------------------
def entries_of(
    session: Session, policy: Policy, feed: CalendarFeed, now: datetime
) -> list[calendar.Entry]:
    """The calendar entries a feed shows: ``BEFORE`` now to ``AHEAD`` of it."""
    if feed.scope == FeedScope.DEPARTMENT:
        filters = calendar.Filters(departments=frozenset({feed.target}))
    else:
        filters = calendar.Filters(campaigns=frozenset({int(feed.target)}))
    return calendar.entries(session, policy, now - BEFORE, now + AHEAD, filters)


def event_status(entry: calendar.Entry) -> str:
    """The VEVENT STATUS of an entry: TENTATIVE, CONFIRMED or CANCELLED."""
    if entry.kind is calendar.EntryKind.POST:
        status = OutboxStatus(entry.status)
        if status in CANCELLED:
            return "CANCELLED"
        return "TENTATIVE" if status in TENTATIVE else "CONFIRMED"
    if entry.kind is calendar.EntryKind.PLAN_STEP and entry.status != "done":
        return "TENTATIVE"
    return "CANCELLED" if entry.status == "cancelled" else "CONFIRMED"


def status_words(entry: calendar.Entry) -> str:
    """An entry's status as people say it."""
    if entry.kind is calendar.EntryKind.POST:
        return STATUS_LABELS.get(OutboxStatus(entry.status), entry.status)
    return {"shift": "takeover shift"}.get(entry.status, entry.status)


def summary_of(entry: calendar.Entry) -> str:
    """An entry's title, after its status for drafts: "[waiting for approval] Tip of…"."""
    if entry.kind is calendar.EntryKind.POST and OutboxStatus(entry.status) in PREFIXED:
        return f"[{status_words(entry)}] {entry.title}"
    return entry.title


def _stamps(session: Session, found: Sequence[calendar.Entry]) -> dict[str, datetime]:
    """When each entry last changed (DTSTAMP), by key: stable while nothing changes, so the
    file (and its ETag) is too."""

    def ids(prefix: str) -> list[int]:
        return [int(e.key.split("-")[1]) for e in found if e.key.startswith(prefix + "-")]

    stamps: dict[str, datetime] = {}
    queries = (
        ("post", OutboxPost.id, OutboxPost.updated_at),
        ("planned", PlannedEntry.id, PlannedEntry.created_at),
        ("takeover", Takeover.id, Takeover.created_at),
    )
    for prefix, id_column, at_column in queries:
        wanted = ids(prefix)
        if wanted:
            for row_id, at in session.execute(
                select(id_column, at_column).where(id_column.in_(wanted))
            ):
                stamps[f"{prefix}-{row_id}"] = _aware(at)
    steps = ids("step")
    if steps:
        for step in session.scalars(select(PlanStep).where(PlanStep.id.in_(steps))):
            stamps[f"step-{step.id}"] = _aware(step.plan.created_at)
    return stamps


def calendar_name(policy: Policy, feed: CalendarFeed) -> str:
    """The calendar's name in a calendar app: "ACME — Marketing plan"."""
    return f"{policy.brand.name} — {feed.label}"


def build(
    session: Session,
    policy: Policy,
    feed: CalendarFeed,
    now: datetime,
    *,
    base_url: str = "",
    host: str = "",
) -> bytes:
    """The feed as an iCalendar file: one VEVENT per entry (``entries_of``), times in UTC.
    ``base_url`` (``https://townhall.acme.example``) makes each event's URL absolute; ``host``
    names the site in UIDs (default ``townhall``)."""
    found = entries_of(session, policy, feed, now)
    stamps = _stamps(session, found)
    names = calendar.campaign_names(
        session, sorted({e.campaign_id for e in found if e.campaign_id is not None})
    )
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", calendar_name(policy, feed))
    cal.add("x-wr-timezone", policy.timezone)
    root = base_url.rstrip("/")
    for entry in found:
        event = Event()
        event.add("uid", f"{entry.key}@{host or 'townhall'}")
        event.add("dtstamp", stamps.get(entry.key, _aware(feed.created_at)).astimezone(UTC))
        starts = entry.starts_at.astimezone(UTC)
        ends = entry.ends_at.astimezone(UTC) if entry.ends_at else starts + DEFAULT_LENGTH
        event.add("dtstart", starts)
        event.add("dtend", ends)
        event.add("summary", summary_of(entry))
        event.add("description", _description(policy, entry, names))
        event.add("url", root + entry.url)
        if entry.category:
            category = policy.planning.category(entry.category)
            event.add("categories", [category.label if category else entry.category])
        event.add("status", event_status(entry))
        cal.add_component(event)
    body: bytes = cal.to_ical()
    return body


def _description(policy: Policy, entry: calendar.Entry, names: dict[int, str]) -> str:
    lines = []
    if entry.channel:
        lines.append(f"Channel: {_channel_name(policy, entry.channel)}")
    try:
        department = policy.department(entry.department).name
    except KeyError:
        department = entry.department
    lines.append(f"Department: {department}")
    lines.append(f"Status: {status_words(entry)}")
    if entry.campaign_id is not None and entry.campaign_id in names:
        lines.append(f"Campaign: {names[entry.campaign_id]}")
    if entry.plan_id is not None and entry.detail:
        lines.append(f"Plan: {entry.detail}")
    elif entry.detail:
        lines.append(entry.detail)
    return "\n".join(lines)


def _channel_name(policy: Policy, channel: str) -> str:
    try:
        found = policy.channel(channel)
    except KeyError:
        return channel
    name = {"rss": "RSS"}.get(channel, channel.replace("_", " ").capitalize())
    return f"{name} ({found.account})" if found.account else name


def etag_of(body: bytes) -> str:
    """A strong ETag of the file's bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
