"""The ``approvals:`` section of the policy, a list of chains: which approval chain a draft
follows, and who decides at each step.

Chains are tried in file order; the first whose ``when`` matches the draft is its chain (a
condition left out matches anything). A chain's steps are decided one after the other; a step
names a department's approvers, a role, or people, and needs ``any`` or ``all`` of them.
``direct`` lets some authors publish without approval when the draft's risk allows it.

Without an ``approvals:`` section (or when no chain matches) Townhall uses two built-in chains:
``crisis`` (a public reply on an item of an open crisis room waits for the room's lead
department after the cool-down) and ``department`` (an approver of the department that owns
the draft; its approvers and admins publish directly).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from pydantic import model_validator

from townhall.models.user import Role
from townhall.org.fields import Email, Id, Loc, PolicyModel, items_of, strings_of

CRISIS_LEAD = "crisis_lead"
"""A step's ``department`` that means the lead department of the draft's crisis room."""

OWNER = "owner"
"""A step's ``department`` that means the department owning the draft."""


class Need(StrEnum):
    """How many of a step's approvers must approve."""

    ANY = "any"
    ALL = "all"


class Risk(StrEnum):
    """How risky a draft is (see ``townhall.publishing.approvals.risk_of``)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Right(StrEnum):
    """Rights a person may hold beyond their role."""

    PUBLISH = "publish"  # may publish low-risk drafts directly where a chain allows it


class DraftKind(StrEnum):
    """Kinds of post a chain or a conduct rule applies to."""

    REPLY = "reply"
    POST = "post"
    PRIVATE = "private"
    TAKEOVER = "takeover"


class Step(PolicyModel):
    """One step of a chain: exactly one of ``department`` (its approvers and admins; also
    ``owner`` or ``crisis_lead``), ``role`` (everyone with that role) or ``people``."""

    name: str = ""
    department: str | None = None
    role: Role | None = None
    people: list[Email] = []
    need: Need = Need.ANY

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        named = [self.department is not None, self.role is not None, bool(self.people)]
        if sum(named) != 1:
            raise ValueError("a step names exactly one of department, role or people")
        return self


class When(PolicyModel):
    """What a chain applies to; every condition given must hold."""

    kinds: list[DraftKind] = []
    departments: list[str] = []
    """The department that owns the draft."""
    channels: list[str] = []
    activities: list[str] = []
    """The ownership activity of the item answered (``customer_issues``, ``media_relations``)."""
    intents: list[str] = []
    """The intent of the post answered (``press_inquiry``, ``complaint``)."""
    risk: list[Risk] = []
    crisis: bool | None = None
    """True: only drafts on an item of an open crisis room; false: only outside one."""
    paid: bool | None = None
    """True: only drafts in a paid campaign or sponsorship."""
    statement: bool | None = None
    """True: only drafts marked as an official statement."""


class Direct(PolicyModel):
    """Authors who publish without approval: an admin, or someone of the owning department
    with one of ``roles`` or ``rights``, when the draft's risk is one of ``risk`` and the code
    of conduct asks for no approval."""

    roles: list[Role] = []
    rights: list[Right] = []
    risk: list[Risk] = [Risk.LOW]


class Chain(PolicyModel):
    """An approval chain: when it applies, its steps, and who may skip it."""

    id: Id
    name: str = ""
    when: When = When()
    steps: list[Step] = []
    direct: Direct | None = None
    cooldown: bool = False
    """Approvals wait for the crisis room's cool-down (no knee-jerk replies)."""
    reapprove_on_move: bool = True
    """Moving an approved post to another time sends it back to the chain's first step,
    unless whoever moves it may publish directly."""

    @property
    def label(self) -> str:
        """How the chain reads on a page."""
        return self.name or self.id.replace("_", " ").capitalize()


DEPARTMENT_CHAIN = Chain(
    id="department",
    name="The department's approvers",
    steps=[Step(department=OWNER)],
    direct=Direct(roles=[Role.APPROVER], risk=[Risk.LOW, Risk.MEDIUM, Risk.HIGH]),
)
CRISIS_CHAIN = Chain(
    id="crisis",
    name="Crisis: the room's lead",
    when=When(crisis=True, kinds=[DraftKind.REPLY, DraftKind.POST, DraftKind.TAKEOVER]),
    steps=[Step(department=CRISIS_LEAD)],
    cooldown=True,
)
BUILT_IN = (CRISIS_CHAIN, DEPARTMENT_CHAIN)
"""The chains used when the policy has none, or none matches (in this order)."""


def approval_problems(
    data: Mapping[str, Any],
    check_ref: Callable[[Loc, Any], None],
    emails: set[str],
    channels: set[str],
    activities: set[str],
) -> list[tuple[Loc, str]]:
    """Cross-field problems of the ``approvals:`` section: unknown departments, people,
    channels and activities, repeated chain ids, a direct rule with nobody in it."""
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, int] = {}
    for i, chain in items_of(data, "approvals"):
        loc: Loc = ("approvals", i)
        chain_id = chain.get("id")
        if isinstance(chain_id, str):
            if chain_id in seen:
                problems.append(((*loc, "id"), f"chain {chain_id!r} is listed twice"))
            seen[chain_id] = i
        when = chain.get("when")
        if isinstance(when, Mapping):
            for j, dept in strings_of(when.get("departments")):
                check_ref((*loc, "when", "departments", j), dept)
            for j, channel in strings_of(when.get("channels")):
                if channel not in channels:
                    problems.append(((*loc, "when", "channels", j), f"unknown channel {channel!r}"))
            for j, activity in strings_of(when.get("activities")):
                if activity not in activities:
                    problems.append(
                        ((*loc, "when", "activities", j), f"unknown activity {activity!r}")
                    )
        for j, step in items_of(chain, "steps"):
            step_dept: Any = step.get("department")
            if step_dept not in (OWNER, CRISIS_LEAD):
                check_ref((*loc, "steps", j, "department"), step_dept)
            for k, email in strings_of(step.get("people")):
                if email.lower() not in emails:
                    problems.append(
                        (
                            (*loc, "steps", j, "people", k),
                            f"{email!r} is not among the people of the policy",
                        )
                    )
        direct = chain.get("direct")
        if isinstance(direct, Mapping) and not direct.get("roles") and not direct.get("rights"):
            problems.append(
                ((*loc, "direct"), "names no roles or rights, so nobody publishes directly")
            )
    return problems
