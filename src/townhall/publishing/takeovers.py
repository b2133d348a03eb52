"""Staff takeovers: the rota in the database, who is on shift, and the baton-pass posts.

- ``sync_rota`` keeps the rows of origin ``policy`` in step with the policy's ``takeovers:``
  section; shifts added on the Takeovers page have origin ``ui`` and are left alone by it.
- ``on_shift`` says whether a person holds a channel right now: the right to post there starts
  and ends with the shift, with nothing to revoke.
- ``hand_over`` writes the announcement of each shift that has started and the sign-off of each
  that has ended, as approved outbox posts (the templates are the policy's own words); the
  publisher sends them once. Each has a fixed key (``takeover-<id>-start`` / ``-end``), so two
  passes racing each other create it once.
- ``add_shift`` and ``cancel_shift`` are the page's edits: admins, and the departments leading
  the ``social_calendar`` activity (marketing, at ACME).

Services never commit: the transaction belongs to the caller. Every change is audited.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townhall.audit import SYSTEM, record
from townhall.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from townhall.models import OutboxKind, OutboxPost, OutboxStatus, Takeover, User
from townhall.org.permissions import Action, Actor, Scope
from townhall.org.policy import Policy
from townhall.org.takeovers import MAX_SHIFT, fill
from townhall.publishing.drafts import audit
from townhall.webhooks import events as webhook_events
from townhall.webhooks.outgoing import emit

log = logging.getLogger(__name__)

POLICY = "policy"
UI = "ui"
"""The two origins of a shift: the policy's rota, or the Takeovers page."""

EDITING_ACTIVITY = "social_calendar"
"""The departments leading this activity edit the rota (with the admins)."""

SIGN_OFF_GRACE = timedelta(hours=1)
"""A sign-off more than this late (Townhall was down when the shift ended) is not posted."""

LOOKBACK = timedelta(days=7)
"""How far back ``hand_over`` looks for shifts that ended without their posts."""

START_GRACE = timedelta(minutes=1)
"""A shift added on the page may start this much in the past (the form has minutes only)."""

PAST_SHOWN = 50
"""Past and cancelled shifts listed on the page."""

_reported: set[tuple[str, str, datetime]] = set()
"""Policy shifts already reported as waiting for their person's login (logged once each)."""


# -- reading the rota --------------------------------------------------------------------------
def on_shift(session: Session, user_id: int, channel: str, now: datetime) -> Takeover | None:
    """The person's shift on ``channel`` at ``now`` (``starts_at <= now < ends_at``, not
    cancelled), or None."""
    return session.scalar(
        select(Takeover)
        .where(
            Takeover.user_id == user_id,
            Takeover.channel == channel,
            Takeover.cancelled_at.is_(None),
            Takeover.starts_at <= now,
            Takeover.ends_at > now,
        )
        .order_by(Takeover.starts_at)
        .limit(1)
    )


def current(session: Session, now: datetime) -> list[Takeover]:
    """The shifts running at ``now``, by channel: who is on which account."""
    query = select(Takeover).where(
        Takeover.cancelled_at.is_(None), Takeover.starts_at <= now, Takeover.ends_at > now
    )
    return list(session.scalars(query.order_by(Takeover.channel, Takeover.starts_at)).unique())


def upcoming(session: Session, now: datetime, limit: int = 200) -> list[Takeover]:
    """The shifts still to start, soonest first (cancelled ones left out)."""
    query = select(Takeover).where(Takeover.cancelled_at.is_(None), Takeover.starts_at > now)
    return list(session.scalars(query.order_by(Takeover.starts_at).limit(limit)).unique())


def past(session: Session, now: datetime, limit: int = PAST_SHOWN) -> list[Takeover]:
    """Shifts that have ended or were cancelled, latest first."""
    query = select(Takeover).where(or_(Takeover.ends_at <= now, Takeover.cancelled_at.is_not(None)))
    return list(session.scalars(query.order_by(Takeover.starts_at.desc()).limit(limit)).unique())


def get_shift(session: Session, takeover_id: int) -> Takeover:
    """The shift ``takeover_id``; raises ``NotFoundError``."""
    takeover = session.get(Takeover, takeover_id)
    if takeover is None:
        raise NotFoundError(f"There is no takeover shift #{takeover_id}.")
    return takeover


def local_time(policy: Policy, moment: datetime, fmt: str = "%a %d %b %H:%M") -> str:
    """``moment`` in the policy's time zone, e.g. 'Mon 04 Jan 09:00'."""
    return moment.astimezone(zoneinfo.ZoneInfo(policy.timezone)).strftime(fmt)


def shift_span(policy: Policy, start: datetime, end: datetime) -> str:
    zone = zoneinfo.ZoneInfo(policy.timezone)
    same_day = start.astimezone(zone).date() == end.astimezone(zone).date()
    until = local_time(policy, end, "%H:%M" if same_day else "%a %d %b %H:%M")
    return f"{local_time(policy, start)}–{until}"


# -- the policy's rota -------------------------------------------------------------------------
def sync_rota(session: Session, policy: Policy, now: datetime) -> int:
    """Make the shifts of origin ``policy`` match the policy's rota; returns how many rows were
    added, changed or cancelled (0 when nothing changed: it runs every few seconds).

    Shifts that have not ended are added (a person without a login yet is skipped, logged
    once, and added on a later pass once they have one); a shift that left the policy and has
    not ended is cancelled; shifts that have ended are history and stay as they are."""
    wanted: dict[tuple[str, str, datetime], datetime] = {}
    for shift in policy.takeovers.shifts:
        end = shift.end.astimezone(UTC)
        if end > now:
            wanted[(shift.person.lower(), shift.channel, shift.start.astimezone(UTC))] = end
    # Rows a wanted shift could collide with: every shift not ended, and any that starts when
    # a wanted one does (the unique key is person, channel and start).
    starts = {start for _, _, start in wanted}
    near = [Takeover.ends_at > now] + ([Takeover.starts_at.in_(starts)] if starts else [])
    found = session.scalars(select(Takeover).where(or_(*near))).unique()
    rows = {(t.user.email.lower(), t.channel, t.starts_at): t for t in found}
    changes = 0
    missing = [key for key in wanted if key not in rows]
    users = _users(session, {email for email, _, _ in missing}) if missing else {}
    for key in missing:
        email, channel, start = key
        user = users.get(email)
        if user is None:
            if key not in _reported:
                _reported.add(key)
                log.warning(
                    "takeover of %s on %s at %s waits: %s has no login yet",
                    email,
                    channel,
                    start.isoformat(),
                    email,
                )
            continue
        takeover = Takeover(
            user_id=user.id,
            channel=channel,
            starts_at=start,
            ends_at=wanted[key],
            origin=POLICY,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(takeover)
                session.flush()
        except IntegrityError:  # another pass added it first
            continue
        takeover.user = user
        _audit_shift(session, takeover, SYSTEM, "takeover.added", now, "from the policy's rota")
        changes += 1
    for key, takeover in rows.items():
        if takeover.origin != POLICY or takeover.cancelled_at is not None:
            continue
        if takeover.ends_at <= now:
            continue  # history
        if key not in wanted:
            takeover.cancelled_at = now
            _audit_shift(
                session, takeover, SYSTEM, "takeover.cancelled", now, "it left the policy's rota"
            )
            changes += 1
        elif wanted[key] != takeover.ends_at:
            takeover.ends_at = wanted[key]
            _audit_shift(
                session, takeover, SYSTEM, "takeover.changed", now, "the policy moved its end"
            )
            changes += 1
    return changes


def _users(session: Session, emails: set[str]) -> dict[str, User]:
    found = session.scalars(select(User).where(User.email.in_(emails)))
    return {user.email.lower(): user for user in found}


# -- the baton pass ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Pass:
    which: str  # "start" or "end"
    posted: str  # audit action when it goes out
    missed: str  # audit action when it is too late


ANNOUNCEMENT = _Pass("start", "takeover.announced", "takeover.missed")
SIGN_OFF = _Pass("end", "takeover.signed_off", "takeover.sign_off_missed")


def hand_over(session: Session, policy: Policy, now: datetime) -> list[OutboxPost]:
    """The hand-over posts due at ``now``, created once each; returns those that will go out.

    First the sign-offs of shifts that ended (within ``SIGN_OFF_GRACE``, when the policy has a
    sign-off template), then the announcements of shifts that have started. A shift whose
    whole window passed while Townhall was down, or a sign-off more than an hour late, is
    recorded in the outbox as *missed* (audited, nothing posted)."""
    out: list[OutboxPost] = []
    alive = Takeover.cancelled_at.is_(None)
    recent = Takeover.ends_at > now - LOOKBACK
    ended = Takeover.ends_at <= now
    sign_off = policy.takeovers.sign_off
    if sign_off.strip():
        # Only shifts whose announcement was written to go out (not missed) are signed off.
        query = (
            select(Takeover)
            .join(OutboxPost, OutboxPost.id == Takeover.announcement_id)
            .where(
                alive,
                ended,
                recent,
                Takeover.sign_off_id.is_(None),
                OutboxPost.status != OutboxStatus.MISSED,
            )
        )
        for takeover in session.scalars(query.order_by(Takeover.ends_at)).unique():
            late = now - takeover.ends_at >= SIGN_OFF_GRACE
            post, made = _post(session, policy, takeover, SIGN_OFF, sign_off, now, late)
            takeover.sign_off_id = post.id
            if made and not late:
                out.append(post)
    query = select(Takeover).where(
        alive, Takeover.announcement_id.is_(None), Takeover.starts_at <= now, recent
    )
    announcement = policy.takeovers.announcement
    for takeover in session.scalars(query.order_by(Takeover.starts_at)).unique():
        late = takeover.ends_at <= now  # the whole window passed while Townhall was down
        post, made = _post(session, policy, takeover, ANNOUNCEMENT, announcement, now, late)
        takeover.announcement_id = post.id
        if made and not late:
            out.append(post)
    return out


def _values(policy: Policy, takeover: Takeover) -> dict[str, str]:
    user = takeover.user
    try:
        department = policy.department(user.department).name
    except KeyError:
        department = user.department
    try:
        account = policy.channel(takeover.channel).account
    except KeyError:
        account = takeover.channel
    zone = zoneinfo.ZoneInfo(policy.timezone)
    start, end = takeover.starts_at.astimezone(zone), takeover.ends_at.astimezone(zone)
    return {
        "name": user.name,
        "first_name": user.name.split()[0] if user.name.split() else user.name,
        "department": department,
        "channel": takeover.channel,
        "account": account,
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M" if end.date() == start.date() else "%a %d %b %H:%M"),
    }


def _post(
    session: Session,
    policy: Policy,
    takeover: Takeover,
    kind: _Pass,
    template: str,
    now: datetime,
    late: bool,
) -> tuple[OutboxPost, bool]:
    """The outbox post of one side of a hand-over, and whether this call created it."""
    key = f"takeover-{takeover.id}-{kind.which}"
    existing = session.scalar(select(OutboxPost).where(OutboxPost.key == key))
    if existing is not None:
        return existing, False
    text = fill(template, _values(policy, takeover))
    findings = _checked(session, policy, takeover, text)
    blocked = [f for f in findings if f["level"] == "block"]
    post = OutboxPost(
        channel=takeover.channel,
        kind=OutboxKind.TAKEOVER,
        text=text,
        findings=findings,
        department=policy.default_owner(takeover.channel),
        status=OutboxStatus.MISSED if late else OutboxStatus.APPROVED,
        key=key,
        author_id=takeover.user_id,
        decided_at=None if late else now,
        attempts=0,
        error_kind="missed" if late else None,
        error="",
        decision_note="",
        takeover_id=takeover.id,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(post)
            session.flush()
    except IntegrityError:  # a pass racing this one created it first
        raced = session.scalar(select(OutboxPost).where(OutboxPost.key == key))
        if raced is None:
            raise
        return raced, False
    post.author = takeover.user
    name, span = takeover.user.name, shift_span(policy, takeover.starts_at, takeover.ends_at)
    what = "announcement" if kind is ANNOUNCEMENT else "sign-off"
    if blocked and not late:
        post.status, post.error_kind = OutboxStatus.FAILED, "conduct"
        post.error = (
            f"The {what} of {name}'s takeover was not posted: the code of conduct stops it "
            f"({blocked[0]['why']}). {blocked[0]['message']} Fix the template in the policy."
        )
        audit(session, post, SYSTEM, "outbox.failed", now, post.error)
        emit(session, "post.failed", webhook_events.outbox_post(post), now)
        return post, False
    if late and kind is ANNOUNCEMENT:
        post.error = (
            f"{name}'s takeover of {takeover.channel} ({span}) passed while Townhall was not "
            "running: it was not announced."
        )
        audit(session, post, SYSTEM, kind.missed, now, post.error)
    elif late:
        ended_at = local_time(policy, takeover.ends_at)
        post.error = (
            f"{name}'s takeover of {takeover.channel} ended at {ended_at}, more than "
            f"{SIGN_OFF_GRACE.total_seconds() / 60:.0f} minutes ago: the sign-off was not "
            "posted late."
        )
        audit(session, post, SYSTEM, kind.missed, now, post.error)
    else:
        audit(
            session,
            post,
            SYSTEM,
            kind.posted,
            now,
            f"The {what} of {name}'s takeover of {takeover.channel} ({span}), from the policy's "
            "template",
        )
    return post, True


def _checked(
    session: Session, policy: Policy, takeover: Takeover, text: str
) -> list[dict[str, object]]:
    """The code of conduct's findings on a hand-over post: the policy's own words still pass
    it, like every public word Townhall sends."""
    from townhall.publishing import conduct  # deferred: keeps this module's imports light
    from townhall.publishing.drafts import context_for

    context = context_for(
        session, policy, channel=takeover.channel, author=takeover.user, kind=OutboxKind.TAKEOVER
    )
    return [f.as_json() for f in conduct.check(policy, text, context)]


# -- editing the rota on the page --------------------------------------------------------------
def calendar_scope(policy: Policy) -> Scope:
    """The rota belongs to the department leading the social calendar."""
    return Scope.of(policy.leads(EDITING_ACTIVITY)[0])


def may_edit(policy: Policy, actor: User) -> bool:
    """Whether ``actor`` edits the rota: their role grants ``calendar`` for the department
    leading the social calendar (its people, with the built-in roles; and admins)."""
    return policy.permissions.can(Actor.of(actor), Action.CALENDAR, calendar_scope(policy))


def _require_editor(policy: Policy, actor: User) -> None:
    if not may_edit(policy, actor):
        name = policy.department(calendar_scope(policy).department or "").name
        who = policy.permissions.who_can(
            Action.CALENDAR, calendar_scope(policy), lambda d: policy.department(d).name
        )
        raise PermissionDeniedError(
            f"You may not change the takeover rota, which {name} leads with the social "
            f"calendar. Who can: {', '.join(who)}."
        )


def add_shift(
    session: Session,
    policy: Policy,
    *,
    person_email: str,
    channel: str,
    start: datetime,
    end: datetime,
    actor: User,
    now: datetime,
) -> Takeover:
    """Add a shift to the rota (origin ``ui``); raises ``PermissionDeniedError`` for someone
    who may not edit it, ``InputError`` naming the field for a bad shift."""
    _require_editor(policy, actor)
    person = session.scalar(select(User).where(User.email == person_email.strip().lower()))
    if person is None or not person.active:
        raise InputError(f"person: nobody with a login has the e-mail {person_email!r}.")
    try:
        policy.channel(channel)
    except KeyError:
        known = ", ".join(c.id for c in policy.channels)
        raise InputError(
            f"channel: unknown channel {channel!r} (the policy has {known})."
        ) from None
    for field, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise InputError(f"{field}: needs a time zone.")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        raise InputError("end: the shift must end after it starts.")
    if start < now - START_GRACE:
        raise InputError("start: the shift cannot start in the past.")
    if end - start > MAX_SHIFT:
        raise InputError(f"end: a shift lasts at most {MAX_SHIFT.days} days.")
    clash = session.scalar(
        select(Takeover)
        .where(
            Takeover.channel == channel,
            Takeover.cancelled_at.is_(None),
            Takeover.starts_at < end,
            Takeover.ends_at > start,
        )
        .limit(1)
    )
    if clash is not None:
        raise InputError(
            f"start: {clash.user.name} is on {channel} "
            f"{shift_span(policy, clash.starts_at, clash.ends_at)}; one person at a time runs an "
            "account."
        )
    takeover = session.scalar(
        select(Takeover).where(
            Takeover.user_id == person.id, Takeover.channel == channel, Takeover.starts_at == start
        )
    )
    if takeover is not None:  # the same shift was cancelled before: bring it back
        takeover.cancelled_at, takeover.ends_at = None, end
        takeover.origin, takeover.created_by_id = UI, actor.id
    else:
        takeover = Takeover(
            user_id=person.id,
            channel=channel,
            starts_at=start,
            ends_at=end,
            origin=UI,
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(takeover)
        session.flush()
        takeover.user = person
    _audit_shift(
        session,
        takeover,
        actor.email,
        "takeover.added",
        now,
        f"{actor.name} put {person.name} on {channel} {shift_span(policy, start, end)}",
    )
    return takeover


def cancel_shift(
    session: Session, policy: Policy, takeover_id: int, *, actor: User, now: datetime
) -> Takeover:
    """Cancel a shift that has not ended: a future one never starts, a running one ends now
    (with no sign-off). Same permission as ``add_shift``."""
    _require_editor(policy, actor)
    takeover = get_shift(session, takeover_id)
    if takeover.cancelled_at is not None:
        raise ConflictError(f"Takeover shift #{takeover.id} is already cancelled.")
    if takeover.ends_at <= now:
        raise ConflictError(f"Takeover shift #{takeover.id} has ended; it stays in the history.")
    running = takeover.starts_at <= now
    takeover.cancelled_at = now
    span = shift_span(policy, takeover.starts_at, takeover.ends_at)
    how = "ended early" if running else "cancelled"
    why = f"{actor.name} {how} {takeover.user.name}'s takeover of {takeover.channel} ({span})"
    if takeover.origin == POLICY:
        why += "; it stays cancelled even though the policy's rota lists it"
    _audit_shift(session, takeover, actor.email, "takeover.cancelled", now, why)
    return takeover


def _audit_shift(
    session: Session, takeover: Takeover, actor: str, action: str, now: datetime, why: str
) -> None:
    record(
        session,
        at=now,
        actor=actor,
        action=action,
        subject_type="takeover",
        subject_id=takeover.id,
        why=why,
        details={
            "person": takeover.user.email,
            "channel": takeover.channel,
            "starts_at": takeover.starts_at.isoformat(),
            "ends_at": takeover.ends_at.isoformat(),
            "origin": takeover.origin,
        },
    )
