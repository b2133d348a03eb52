"""Campaigns: an objective with a target, channels and dates, an owner department, a planned
ad budget with the spend recorded against it, and the posts written for it.

- A campaign's posts are outbox posts with its ``campaign_id`` (``drafts.create_draft``): their
  links get UTM parameters (``tag_links``), and a paid campaign makes them paid, so the code of
  conduct's disclosure rule applies to them.
- Managing a campaign is ``Action.CAMPAIGNS`` on its department. The web checks it on each
  route; the functions here check it again, for the CLI and anything else that calls them.
- Once its posts are out, ``summary`` counts the replies they drew among the posts Townhall
  hears (a reply's ``reply_to`` is ``<channel>:<remote id>`` of the published post) and their
  sentiment.

Services never commit: the transaction belongs to the caller. Every change is audited
(subject type ``campaign``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.errors import InputError, NotFoundError, PermissionDeniedError
from townhall.models import Campaign, CampaignSpend, OutboxPost, OutboxStatus, PostRecord, User
from townhall.org.permissions import Action, Actor, Scope
from townhall.org.policy import Policy
from townhall.publishing import localtime, utm

MAX_NAME = 200
MAX_SLUG = 64
MAX_NOTE = 1_000
MAX_CENTS = 10**13
"""The largest amount accepted (a hundred billion in any currency), in cents."""

LATEST_REPLIES = 5
"""How many of the newest replies a summary carries."""

SENTIMENTS = ("positive", "neutral", "negative")

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class CampaignState(StrEnum):
    """Where a campaign is in its life, at a given time."""

    UPCOMING = "upcoming"
    RUNNING = "running"
    ENDED = "ended"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class CampaignFields:
    """Everything a person sets on a campaign (create and edit share it)."""

    name: str
    starts_at: datetime
    ends_at: datetime
    slug: str | None = None
    department: str | None = None
    objective: str = ""
    target_metric: str = ""
    target: float | None = None
    channels: tuple[str, ...] = ()
    budget_cents: int = 0
    currency: str = "EUR"
    paid: bool = False
    category: str | None = None
    objective_id: str | None = None
    """The social objective (``objectives:`` in the policy) the campaign serves."""


@dataclass
class Summary:
    """What a campaign page and ``townhall campaigns show`` report."""

    campaign: Campaign
    state: CampaignState
    posts: int
    posts_by_state: dict[str, int]
    """Status label ("scheduled", "published"...) → how many of its posts."""
    budget_cents: int
    spent_cents: int
    remaining_cents: int
    over_budget: bool
    replies: int
    sentiment: dict[str, int] = field(default_factory=dict)
    """positive, neutral, negative → replies with that sentiment."""
    latest_replies: list[PostRecord] = field(default_factory=list)

    @property
    def spent_share(self) -> float:
        """Spend as a share of the budget (0..1, capped at 1 for a bar; 1 when no budget and
        money was spent)."""
        if self.budget_cents <= 0:
            return 1.0 if self.spent_cents else 0.0
        return min(1.0, self.spent_cents / self.budget_cents)


# -- money ------------------------------------------------------------------------------------
def parse_money(field_name: str, value: str) -> int:
    """``value`` ("1500", "1,500.00") as cents; raises ``InputError`` naming ``field_name``."""
    cleaned = value.strip().replace(",", "").replace("_", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise InputError(f"{field_name}: not an amount: {value[:40]!r} (e.g. 1500.00)") from None
    if not amount.is_finite() or amount < 0:
        raise InputError(f"{field_name}: an amount of zero or more, e.g. 1500.00")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise InputError(f"{field_name}: at most two decimals (cents), e.g. 1500.25")
    if cents > MAX_CENTS:
        raise InputError(f"{field_name}: that is more than any campaign spends")
    return int(cents)


def format_money(cents: int, currency: str) -> str:
    """Cents as a person reads them: "EUR 1,500.00" ("-EUR 20.00" below zero)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{currency} {whole:,}.{part:02d}"


def slugify(name: str) -> str:
    """A slug from a name: lowercase ASCII letters and digits joined by hyphens."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:MAX_SLUG].rstrip("-")


# -- reading ----------------------------------------------------------------------------------
def get(session: Session, campaign_id: int) -> Campaign:
    """The campaign with this id; raises ``NotFoundError``."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"campaign: there is no campaign {campaign_id}.")
    return campaign


def by_slug(session: Session, slug: str) -> Campaign:
    """The campaign with this slug; raises ``NotFoundError``."""
    campaign = session.scalar(select(Campaign).where(Campaign.slug == slug.strip().lower()))
    if campaign is None:
        raise NotFoundError(f"campaign: there is no campaign {slug!r}.")
    return campaign


def state_of(campaign: Campaign, now: datetime) -> CampaignState:
    """Upcoming, running, ended (or archived) at ``now``."""
    if campaign.archived_at is not None:
        return CampaignState.ARCHIVED
    if now < aware(campaign.starts_at):
        return CampaignState.UPCOMING
    if now < aware(campaign.ends_at):
        return CampaignState.RUNNING
    return CampaignState.ENDED


def aware(moment: datetime) -> datetime:
    """``moment`` as an aware UTC time (SQLite hands back naive ones)."""
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def list_campaigns(session: Session, *, archived: bool = False) -> list[Campaign]:
    """Campaigns, the latest start first (archived ones only when ``archived``)."""
    query = select(Campaign).order_by(Campaign.starts_at.desc(), Campaign.id.desc())
    if not archived:
        query = query.where(Campaign.archived_at.is_(None))
    return list(session.scalars(query))


def open_for(session: Session, now: datetime, channel: str | None = None) -> list[Campaign]:
    """Running and future campaigns (on ``channel`` when given: those naming it, or naming no
    channel), the soonest first: what a new post can belong to."""
    query = (
        select(Campaign)
        .where(Campaign.archived_at.is_(None), Campaign.ends_at > now)
        .order_by(Campaign.starts_at, Campaign.id)
    )
    found = list(session.scalars(query))
    if channel is None:
        return found
    return [c for c in found if not c.channels or channel in c.channels]


def posts_of(session: Session, campaign: Campaign) -> list[OutboxPost]:
    """The campaign's outbox posts in time order (their time, else when they were written)."""
    when = func.coalesce(OutboxPost.published_at, OutboxPost.scheduled_at, OutboxPost.created_at)
    query = (
        select(OutboxPost)
        .where(OutboxPost.campaign_id == campaign.id)
        .order_by(when, OutboxPost.id)
    )
    return list(session.scalars(query))


def spend_of(session: Session, campaign: Campaign) -> list[CampaignSpend]:
    """The spend recorded on a campaign, the latest first."""
    query = (
        select(CampaignSpend)
        .where(CampaignSpend.campaign_id == campaign.id)
        .order_by(CampaignSpend.spent_on.desc(), CampaignSpend.id.desc())
    )
    return list(session.scalars(query))


def spent_cents(session: Session, campaign: Campaign) -> int:
    """The total spend recorded on a campaign, in cents."""
    total = session.scalar(
        select(func.coalesce(func.sum(CampaignSpend.amount_cents), 0)).where(
            CampaignSpend.campaign_id == campaign.id
        )
    )
    return int(total or 0)


def reply_ids(posts: list[OutboxPost]) -> list[str]:
    """The Post ids the published ones among ``posts`` have on their networks."""
    return [
        f"{p.channel}:{p.remote_id}"
        for p in posts
        if p.status == OutboxStatus.PUBLISHED and p.remote_id
    ]


def summary(session: Session, policy: Policy, campaign: Campaign, now: datetime) -> Summary:
    """Posts by state, budget and spend, and the replies its published posts drew."""
    from townhall.publishing.drafts import STATUS_LABELS  # deferred: drafts imports us

    posts = posts_of(session, campaign)
    by_state = Counter(STATUS_LABELS.get(OutboxStatus(p.status), str(p.status)) for p in posts)
    spent = spent_cents(session, campaign)
    answered = reply_ids(posts)
    sentiment = dict.fromkeys(SENTIMENTS, 0)
    replies = 0
    latest: list[PostRecord] = []
    if answered:
        rows = session.execute(
            select(PostRecord.sentiment_label, func.count(PostRecord.id))
            .where(PostRecord.reply_to.in_(answered))
            .group_by(PostRecord.sentiment_label)
        ).all()
        for label, count in rows:
            replies += count
            if label in sentiment:
                sentiment[label] += count
        latest = list(
            session.scalars(
                select(PostRecord)
                .where(PostRecord.reply_to.in_(answered))
                .order_by(PostRecord.created_at.desc(), PostRecord.id.desc())
                .limit(LATEST_REPLIES)
            )
        )
    return Summary(
        campaign=campaign,
        state=state_of(campaign, now),
        posts=len(posts),
        posts_by_state=dict(by_state),
        budget_cents=campaign.budget_cents,
        spent_cents=spent,
        remaining_cents=campaign.budget_cents - spent,
        over_budget=spent > campaign.budget_cents,
        replies=replies,
        sentiment=sentiment,
        latest_replies=latest,
    )


def tag_links(text: str, campaign: Campaign, channel: str) -> str:
    """``text`` with UTM parameters on its links: source the channel, medium social,
    campaign the campaign's slug."""
    return utm.tag(text, source=channel, campaign=campaign.slug)


# -- permission -------------------------------------------------------------------------------
def may_manage(policy: Policy, actor: User, department: str) -> bool:
    """Whether ``actor`` may manage the campaigns of ``department``."""
    return policy.permissions.can(Actor.of(actor), Action.CAMPAIGNS, Scope.of(department))


def _require(policy: Policy, actor: User, department: str) -> None:
    if may_manage(policy, actor, department):
        return
    name = _department_name(policy, department)
    who = policy.permissions.who_can(
        Action.CAMPAIGNS, Scope.of(department), lambda d: _department_name(policy, d)
    )
    also = f" Who can: {', '.join(who)}." if who else ""
    raise PermissionDeniedError(f"You may not manage campaigns of {name}.{also}")


def _department_name(policy: Policy, department: str) -> str:
    try:
        return policy.department(department).name
    except KeyError:
        return department


def default_department(policy: Policy) -> str:
    """The department that owns new campaigns: the lead of ``campaigns`` in the ownership
    matrix (the company's first department when the policy names none)."""
    try:
        return policy.leads("campaigns")[0]
    except (KeyError, IndexError):
        return policy.department_ids[0]


# -- changing ---------------------------------------------------------------------------------
def _checked(
    session: Session, policy: Policy, fields: CampaignFields, campaign_id: int | None
) -> CampaignFields:
    """``fields`` cleaned, with the defaults filled in; raises ``InputError`` naming the
    field."""
    name = " ".join(fields.name.split())
    if not name or len(name) > MAX_NAME:
        raise InputError(f"name: a campaign needs a name of 1 to {MAX_NAME} characters.")
    slug = (fields.slug or "").strip().lower() or slugify(name)
    if not slug:
        raise InputError("slug: the name has no letters or digits to make one: give a slug.")
    if len(slug) > MAX_SLUG or not _SLUG.match(slug):
        raise InputError(
            f"slug: {slug!r} is not a slug (lowercase letters, digits and single hyphens, "
            f"at most {MAX_SLUG} characters, e.g. airfry-5-launch)."
        )
    clash = session.scalar(select(Campaign).where(Campaign.slug == slug))
    if clash is not None and clash.id != campaign_id:
        raise InputError(
            f"slug: {slug!r} is already the slug of the campaign {clash.name!r}: choose another."
        )
    department = fields.department or default_department(policy)
    if department not in policy.department_ids:
        known = ", ".join(policy.department_ids)
        raise InputError(f"department: unknown department {department!r} (the policy has {known})")
    channels: list[str] = []
    known_channels = [c.id for c in policy.channels]
    for channel in fields.channels:
        if channel not in known_channels:
            known = ", ".join(known_channels)
            raise InputError(f"channels: unknown channel {channel!r} (the policy has {known})")
        if channel not in channels:
            channels.append(channel)
    for key, moment in (("starts_at", fields.starts_at), ("ends_at", fields.ends_at)):
        if moment.tzinfo is None:
            raise InputError(f"{key}: needs a time zone, e.g. 2026-12-01T09:00:00Z")
    if fields.ends_at <= fields.starts_at:
        raise InputError("ends_at: a campaign ends after it starts.")
    if not 0 <= fields.budget_cents <= MAX_CENTS:
        raise InputError("budget: an amount of zero or more.")
    currency = fields.currency.strip().upper()
    if not _CURRENCY.match(currency):
        raise InputError(f"currency: {fields.currency!r} is not a currency code (e.g. EUR, GBP).")
    category = fields.category or None
    if category is not None and policy.planning.category(category) is None:
        known = ", ".join(c.id for c in policy.planning.categories) or "none"
        raise InputError(f"category: unknown category {category!r} (the policy has {known})")
    objective_id = (fields.objective_id or "").strip() or None
    if objective_id is not None and policy.objectives.objective(objective_id) is None:
        known = ", ".join(o.id for o in policy.objectives.objectives) or "none"
        raise InputError(
            f"objective_id: unknown objective {objective_id[:64]!r} (the policy has {known})"
        )
    if fields.target is not None and not 0 <= fields.target < 1e15:
        raise InputError("target: a number of zero or more.")
    metric = fields.target_metric.strip()
    if len(metric) > 100:
        raise InputError("target_metric: at most 100 characters.")
    if len(fields.objective) > 5_000:
        raise InputError("objective: at most 5,000 characters.")
    return replace(
        fields,
        name=name,
        slug=slug,
        department=department,
        channels=tuple(channels),
        currency=currency,
        category=category,
        objective_id=objective_id,
        target_metric=metric,
        objective=fields.objective.strip(),
    )


def _apply(campaign: Campaign, fields: CampaignFields) -> dict[str, Any]:
    """Set ``fields`` on ``campaign``; returns what changed (field → [before, after])."""
    changes: dict[str, Any] = {}
    values: dict[str, Any] = {
        "name": fields.name,
        "slug": fields.slug,
        "department": fields.department,
        "objective": fields.objective,
        "target_metric": fields.target_metric,
        "target": fields.target,
        "channels": list(fields.channels),
        "starts_at": fields.starts_at,
        "ends_at": fields.ends_at,
        "budget_cents": fields.budget_cents,
        "currency": fields.currency,
        "paid": fields.paid,
        "category": fields.category,
        "objective_id": fields.objective_id,
    }
    for key, value in values.items():
        before = getattr(campaign, key, None)
        if isinstance(before, datetime):
            before = aware(before)
        if before != value:
            changes[key] = [_jsonable(before), _jsonable(value)]
            setattr(campaign, key, value)
    return changes


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def create(
    session: Session,
    policy: Policy,
    *,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    actor: User,
    now: datetime,
    slug: str | None = None,
    department: str | None = None,
    objective: str = "",
    target_metric: str = "",
    target: float | None = None,
    channels: tuple[str, ...] | list[str] = (),
    budget_cents: int = 0,
    currency: str = "EUR",
    paid: bool = False,
    category: str | None = None,
    objective_id: str | None = None,
) -> Campaign:
    """A new campaign (``department`` defaults to the lead of ``campaigns``); raises
    ``InputError`` naming the field, ``PermissionDeniedError`` unless ``actor`` may manage the
    department's campaigns."""
    fields = CampaignFields(
        name=name,
        starts_at=starts_at,
        ends_at=ends_at,
        slug=slug,
        department=department,
        objective=objective,
        target_metric=target_metric,
        target=target,
        channels=tuple(channels),
        budget_cents=budget_cents,
        currency=currency,
        paid=paid,
        category=category,
        objective_id=objective_id,
    )
    clean = _checked(session, policy, fields, None)
    assert clean.department is not None
    _require(policy, actor, clean.department)
    campaign = Campaign(created_by_id=actor.id, created_at=now)
    _apply(campaign, clean)
    session.add(campaign)
    session.flush()
    record(
        session,
        at=now,
        actor=actor.email,
        action="campaign.created",
        subject_type="campaign",
        subject_id=campaign.id,
        why=f"{actor.name} created the campaign {campaign.name}",
        details={"slug": campaign.slug, "department": campaign.department},
    )
    return campaign


def update(
    session: Session,
    policy: Policy,
    campaign: Campaign,
    fields: CampaignFields,
    *,
    actor: User,
    now: datetime,
) -> Campaign:
    """Change a campaign (moving it needs the right on both departments); audited with what
    changed."""
    _require(policy, actor, campaign.department)
    clean = _checked(session, policy, fields, campaign.id)
    assert clean.department is not None
    _require(policy, actor, clean.department)
    changes = _apply(campaign, clean)
    if changes:
        record(
            session,
            at=now,
            actor=actor.email,
            action="campaign.updated",
            subject_type="campaign",
            subject_id=campaign.id,
            why=f"{actor.name} changed the campaign {campaign.name}: {', '.join(changes)}",
            details={"changes": changes},
        )
    return campaign


def archive(
    session: Session, policy: Policy, campaign: Campaign, *, actor: User, now: datetime
) -> Campaign:
    """Archive a campaign: it leaves the lists and the composer; its posts stay."""
    _require(policy, actor, campaign.department)
    if campaign.archived_at is None:
        campaign.archived_at = now
        record(
            session,
            at=now,
            actor=actor.email,
            action="campaign.archived",
            subject_type="campaign",
            subject_id=campaign.id,
            why=f"{actor.name} archived the campaign {campaign.name}",
        )
    return campaign


def record_spend(
    session: Session,
    policy: Policy,
    campaign: Campaign,
    *,
    amount_cents: int,
    spent_on: date,
    actor: User,
    now: datetime,
    note: str = "",
) -> CampaignSpend:
    """Record money spent on a campaign on ``spent_on`` (a day in the company's zone);
    ``amount_cents`` must be positive."""
    _require(policy, actor, campaign.department)
    if not 0 < amount_cents <= MAX_CENTS:
        raise InputError("amount: an amount above zero, e.g. 250.00")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InputError(f"note: at most {MAX_NOTE:,} characters.")
    midnight = localtime.at_local(spent_on, time(0), localtime.zone(policy.timezone))
    spend = CampaignSpend(
        campaign_id=campaign.id,
        amount_cents=amount_cents,
        spent_on=midnight,
        note=note,
        recorded_by_id=actor.id,
        recorded_at=now,
    )
    session.add(spend)
    session.flush()
    money = format_money(amount_cents, campaign.currency)
    record(
        session,
        at=now,
        actor=actor.email,
        action="campaign.spend",
        subject_type="campaign",
        subject_id=campaign.id,
        why=f"{actor.name} recorded {money} spent on {spent_on:%Y-%m-%d}",
        details={"spend_id": spend.id, "amount_cents": amount_cents, "note": note},
    )
    return spend
