"""Who may do what: roles in the policy grant actions, scoped per department and channel.

A role is a list of grants; a grant names ``actions``, the ``departments`` it covers (``own``:
the person's department, ``supported``: items the person's department supports, ``all``, or
department ids) and optionally ``channels`` (channel ids; all when empty). ``during_takeover``
limits a grant to the channels the person holds a takeover shift on right now.

``Permissions`` compiles a policy's roles once; ``can`` answers one question, ``scope_of``
gives the departments a person may see (for list filters) and ``who_can`` says, for a refusal,
who may instead. The policy names roles in ``roles:``; without it the built-in viewer, member,
approver and admin roles apply, as Townhall behaved before roles existed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, field_validator

from townhall.org.fields import Id, PolicyModel

if TYPE_CHECKING:
    from townhall.org.policy import Policy


class Action(StrEnum):
    """Everything the permission model can allow, with the words a refusal uses."""

    VIEW = "view"
    REPLY = "reply"
    NOTE = "note"
    ASSIGN = "assign"
    STATUS = "status"
    APPROVE = "approve"
    PUBLISH = "publish"
    CALENDAR = "calendar"
    CAMPAIGNS = "campaigns"
    CHECKLIST = "checklist"
    CRISIS = "crisis"
    POLICY = "policy"
    USERS = "users"
    CHANNELS = "channels"
    AUDIT = "audit"
    EXPORT = "export"

    @property
    def doing(self) -> str:
        """The action as a person would say it: "assign items"."""
        return DOING[self]


DOING: Mapping[Action, str] = {
    Action.VIEW: "see items",
    Action.REPLY: "reply and write drafts",
    Action.NOTE: "add notes",
    Action.ASSIGN: "assign items",
    Action.STATUS: "change the status of items",
    Action.APPROVE: "approve drafts",
    Action.PUBLISH: "publish without approval",
    Action.CALENDAR: "edit the calendar and takeover shifts",
    Action.CAMPAIGNS: "manage campaigns",
    Action.CHECKLIST: "answer crisis checklist questions",
    Action.CRISIS: "run crisis rooms (open one, move it on)",
    Action.POLICY: "edit the policy",
    Action.USERS: "manage people's accounts",
    Action.CHANNELS: "manage channels and webhooks",
    Action.AUDIT: "read the audit log",
    Action.EXPORT: "export data",
}

ALL = "all"
OWN = "own"
SUPPORTED = "supported"
SCOPE_WORDS = frozenset({ALL, OWN, SUPPORTED})

GLOBAL_ACTIONS = frozenset(
    {Action.POLICY, Action.USERS, Action.CHANNELS, Action.AUDIT, Action.CAMPAIGNS}
)
"""Actions about the whole organisation: a grant of these needs no department scope."""


class Grant(PolicyModel):
    """Some actions over some departments (and channels)."""

    actions: list[Action | Annotated[str, Field(pattern="^all$")]] = Field(min_length=1)
    departments: list[str] = [OWN]
    channels: list[str] = []
    during_takeover: bool = False
    """Only on the channels the person holds a takeover shift on right now."""

    @field_validator("departments")
    @classmethod
    def _some_departments(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one department, or own, supported or all")
        return value


class RoleDefinition(PolicyModel):
    """A role people hold: its display name and what it grants."""

    id: Id
    name: str = ""
    description: str = ""
    grants: list[Grant] = []

    @property
    def title(self) -> str:
        """The name a person reads: the given name, else the id capitalised."""
        return self.name or self.id.replace("_", " ").capitalize()


MEMBER_ACTIONS = [Action.VIEW, Action.REPLY, Action.NOTE, Action.ASSIGN, Action.STATUS]

BUILT_IN_ROLES: tuple[RoleDefinition, ...] = (
    RoleDefinition(
        id="viewer",
        name="Viewer",
        description="Reads their department's items and the items it supports.",
        grants=[Grant(actions=[Action.VIEW], departments=[OWN, SUPPORTED])],
    ),
    RoleDefinition(
        id="member",
        name="Member",
        description="Works their department's items; notes on the items it supports.",
        grants=[
            Grant(actions=[*MEMBER_ACTIONS, Action.CHECKLIST, Action.CALENDAR]),
            Grant(actions=[Action.VIEW, Action.NOTE, Action.CHECKLIST], departments=[SUPPORTED]),
        ],
    ),
    RoleDefinition(
        id="approver",
        name="Approver",
        description="A member who also approves their department's drafts.",
        grants=[
            Grant(
                actions=[
                    *MEMBER_ACTIONS,
                    Action.CHECKLIST,
                    Action.CALENDAR,
                    Action.APPROVE,
                    Action.EXPORT,
                ]
            ),
            Grant(actions=[Action.VIEW, Action.NOTE, Action.CHECKLIST], departments=[SUPPORTED]),
        ],
    ),
    RoleDefinition(
        id="admin",
        name="Admin",
        description="Runs the place: every action in every department.",
        grants=[Grant(actions=["all"], departments=[ALL])],
    ),
)
"""The roles a policy without ``roles:`` has (and that a policy's ``roles:`` may redefine)."""

BUILT_IN_IDS = tuple(role.id for role in BUILT_IN_ROLES)


def roles_of(declared: Sequence[RoleDefinition]) -> dict[str, RoleDefinition]:
    """The roles in force: the built-in ones, each replaced by a declared one of its id."""
    roles = {role.id: role for role in BUILT_IN_ROLES}
    roles.update({role.id: role for role in declared})
    return roles


@dataclass(frozen=True)
class Scope:
    """What an action is on: the owning department, the departments supporting it, the
    channel. ``None`` department: an organisation-wide action (the policy, users)."""

    department: str | None = None
    supporting: frozenset[str] = frozenset()
    channel: str | None = None

    @classmethod
    def of(
        cls, department: str | None, supporting: Iterable[str] = (), channel: str | None = None
    ) -> Scope:
        """A scope from plain values."""
        return cls(department, frozenset(supporting), channel)


@dataclass(frozen=True)
class Actor:
    """Who asks: their department, role and the channels they hold a takeover shift on now."""

    department: str
    role: str
    on_shift: frozenset[str] = frozenset()

    @classmethod
    def of(cls, person: Any, on_shift: Iterable[str] = ()) -> Actor:
        """The actor of a ``User`` (or anything with ``department`` and ``role``)."""
        return cls(str(person.department), str(person.role), frozenset(on_shift))


@dataclass(frozen=True)
class _Rule:
    actions: frozenset[Action]
    all_departments: bool
    own: bool
    supported: bool
    departments: frozenset[str]
    channels: frozenset[str] | None
    during_takeover: bool


@dataclass
class Permissions:
    """A policy's roles, compiled for fast questions."""

    roles: dict[str, RoleDefinition]
    _rules: dict[str, list[_Rule]] = field(init=False)

    def __post_init__(self) -> None:
        self._rules = {
            role_id: [self._compile(grant) for grant in role.grants]
            for role_id, role in self.roles.items()
        }

    def _compile(self, grant: Grant) -> _Rule:
        actions = (
            frozenset(Action)
            if "all" in grant.actions
            else frozenset(Action(a) for a in grant.actions)
        )
        channels = set(grant.channels)
        return _Rule(
            actions=actions,
            all_departments=ALL in grant.departments,
            own=OWN in grant.departments,
            supported=SUPPORTED in grant.departments,
            departments=frozenset(grant.departments) - SCOPE_WORDS,
            channels=frozenset(channels) if channels else None,
            during_takeover=grant.during_takeover,
        )

    @classmethod
    def of(cls, policy: Policy) -> Permissions:
        """The permissions of ``policy``'s roles."""
        return cls(roles_of(policy.roles))

    def role_title(self, role_id: str) -> str:
        """A role's display name."""
        role = self.roles.get(role_id)
        return role.title if role else role_id.replace("_", " ").capitalize()

    def _covers(self, rule: _Rule, actor: Actor, action: Action, scope: Scope) -> bool:
        if action not in rule.actions:
            return False
        if rule.channels is not None or rule.during_takeover:
            # A grant limited to channels covers only things on one of them.
            if scope.channel is None:
                return False
            if rule.channels is not None and scope.channel not in rule.channels:
                return False
            if rule.during_takeover and scope.channel not in actor.on_shift:
                return False
        if scope.department is None:  # organisation-wide: any grant of the action
            return True
        if rule.all_departments or scope.department in rule.departments:
            return True
        if rule.own and scope.department == actor.department:
            return True
        return rule.supported and actor.department in scope.supporting

    def can(self, actor: Actor, action: Action, scope: Scope | None = None) -> bool:
        """Whether ``actor`` may do ``action`` on ``scope`` (organisation-wide when None)."""
        scope = scope or Scope()
        return any(
            self._covers(rule, actor, action, scope) for rule in self._rules.get(actor.role, [])
        )

    def departments_for(
        self, actor: Actor, action: Action, all_departments: Iterable[str]
    ) -> DepartmentScope:
        """Which departments' things ``actor`` may do ``action`` on: owned outright, or
        supported (items whose supporting departments include the actor's)."""
        owned: set[str] = set()
        supported = False
        every = list(all_departments)
        for rule in self._rules.get(actor.role, []):
            if action not in rule.actions or rule.during_takeover:
                continue
            if rule.all_departments:
                return DepartmentScope(frozenset(every), everything=True)
            owned |= rule.departments
            if rule.own:
                owned.add(actor.department)
            supported = supported or rule.supported
        return DepartmentScope(
            frozenset(owned), supported_by=actor.department if supported else None
        )

    def roles_that(self, action: Action, department: str) -> list[str]:
        """The roles whose holders in ``department`` may do ``action`` on its things."""
        return [
            role_id
            for role_id in self.roles
            if self.can(Actor(department, role_id), action, Scope.of(department))
        ]

    def channels_on_shift_only(self, actor: Actor, action: Action) -> bool:
        """Whether the actor's only grants of ``action`` are takeover grants."""
        rules = [r for r in self._rules.get(actor.role, []) if action in r.actions]
        return bool(rules) and all(r.during_takeover for r in rules)

    def who_can(
        self,
        action: Action,
        scope: Scope | None = None,
        department_name: Callable[[str], str] = str,
    ) -> list[str]:
        """For a refusal: who may do ``action`` on ``scope``, as a person reads it
        ("Approvers of Public relations", "Admins", "everyone in Human resources")."""
        scope = scope or Scope()
        reach: dict[str, str] = {}  # role → everywhere | own | supported | takeover
        rank = {"everywhere": 0, "own": 1, "supported": 2, "takeover": 3}
        for role_id, rules in self._rules.items():
            for rule in rules:
                if action not in rule.actions:
                    continue
                if rule.during_takeover:
                    how = "takeover"
                elif (
                    rule.all_departments
                    or scope.department is None
                    or scope.department in rule.departments
                ):
                    how = "everywhere"
                elif rule.own:
                    how = "own"
                elif rule.supported and scope.supporting:
                    how = "supported"
                else:
                    continue
                if role_id not in reach or rank[how] < rank[reach[role_id]]:
                    reach[role_id] = how

        def plural(role_id: str) -> str:
            title = self.role_title(role_id)
            return title if title.endswith("s") else title + "s"

        def having(how: str) -> list[str]:
            return [r for r, h in reach.items() if h == how]

        found = [plural(r) for r in having("everywhere")]
        own = having("own")
        if own and scope.department is not None:
            name = department_name(scope.department)
            if set(own) | set(having("everywhere")) == set(self.roles):
                found.append(f"everyone in {name}")
            else:
                found += [f"{plural(r)} of {name}" for r in own]
        found += [f"{plural(r)} of a department supporting it" for r in having("supported")]
        found += [f"{plural(r)} on a takeover shift" for r in having("takeover")]
        return found


@dataclass(frozen=True)
class DepartmentScope:
    """The departments a person may act on for one action (see ``departments_for``)."""

    owned: frozenset[str]
    supported_by: str | None = None
    """The person's department when they also see items it supports."""
    everything: bool = False

    def allows(self, department: str, supporting: Iterable[str] = ()) -> bool:
        """Whether an item of ``department`` (with ``supporting``) is in this scope."""
        if self.everything or department in self.owned:
            return True
        return self.supported_by is not None and self.supported_by in supporting

    @property
    def nothing(self) -> bool:
        """Whether the scope is empty."""
        return not self.everything and not self.owned and self.supported_by is None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def role_problems(policy: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-checks of ``roles:`` against the raw policy: departments, channels and people's
    roles exist; every action is spelled right (pydantic checks) and someone can edit the
    policy."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    departments = {
        str(d.get("id")) for d in _list(policy.get("departments")) if isinstance(d, Mapping)
    }
    channels = {str(c.get("id")) for c in _list(policy.get("channels")) if isinstance(c, Mapping)}
    declared = [r for r in _list(policy.get("roles")) if isinstance(r, Mapping)]
    role_ids = set(BUILT_IN_IDS) | {str(r.get("id")) for r in declared}
    seen: set[str] = set()
    for i, role in enumerate(_list(policy.get("roles"))):
        if not isinstance(role, Mapping):
            continue
        rid = str(role.get("id"))
        if rid in seen:
            problems.append((("roles", i, "id"), f"role {rid!r} is declared twice"))
        seen.add(rid)
        for g, grant in enumerate(_list(role.get("grants"))):
            if not isinstance(grant, Mapping):
                continue
            for d, dep in enumerate(_list(grant.get("departments"))):
                if str(dep) not in SCOPE_WORDS and str(dep) not in departments:
                    problems.append(
                        (
                            ("roles", i, "grants", g, "departments", d),
                            f"unknown department {dep!r} (or use own, supported, all)",
                        )
                    )
            for c, channel in enumerate(_list(grant.get("channels"))):
                if str(channel) not in channels:
                    problems.append(
                        (
                            ("roles", i, "grants", g, "channels", c),
                            f"unknown channel {channel!r}",
                        )
                    )
    editors = {"admin"}
    for role in declared:
        grants = [g for g in _list(role.get("grants")) if isinstance(g, Mapping)]
        actions = {str(a) for g in grants if not g.get("channels") for a in _list(g.get("actions"))}
        if actions & {"all", Action.POLICY.value}:
            editors.add(str(role.get("id")))
        else:
            editors.discard(str(role.get("id")))
    holders = [p for p in _list(policy.get("people")) if isinstance(p, Mapping)]
    if declared and holders and not any(str(p.get("role", "member")) in editors for p in holders):
        problems.append(
            (("roles",), "nobody's role grants `policy`: nobody could change the policy again")
        )
    for i, person in enumerate(_list(policy.get("people"))):
        role = person.get("role") if isinstance(person, Mapping) else None
        if role is not None and str(role) not in role_ids:
            problems.append(
                (
                    ("people", i, "role"),
                    f"unknown role {role!r}; roles are " + ", ".join(sorted(role_ids)),
                )
            )
    return problems
