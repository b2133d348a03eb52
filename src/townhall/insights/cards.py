"""Insight cards: one team publishes what it learned to others, with its evidence.

- A person publishes a card from their own department (an admin for any department), for one
  or more other departments; its evidence is a list of figures (label, value) and/or a link to
  an insights page with its filters (``/insights?...``, never another site).
- Townhall proposes cards from the data (``proposals.propose``): a person of the card's
  ``from_department`` (or an admin) publishes or dismisses them.
- Opening a card records that the person saw it (one ``CardReceipt`` per person); "We acted on
  this" records what they did with it, in their words.

Services never commit: the transaction belongs to the caller. Every change a person makes is
audited (subject type ``card``); seeing a card is a receipt, not a change, and is not.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from townhall.models import CardReceipt, CardStatus, InsightCard, Role, User
from townhall.org.policy import Policy

MAX_TITLE = 300
MAX_BODY = 6_000
MAX_FIGURES = 12
MAX_LABEL = 120
MAX_VALUE = 120
MAX_ACTION = 1_000
MAX_LINK = 2_048
BOARD_LIMIT = 100
"""How many published cards the board shows (the newest)."""

_INSIGHTS_LINK = re.compile(r"^/insights(?:/[A-Za-z0-9_\-/]*)?(?:\?[^\s#]*)?$")


@dataclass(frozen=True)
class Figure:
    """One figure of a card's evidence: "Share of Mastodon posts from the United States", "38%"."""

    label: str
    value: str


@dataclass(frozen=True)
class Action:
    """What one person did with a card."""

    name: str
    text: str
    at: datetime


@dataclass
class CardView:
    """A card as the board and its page show it: who saw it, what was done with it."""

    card: InsightCard
    seen: int = 0
    actions: list[Action] = field(default_factory=list)

    @property
    def figures(self) -> list[Figure]:
        """The card's evidence figures."""
        return figures_of(self.card)


@dataclass
class Board:
    """The cards page: cards for the person's department, the rest, proposals waiting."""

    for_mine: list[CardView]
    others: list[CardView]
    proposals: list[CardView]


def figures_of(card: InsightCard) -> list[Figure]:
    """The figures in a card's evidence (malformed entries are skipped)."""
    raw = (card.evidence or {}).get("figures", [])
    found: list[Figure] = []
    if not isinstance(raw, list):
        return found
    for entry in raw:
        if isinstance(entry, dict):
            label, value = entry.get("label"), entry.get("value")
            if isinstance(label, str) and isinstance(value, str):
                found.append(Figure(label, value))
    return found


def evidence_of(figures: Iterable[Figure]) -> dict[str, Any]:
    """The ``evidence`` JSON of a card with these figures."""
    return {"figures": [{"label": f.label, "value": f.value} for f in figures]}


# -- rules ------------------------------------------------------------------------------------
def is_admin(user: User) -> bool:
    """Whether ``user`` runs the place (publishes and decides for every department)."""
    return user.role == Role.ADMIN


def may_speak_for(user: User, department: str) -> bool:
    """Whether ``user`` may publish, or decide on a proposal, from ``department``."""
    return is_admin(user) or user.department == department


def department_name(policy: Policy, department: str) -> str:
    """A department's name ("Customer service"); the id for one the policy does not know."""
    try:
        return policy.department(department).name
    except KeyError:
        return department


def clean_link(link: str | None) -> str | None:
    """``link`` when it points at an insights page of this site, None when empty; raises
    ``InputError`` for anything else (another site, a script)."""
    if link is None or not link.strip():
        return None
    link = link.strip()
    if len(link) > MAX_LINK or not _INSIGHTS_LINK.match(link):
        raise InputError("link: an insights page of Townhall, e.g. /insights?channel=mastodon")
    return link


def clean_figures(figures: Sequence[Figure]) -> list[Figure]:
    """The figures with something in them, trimmed; raises ``InputError`` for too many, too
    long, or a label without a value (or the other way round)."""
    kept: list[Figure] = []
    for number, figure in enumerate(figures, start=1):
        label, value = figure.label.strip(), figure.value.strip()
        if not label and not value:
            continue
        if not label or not value:
            raise InputError(f"figure {number}: give both what it is and its value")
        if len(label) > MAX_LABEL or len(value) > MAX_VALUE:
            raise InputError(
                f"figure {number}: at most {MAX_LABEL} characters for what it is and "
                f"{MAX_VALUE} for its value"
            )
        kept.append(Figure(label, value))
    if len(kept) > MAX_FIGURES:
        raise InputError(f"at most {MAX_FIGURES} figures on a card")
    return kept


def _checked_for(policy: Policy, for_departments: Iterable[str]) -> list[str]:
    known = set(policy.department_ids)
    chosen: list[str] = []
    for department in for_departments:
        if department not in known:
            raise InputError(f"for: {department[:64]!r} is not a department of the policy")
        if department not in chosen:
            chosen.append(department)
    if not chosen:
        raise InputError("for: choose the teams the card is for")
    return chosen


def _refuse(policy: Policy, department: str, doing: str) -> PermissionDeniedError:
    name = department_name(policy, department)
    return PermissionDeniedError(
        f"You may not {doing} for {name}: people of {name} and admins can."
    )


# -- changing ---------------------------------------------------------------------------------
def create(
    session: Session,
    policy: Policy,
    *,
    title: str,
    body: str,
    from_department: str,
    for_departments: Iterable[str],
    figures: Sequence[Figure] = (),
    link: str | None = None,
    actor: User,
    now: datetime,
) -> InsightCard:
    """Publish a card a person wrote, from their department (any, for an admin)."""
    title = title.strip()
    if not title:
        raise InputError("title: what did your team learn? Say it in one line.")
    if len(title) > MAX_TITLE:
        raise InputError(f"title: at most {MAX_TITLE} characters")
    if len(body) > MAX_BODY:
        raise InputError(f"story: at most {MAX_BODY} characters")
    if from_department not in policy.department_ids:
        raise InputError(f"from: {from_department[:64]!r} is not a department of the policy")
    if not may_speak_for(actor, from_department):
        raise _refuse(policy, from_department, "publish a card")
    chosen = _checked_for(policy, for_departments)
    kept = clean_figures(figures)
    where = clean_link(link)
    card = InsightCard(
        title=title,
        body=body.strip(),
        from_department=from_department,
        for_departments=chosen,
        evidence=evidence_of(kept),
        link=where,
        status=CardStatus.PUBLISHED,
        kind="manual",
        created_by_id=actor.id,
        created_at=now,
        published_at=now,
        published_by_id=actor.id,
    )
    session.add(card)
    session.flush()
    record(
        session,
        at=now,
        actor=actor.email,
        action="card.publish",
        subject_type="card",
        subject_id=card.id,
        why=f"published from {department_name(policy, from_department)}",
        details={"title": title, "for": chosen, "figures": len(kept), "link": where},
    )
    return card


def _decide(
    session: Session, policy: Policy, card: InsightCard, actor: User, now: datetime, to: CardStatus
) -> InsightCard:
    doing = "publish" if to == CardStatus.PUBLISHED else "dismiss"
    if not may_speak_for(actor, card.from_department):
        raise _refuse(policy, card.from_department, f"{doing} a proposed card")
    if card.status != CardStatus.PROPOSED:
        raise ConflictError(f"This card is {card.status} already: there is nothing to {doing}.")
    card.status = to
    if to == CardStatus.PUBLISHED:
        card.published_at = now
        card.published_by_id = actor.id
    session.flush()
    record(
        session,
        at=now,
        actor=actor.email,
        action=f"card.{doing}",
        subject_type="card",
        subject_id=card.id,
        why=f"{doing}ed Townhall's proposal",
        details={"title": card.title, "kind": card.kind, "fingerprint": card.fingerprint},
    )
    return card


def publish(
    session: Session, policy: Policy, card: InsightCard, *, actor: User, now: datetime
) -> InsightCard:
    """Publish a card Townhall proposed (a person of its department, or an admin)."""
    return _decide(session, policy, card, actor, now, CardStatus.PUBLISHED)


def dismiss(
    session: Session, policy: Policy, card: InsightCard, *, actor: User, now: datetime
) -> InsightCard:
    """Dismiss a card Townhall proposed (a person of its department, or an admin)."""
    return _decide(session, policy, card, actor, now, CardStatus.DISMISSED)


def receipt_of(session: Session, card: InsightCard, user: User) -> CardReceipt | None:
    """``user``'s receipt of ``card`` (None when they never opened it)."""
    return session.scalar(
        select(CardReceipt).where(CardReceipt.card_id == card.id, CardReceipt.user_id == user.id)
    )


def see(session: Session, card: InsightCard, user: User, now: datetime) -> CardReceipt:
    """Record that ``user`` saw a published card (once: a second visit keeps the first time)."""
    found = receipt_of(session, card, user)
    if found is not None:
        return found
    receipt = CardReceipt(card_id=card.id, user_id=user.id, seen_at=now, action="")
    try:
        # A savepoint: two tabs opening the card at once must not fail the page.
        with session.begin_nested():
            session.add(receipt)
    except IntegrityError:
        found = receipt_of(session, card, user)
        assert found is not None
        return found
    return receipt


def act(session: Session, card: InsightCard, user: User, text: str, now: datetime) -> CardReceipt:
    """Record what ``user`` did with a published card ("targeted the newsletter at Texas");
    a second time replaces their earlier words."""
    text = text.strip()
    if not text:
        raise InputError("What did you do with it? A few words are enough.")
    if len(text) > MAX_ACTION:
        raise InputError(f"at most {MAX_ACTION} characters")
    if card.status != CardStatus.PUBLISHED:
        raise ConflictError("Only a published card can be acted on.")
    receipt = see(session, card, user, now)
    before = receipt.action
    receipt.action = text
    receipt.acted_at = now
    session.flush()
    record(
        session,
        at=now,
        actor=user.email,
        action="card.act",
        subject_type="card",
        subject_id=card.id,
        why="acted on the card",
        details={"action": text, "before": before},
    )
    return receipt


# -- reading ----------------------------------------------------------------------------------
def get(session: Session, card_id: int) -> InsightCard:
    """The card with this id; raises ``NotFoundError``."""
    card = session.get(InsightCard, card_id)
    if card is None:
        raise NotFoundError(f"There is no card #{card_id}.")
    return card


def visible(card: InsightCard, user: User) -> bool:
    """Whether ``user`` may open ``card``: a published one, everyone; a proposal or a
    dismissed one, the people who decide on it."""
    return card.status == CardStatus.PUBLISHED or may_speak_for(user, card.from_department)


def get_for(session: Session, card_id: int, user: User) -> InsightCard:
    """The card, if ``user`` may open it; raises ``NotFoundError`` (a proposal of another
    team is not theirs to know about)."""
    card = get(session, card_id)
    if not visible(card, user):
        raise NotFoundError(f"There is no card #{card_id}.")
    return card


def views_of(session: Session, cards: Sequence[InsightCard]) -> list[CardView]:
    """The cards with how many saw each and what was done with them (two queries)."""
    ids = [c.id for c in cards]
    if not ids:
        return []
    seen = dict(
        session.execute(
            select(CardReceipt.card_id, func.count(CardReceipt.id))
            .where(CardReceipt.card_id.in_(ids))
            .group_by(CardReceipt.card_id)
        ).all()
    )
    actions: dict[int, list[Action]] = defaultdict(list)
    acted = session.scalars(
        select(CardReceipt)
        .where(CardReceipt.card_id.in_(ids), CardReceipt.acted_at.is_not(None))
        .order_by(CardReceipt.acted_at, CardReceipt.id)
    )
    for receipt in acted:
        assert receipt.acted_at is not None
        actions[receipt.card_id].append(Action(receipt.user.name, receipt.action, receipt.acted_at))
    return [CardView(c, seen.get(c.id, 0), actions.get(c.id, [])) for c in cards]


def board(session: Session, user: User, limit: int = BOARD_LIMIT) -> Board:
    """The cards page for ``user``: published cards for their department first, then the
    others, newest first; the proposals they may decide on."""
    published = list(
        session.scalars(
            select(InsightCard)
            .where(InsightCard.status == CardStatus.PUBLISHED)
            .order_by(InsightCard.published_at.desc(), InsightCard.id.desc())
            .limit(limit)
        )
    )
    query = select(InsightCard).where(InsightCard.status == CardStatus.PROPOSED)
    if not is_admin(user):
        query = query.where(InsightCard.from_department == user.department)
    waiting = list(
        session.scalars(query.order_by(InsightCard.created_at.desc(), InsightCard.id.desc()))
    )
    views = views_of(session, published)
    mine = [v for v in views if user.department in (v.card.for_departments or [])]
    rest = [v for v in views if user.department not in (v.card.for_departments or [])]
    return Board(for_mine=mine, others=rest, proposals=views_of(session, waiting))


def shared_with(
    session: Session, department: str, start: datetime, end: datetime
) -> list[CardView]:
    """Cards published for ``department`` in [start, end), newest first (for digests and
    agendas)."""
    found = session.scalars(
        select(InsightCard)
        .where(
            InsightCard.status == CardStatus.PUBLISHED,
            InsightCard.published_at >= start,
            InsightCard.published_at < end,
        )
        .order_by(InsightCard.published_at.desc(), InsightCard.id.desc())
    )
    # for_departments is a JSON list: filtered here (a week holds a handful of cards).
    return views_of(session, [c for c in found if department in (c.for_departments or [])])
