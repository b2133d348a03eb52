"""The permission model: roles, grants and their scopes, and the policy's checks of them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from townhall.org.permissions import (
    Action,
    Actor,
    Grant,
    Permissions,
    RoleDefinition,
    Scope,
    role_problems,
    roles_of,
)
from townhall.org.policy import load_policy

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"

BUILT_IN = Permissions(roles_of([]))


def test_built_in_members_work_their_own_department_and_note_on_what_it_supports() -> None:
    dan = Actor("customer_service", "member")
    own = Scope.of("customer_service", channel="mastodon")
    supported = Scope.of("pr", ["customer_service"], "mastodon")
    other = Scope.of("hr", [], "mastodon")
    assert BUILT_IN.can(dan, Action.ASSIGN, own)
    assert BUILT_IN.can(dan, Action.NOTE, supported)
    assert not BUILT_IN.can(dan, Action.STATUS, supported)
    assert not BUILT_IN.can(dan, Action.VIEW, other)
    assert not BUILT_IN.can(dan, Action.APPROVE, own)
    assert BUILT_IN.can(Actor("customer_service", "approver"), Action.APPROVE, own)
    assert BUILT_IN.can(Actor("it", "admin"), Action.POLICY)
    assert not BUILT_IN.can(dan, Action.POLICY)
    assert not BUILT_IN.can(Actor("customer_service", "viewer"), Action.REPLY, own)


def test_an_unknown_role_may_do_nothing() -> None:
    assert not BUILT_IN.can(Actor("customer_service", "ghost"), Action.VIEW)


def test_channel_limited_grants_cover_only_their_channels() -> None:
    forum_only = RoleDefinition(
        id="community",
        grants=[Grant(actions=[Action.REPLY], departments=["all"], channels=["forum"])],
    )
    model = Permissions(roles_of([forum_only]))
    person = Actor("marketing", "community")
    assert model.can(person, Action.REPLY, Scope.of("pr", channel="forum"))
    assert not model.can(person, Action.REPLY, Scope.of("pr", channel="mastodon"))
    assert not model.can(person, Action.REPLY, Scope.of("pr"))  # a crisis room: no channel


def test_takeover_grants_hold_only_on_the_shifts_channel() -> None:
    host = RoleDefinition(
        id="host",
        grants=[Grant(actions=[Action.REPLY], departments=["all"], during_takeover=True)],
    )
    model = Permissions(roles_of([host]))
    scope = Scope.of("customer_service", channel="mastodon")
    assert not model.can(Actor("back_office", "host"), Action.REPLY, scope)
    assert model.can(Actor("back_office", "host", frozenset({"mastodon"})), Action.REPLY, scope)
    assert not model.can(Actor("back_office", "host", frozenset({"bluesky"})), Action.REPLY, scope)


def test_departments_for_gives_what_lists_may_show() -> None:
    dan = Actor("customer_service", "member")
    scope = BUILT_IN.departments_for(dan, Action.VIEW, ["customer_service", "pr", "hr"])
    assert scope.owned == {"customer_service"}
    assert scope.supported_by == "customer_service"
    assert scope.allows("pr", ["customer_service"])
    assert not scope.allows("hr")
    admin = BUILT_IN.departments_for(Actor("it", "admin"), Action.VIEW, ["pr", "hr"])
    assert admin.everything and admin.allows("hr")
    assert BUILT_IN.departments_for(Actor("x", "ghost"), Action.VIEW, ["pr"]).nothing


def test_a_refusal_names_who_can_in_words() -> None:
    who = BUILT_IN.who_can(Action.APPROVE, Scope.of("pr"), {"pr": "Public relations"}.__getitem__)
    assert who == ["Admins", "Approvers of Public relations"]
    everyone = BUILT_IN.who_can(Action.VIEW, Scope.of("hr"), {"hr": "Human resources"}.__getitem__)
    assert everyone == ["Admins", "everyone in Human resources"]


def test_acme_roles() -> None:
    acme = load_policy(ACME)
    model = acme.permissions
    hannah = Actor("hr", "approver")
    assert model.can(hannah, Action.VIEW, Scope.of("hr"))
    assert not model.can(Actor("customer_service", "member"), Action.VIEW, Scope.of("hr"))
    grace = Actor("pr", "crisis_lead")
    assert model.can(grace, Action.CRISIS, Scope.of("customer_service"))
    assert model.can(grace, Action.VIEW, Scope.of("hr"))
    assert not model.can(Actor("customer_service", "member"), Action.CHANNELS)
    assert model.can(Actor("it", "admin"), Action.CHANNELS)
    assert [p.email for p in acme.approvers("pr")] == ["grace.lindqvist@acme.example"]


def _problems(**changes: object) -> list[str]:
    data = yaml.safe_load(ACME.read_text())
    data.update(changes)
    return [msg for _, msg in role_problems(data)]


def test_the_policy_checks_roles() -> None:
    assert _problems() == []
    bad = [
        {
            "id": "odd",
            "grants": [{"actions": ["view"], "departments": ["nowhere"], "channels": ["fax"]}],
        }
    ]
    problems = _problems(roles=bad)
    assert "unknown department 'nowhere' (or use own, supported, all)" in problems
    assert "unknown channel 'fax'" in problems


def test_nobody_may_lose_the_right_to_change_the_policy() -> None:
    data = yaml.safe_load(ACME.read_text())
    data["roles"] = [{"id": "admin", "grants": [{"actions": ["view"]}]}]
    assert any("nobody's role grants `policy`" in m for _, m in role_problems(data))


@pytest.mark.parametrize("value", [3, True, "roles", None])
def test_malformed_sections_are_skipped_not_crashed_on(value: object) -> None:
    data = yaml.safe_load(ACME.read_text())
    data["roles"] = value
    data["people"] = value
    role_problems(data)  # no exception
