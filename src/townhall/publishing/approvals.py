"""Approval chains: which chain a draft follows, who decides at each step, and when a step is
done (the policy's ``approvals:`` section, ``townhall.org.approvals``).

- The chain is the first of the policy's chains whose ``when`` matches the draft; the built-in
  ``crisis`` chain comes first when the policy has no crisis chain of its own (a crisis always
  holds public replies), and the built-in ``department`` chain is the last resort.
- A private message follows a chain only when the chain lists ``private`` among its kinds (or
  the code of conduct asks for approval); otherwise it goes out at once: private contact with an
  unhappy author is encouraged, in a crisis too.
- A step's deciders are the approvers and admins of its department, everyone with its role, or
  the people it names; never the draft's author. A step naming nobody else falls to the admins.
  ``any``: one approval ends the step; ``all``: every decider must approve. An admin may
  approve any step (it counts as one approval, so it ends an ``any`` step, not an ``all``).

Pure rules over loaded rows; services in ``townhall.publishing.drafts`` apply them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.models import (
    CrisisRoom,
    Decision,
    Item,
    OutboxDecision,
    OutboxKind,
    OutboxPost,
    OutboxStatus,
    Role,
    User,
)
from townhall.org.approvals import (
    BUILT_IN,
    CRISIS_CHAIN,
    CRISIS_LEAD,
    DEPARTMENT_CHAIN,
    OWNER,
    Chain,
    DraftKind,
    Need,
    Risk,
    Step,
)
from townhall.org.conduct import Level
from townhall.org.permissions import Action
from townhall.org.policy import Policy


@dataclass(frozen=True)
class Facts:
    """What a chain's ``when`` looks at."""

    kind: DraftKind
    department: str
    channel: str
    activity: str | None = None
    intent: str | None = None
    risk: Risk = Risk.LOW
    crisis: bool = False
    paid: bool = False
    statement: bool = False


def risk_of(findings: Iterable[Mapping[str, object]], item: Item | None, crisis: bool) -> Risk:
    """High in an open crisis, when the code of conduct asks for approval, or on an urgent item;
    medium on a warning or a high-priority item; else low."""
    levels = {str(f.get("level")) for f in findings}
    priority = item.priority if item is not None else "normal"
    if crisis or Level.NEEDS_APPROVAL.value in levels or priority == "urgent":
        return Risk.HIGH
    if Level.WARN.value in levels or priority == "high":
        return Risk.MEDIUM
    return Risk.LOW


def matches(chain: Chain, facts: Facts) -> bool:
    """Whether every condition of the chain's ``when`` holds for the draft."""
    when = chain.when
    if when.kinds and facts.kind not in when.kinds:
        return False
    if not when.kinds and facts.kind is DraftKind.PRIVATE:
        return False  # private contact follows only a chain that names it
    checks: list[tuple[Sequence[str], str | None]] = [
        (when.departments, facts.department),
        (when.channels, facts.channel),
        (when.activities, facts.activity),
        (when.intents, facts.intent),
        (when.risk, facts.risk),
    ]
    if any(wanted and value not in wanted for wanted, value in checks):
        return False
    flags = [
        (when.crisis, facts.crisis),
        (when.paid, facts.paid),
        (when.statement, facts.statement),
    ]
    return all(wanted is None or wanted == value for wanted, value in flags)


def chains_of(policy: Policy) -> list[Chain]:
    """The chains in the order they are tried."""
    chains = list(policy.approvals)
    if not any(chain.when.crisis for chain in chains):
        chains.insert(0, CRISIS_CHAIN)
    return [*chains, *BUILT_IN]


def chain_for(policy: Policy, facts: Facts) -> Chain | None:
    """The draft's chain; None for a private message no chain names (it goes out at once)."""
    for chain in chains_of(policy):
        if matches(chain, facts):
            return chain
    return None if facts.kind is DraftKind.PRIVATE else DEPARTMENT_CHAIN


def chain_by_id(policy: Policy, chain_id: str | None) -> Chain:
    """The chain a stored draft follows (a chain since removed from the policy: the built-in
    department chain, so the draft still has deciders)."""
    for chain in chains_of(policy):
        if chain.id == chain_id:
            return chain
    return DEPARTMENT_CHAIN


def chain_label(policy: Policy, post: OutboxPost) -> str:
    """How the draft's chain reads on a page."""
    return chain_by_id(policy, post.chain).label if post.chain else "No approval needed"


def may_publish_directly(
    policy: Policy,
    chain: Chain,
    author: User,
    department: str,
    risk: Risk,
    findings: list[dict[str, object]],
) -> bool:
    """Whether the chain's ``direct`` lets this author skip it for this draft."""
    direct = chain.direct
    if direct is None or risk not in direct.risk:
        return False
    if any(str(f.get("level")) == Level.NEEDS_APPROVAL.value for f in findings):
        return False
    if author.role == Role.ADMIN:
        return True
    if author.department != department:
        return False
    person = policy.person(author.email)
    rights = set(person.rights) if person is not None else set()
    return author.role in direct.roles or bool(rights & set(direct.rights))


def step_department(step: Step, post: OutboxPost, room: CrisisRoom | None) -> str | None:
    """The department a step names, with ``owner`` and ``crisis_lead`` resolved."""
    if step.department == OWNER:
        return post.department
    if step.department == CRISIS_LEAD:
        return room.lead_department if room is not None else post.department
    return step.department


def step_label(policy: Policy, step: Step, post: OutboxPost, room: CrisisRoom | None) -> str:
    """A step as a person reads it: "Public relations approvers", "Admins", "Maya Patel"."""
    if step.name:
        return step.name
    department = step_department(step, post, room)
    if department is not None:
        try:
            name = policy.department(department).name
        except KeyError:
            name = department
        return f"{name} approvers"
    if step.role is not None:
        return f"{step.role.value.capitalize()}s"
    names = [p.name for e in step.people if (p := policy.person(e)) is not None]
    return ", ".join(names) or ", ".join(step.people)


def required(
    session: Session, policy: Policy, step: Step, post: OutboxPost, room: CrisisRoom | None
) -> list[User]:
    """The people a step names, without the draft's author; the admins if that leaves nobody."""
    query = select(User).where(User.active.is_(True), User.id != post.author_id)
    department = step_department(step, post, room)
    if department is not None:
        roles = policy.permissions.roles_that(Action.APPROVE, department)
        query = query.where(User.department == department, User.role.in_(roles))
    elif step.role is not None:
        query = query.where(User.role == step.role)
    else:
        query = query.where(User.email.in_([e.lower() for e in step.people]))
    people = list(session.scalars(query.order_by(User.name)))
    if not people:
        admins = select(User).where(
            User.active.is_(True), User.id != post.author_id, User.role == Role.ADMIN
        )
        people = list(session.scalars(admins.order_by(User.name)))
    return people


def decisions_of(session: Session, outbox_id: int) -> list[OutboxDecision]:
    """Every decision and note on a draft, oldest first."""
    query = select(OutboxDecision).where(OutboxDecision.outbox_id == outbox_id)
    return list(session.scalars(query.order_by(OutboxDecision.id)))


def approvals_at(
    decisions: Iterable[OutboxDecision], post: OutboxPost, step: int
) -> dict[int, OutboxDecision]:
    """The approvals of one step of the draft's current revision, by approver."""
    return {
        d.user_id: d
        for d in decisions
        if d.revision == post.revision and d.step == step and d.decision == Decision.APPROVED
    }


def step_done(step: Step, deciders: Sequence[User], approved: Mapping[int, object]) -> bool:
    """``any``: one approval; ``all``: every decider (an admin's approval ends an ``any``)."""
    if step.need is Need.ANY:
        return bool(approved)
    return bool(approved) and all(user.id in approved for user in deciders)


def room_of(session: Session, post: OutboxPost) -> CrisisRoom | None:
    """The crisis room holding the draft, if any."""
    return session.get(CrisisRoom, post.crisis_id) if post.crisis_id else None


def may_decide(session: Session, policy: Policy, post: OutboxPost, user: User) -> bool:
    """Whether ``user`` may approve, reject or ask for changes now: never the author; a decider
    of the current step who has not approved it yet, or an admin."""
    if post.status != OutboxStatus.DRAFT or user.id == post.author_id or not user.active:
        return False
    chain = chain_by_id(policy, post.chain)
    if not chain.steps or post.step >= len(chain.steps):
        return user.role == Role.ADMIN
    step = chain.steps[post.step]
    approved = approvals_at(decisions_of(session, post.id), post, post.step)
    if user.id in approved:
        return False
    if user.role == Role.ADMIN:
        return True
    return any(
        u.id == user.id for u in required(session, policy, step, post, room_of(session, post))
    )


def may_review(session: Session, policy: Policy, post: OutboxPost, user: User) -> bool:
    """Whether ``user`` sees the private reviewer notes: an admin or a decider of any step."""
    if user.role == Role.ADMIN:
        return True
    room = room_of(session, post)
    chain = chain_by_id(policy, post.chain)
    return any(
        u.id == user.id and u.id != post.author_id
        for step in chain.steps
        for u in required(session, policy, step, post, room)
    )


@dataclass(frozen=True)
class StepView:
    """One step of a draft's chain as the Drafts page shows it."""

    label: str
    need: str
    deciders: list[str]
    approved_by: list[str]
    state: str  # done, current, waiting, or skipped (published directly)


def progress(session: Session, policy: Policy, post: OutboxPost) -> list[StepView]:
    """The steps of the draft's chain, with who may decide and who approved."""
    if post.chain is None:
        return []
    chain = chain_by_id(policy, post.chain)
    room = room_of(session, post)
    decisions = decisions_of(session, post.id)
    views = []
    for index, step in enumerate(chain.steps):
        approved = approvals_at(decisions, post, index)
        if index < post.step:
            state = "done"
        elif post.status == OutboxStatus.DRAFT and index == post.step:
            state = "current"
        elif post.status in _RELEASED:
            state = "skipped"  # published directly, as the chain's ``direct`` allows
        else:
            state = "waiting"
        views.append(
            StepView(
                label=step_label(policy, step, post, room),
                need=step.need.value,
                deciders=[u.name for u in required(session, policy, step, post, room)],
                approved_by=[d.user.name for d in approved.values()],
                state=state,
            )
        )
    return views


_RELEASED = (
    OutboxStatus.APPROVED,
    OutboxStatus.SCHEDULED,
    OutboxStatus.PUBLISHING,
    OutboxStatus.PUBLISHED,
    OutboxStatus.FAILED,
    OutboxStatus.UNKNOWN,
    OutboxStatus.MISSED,
)


def could_ever_decide(policy: Policy, user: User) -> bool:
    """Whether any chain of the policy could make ``user`` a decider (a cheap test that spares
    the members who approve nothing a look at every open draft)."""
    if user.role == Role.ADMIN:
        return True
    email = user.email.lower()
    for chain in chains_of(policy):
        for step in chain.steps:
            if step.department is not None and user.role == Role.APPROVER:
                return True
            if step.role is not None and step.role == user.role:
                return True
            if email in (e.lower() for e in step.people):
                return True
    return False


def waiting_for(session: Session, policy: Policy, user: User, limit: int = 100) -> list[OutboxPost]:
    """Drafts ``user`` may decide on now, oldest first."""
    if not could_ever_decide(policy, user):
        return []
    query = select(OutboxPost).where(
        OutboxPost.status == OutboxStatus.DRAFT, OutboxPost.author_id != user.id
    )
    found = []
    for post in session.scalars(query.order_by(OutboxPost.id)).unique():
        if may_decide(session, policy, post, user):
            found.append(post)
            if len(found) >= limit:
                break
    return found


def kind_of(kind: OutboxKind) -> DraftKind:
    """The outbox kind as the policy names it."""
    return DraftKind(kind.value)
