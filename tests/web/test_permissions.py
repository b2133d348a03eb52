"""The permission model on every route: each route declares what it needs, and for each role of
ACME's policy the app answers 403 exactly when the policy says no (a route × role matrix)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from townhall.cases import crisis
from townhall.db import session_factory, transaction
from townhall.models import ChecklistEntry, Item, OutboxKind, Takeover, User
from townhall.org.accounts import upsert_user
from townhall.org.permissions import Action, Actor, Scope
from townhall.publishing import drafts
from townhall.web.access import declared_actions
from web.conftest import PASSWORD, LiveServer, Site

PUBLIC = {
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
}
"""Routes anyone may call (the login form itself, health checks)."""

SELF_SERVICE_PREFIXES = ("/account", "/teams/away", "/teams/back")
"""Routes about the person's own account: any logged-in person, checked in the handler."""

OWN_AUTH_PREFIXES = ("/api/", "/hooks/", "/feeds/")
"""Routes with their own authentication (API tokens, signed webhooks, calendar feed tokens),
tested where they are built."""

CAST = {
    "member": "dan.murphy@acme.example",  # customer service
    "approver": "sofia.rossi@acme.example",  # customer service
    "social_lead": "maya.patel@acme.example",  # marketing
    "crisis_lead": "grace.lindqvist@acme.example",  # pr
    "communications": "omar.haddad@acme.example",  # pr
    "takeover_host": "peter.novak@acme.example",  # back office
    "hr_approver": "hannah.schmidt@acme.example",  # hr
    "sales_member": "ben.carter@acme.example",  # sales
    "admin": "jonas.weber@acme.example",  # it
    "viewer": "viola.viewer@acme.example",  # customer service, not in the policy
}


def test_every_route_declares_what_it_needs(site: Site) -> None:
    missing = []
    checked = 0
    for context in iter_route_contexts(site.app.routes):
        route, path = context.original_route, str(context.path or "")
        if not isinstance(route, APIRoute):
            continue
        for method in route.methods:
            if (method, path) in PUBLIC or path.startswith(
                SELF_SERVICE_PREFIXES + OWN_AUTH_PREFIXES
            ):
                continue
            checked += 1
            if not declared_actions(route):
                missing.append(f"{method} {path}")
    assert checked >= 40  # the walk sees the app's routes (included routers too)
    assert missing == []


@dataclass
class World:
    """ACME people with their policy roles, items of four departments, a PR-led crisis room
    and a PR draft."""

    site: Site
    url: str
    users: dict[str, User]
    items: dict[str, int]
    room: int
    pr_question: int
    cs_question: int
    draft: int
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, who: str) -> httpx.Client:
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=10)
        self.clients.append(client)
        response = self.site.login(client, CAST[who], PASSWORD)
        assert response.status_code == 303, response.text
        return client

    def actor(self, who: str, on_shift: frozenset[str] = frozenset()) -> Actor:
        user = self.users[who]
        return Actor(user.department, user.role, on_shift)


@pytest.fixture
def world(site: Site, live_server: LiveServer) -> Iterator[World]:
    policy = site.policy
    now = site.clock()
    posts = [site.post(f"Question {n} about my KettleOne, please help?") for n in range(5)]
    site.feed(*posts)
    sessions = session_factory(site.engine)
    with transaction(sessions) as session:
        users = {}
        for who, email in CAST.items():
            person = policy.person(email)
            users[who] = upsert_user(
                session,
                email=email,
                name=person.name if person else "Viola Viewer",
                department=person.department if person else "customer_service",
                role=person.role if person else "viewer",
                password=PASSWORD,
                now=now,
            )
        rows = list(session.scalars(select(Item).order_by(Item.id)))
        departments = ["customer_service", "pr", "hr", "it", "customer_service"]
        items: dict[str, int] = {}
        for row, department, name in zip(
            rows, departments, ["cs", "pr", "hr", "it", "cs_supported_by_pr"], strict=True
        ):
            row.department = department
            row.supporting = ["pr"] if name == "cs_supported_by_pr" else []
            items[name] = row.id
        session.flush()
        pr_item = session.get(Item, items["pr"])
        assert pr_item is not None
        room = crisis.open_room(
            session,
            policy,
            story=pr_item.post.post_id,
            topic=None,
            title="A story",
            now=now,
            by="system",
        )
        entries = list(
            session.scalars(select(ChecklistEntry).where(ChecklistEntry.room_id == room.id))
        )
        pr_question = next(e.id for e in entries if e.owner_department == "pr")
        cs_question = next(e.id for e in entries if e.owner_department != "pr")
        draft = drafts.write_reply(
            session,
            policy,
            items["pr"],
            OutboxKind.REPLY,
            "Thank you for telling us; we are looking into it.",
            actor=users["communications"],
            now=now,
        )
        world = World(
            site, live_server.url, users, items, room.id, pr_question, cs_question, draft.id
        )
        session.expunge_all()
    yield world
    for client in world.clients:
        client.close()


Expect = Callable[[World, str], bool]


def _can(action: Action, scope: Callable[[World], Scope | None]) -> Expect:
    def expect(world: World, who: str) -> bool:
        policy = world.site.policy
        return policy.permissions.can(world.actor(who), action, scope(world))

    return expect


def _item(name: str) -> Callable[[World], Scope]:
    def scope(world: World) -> Scope:
        supporting = ["pr"] if name == "cs_supported_by_pr" else []
        department = {
            "cs": "customer_service",
            "pr": "pr",
            "hr": "hr",
            "it": "it",
            "cs_supported_by_pr": "customer_service",
        }[name]
        return Scope.of(department, supporting, "mastodon")

    return scope


def _room(world: World) -> Scope:
    with transaction(session_factory(world.site.engine)) as session:
        room = crisis.get_room(session, world.room)
        return Scope.of(room.lead_department, room.departments)


def _nothing(world: World) -> None:
    return None


@dataclass(frozen=True)
class Case:
    method: str
    path: Callable[[World], str]
    expect: Expect
    data: dict[str, str] | None = None
    strict: bool = True
    """False where the service adds a rule of its own on top (only "no" must be a 403)."""


def _cases() -> list[Case]:
    cases = [
        Case("GET", lambda w: "/inbox", _can(Action.VIEW, _nothing)),
        Case("GET", lambda w: "/inbox?department=all", _can(Action.VIEW, _nothing)),
        Case("GET", lambda w: "/crises", _can(Action.VIEW, _nothing)),
        Case("GET", lambda w: "/teams", _can(Action.VIEW, _nothing)),
        Case("GET", lambda w: "/drafts", _can(Action.VIEW, _nothing)),
        Case("GET", lambda w: "/channels", _can(Action.VIEW, _nothing)),
        Case("GET", lambda w: "/outbox", _can(Action.VIEW, _nothing)),
        Case("GET", lambda w: "/takeovers", _can(Action.VIEW, _nothing)),
        Case("GET", lambda w: "/audit", _can(Action.AUDIT, _nothing)),
        Case("GET", lambda w: "/inbox/export.csv?department=all", _can(Action.EXPORT, _nothing)),
        Case("GET", lambda w: f"/crises/{w.room}", _can(Action.VIEW, _room)),
        Case(
            "POST",
            lambda w: f"/crises/{w.room}/answers/{w.pr_question}",
            _can(Action.CHECKLIST, lambda w: Scope.of("pr")),
            {"answer": "Yes, we know."},
        ),
        Case(
            "POST",
            lambda w: f"/crises/{w.room}/statement",
            _can(Action.REPLY, _room),
            {"text": "We are looking into it."},
        ),
        Case(
            "POST",
            lambda w: f"/crises/{w.room}/status",
            _can(Action.CRISIS, lambda w: Scope.of("pr")),  # the room's lead department
            {"status": "active"},
        ),
        Case(
            "POST",
            lambda w: "/channels/mastodon/connect",
            _can(Action.CHANNELS, lambda w: Scope(channel="mastodon")),
            {"secret": "a-token"},
        ),
        Case(
            "POST",
            lambda w: "/compose",
            lambda w, who: w.site.policy.permissions.can(
                w.actor(who), Action.REPLY, Scope.of(w.users[who].department, channel="forum")
            ),
            {"channel": "forum", "text": "Our new kettle is out."},
            strict=False,  # and only the channel's owner or planners post (publishing tests)
        ),
    ]
    for name in ("cs", "pr", "hr", "it", "cs_supported_by_pr"):
        scope = _item(name)

        def path(suffix: str, name: str = name) -> Callable[[World], str]:
            return lambda w: f"/items/{w.items[name]}{suffix}"

        cases += [
            Case("GET", path(""), _can(Action.VIEW, scope)),
            Case("POST", path("/notes"), _can(Action.NOTE, scope), {"text": "A note."}),
            Case("POST", path("/assign"), _can(Action.ASSIGN, scope), {"assignee": "me"}),
            Case("POST", path("/status"), _can(Action.STATUS, scope), {"status": "in_progress"}),
            Case(
                "POST",
                path("/replies"),
                _can(Action.REPLY, scope),
                {"text": "Thanks, we are on it.", "kind": "public"},
            ),
            Case("POST", path("/crisis"), _can(Action.CRISIS, scope)),
        ]
    return cases


def _send(client: httpx.Client, case: Case, world: World) -> httpx.Response:
    path = case.path(world)
    if case.method == "GET":
        return client.get(path)
    data = dict(case.data or {})
    data["csrf_token"] = _csrf(client, world)
    return client.post(path, data=data)


def _csrf(client: httpx.Client, world: World) -> str:
    # Any page with a form carries the session's token; the login page always does.
    cookie_page = client.get("/login?next=/inbox", follow_redirects=False)
    if cookie_page.status_code == 200:
        return world.site.csrf_of(cookie_page.text)
    return world.site.csrf_of(client.get("/teams").text)


@pytest.mark.parametrize("who", list(CAST))
def test_every_route_answers_as_the_policy_says(world: World, who: str) -> None:
    client = world.client(who)
    wrong = []
    for case in _cases():
        allowed = case.expect(world, who)
        response = _send(client, case, world)
        refused = response.status_code == 403
        if refused == allowed and (case.strict or not allowed):
            wrong.append(
                f"{case.method} {case.path(world)}: {response.status_code}"
                f" (the policy says {'yes' if allowed else 'no'})"
            )
    assert wrong == []


def test_what_the_issue_found_is_refused(world: World) -> None:
    dan = world.client("member")  # customer service
    for name in ("pr", "hr", "it"):
        item = world.items[name]
        for suffix, data in [
            ("/assign", {"assignee": "me"}),
            ("/status", {"status": "done"}),
            ("/notes", {"text": "x"}),
            ("/replies", {"text": "Hello there", "kind": "public"}),
            ("/crisis", {}),
        ]:
            data = {**data, "csrf_token": _csrf(dan, world)}
            assert dan.post(f"/items/{item}{suffix}", data=data).status_code == 403, suffix
    answer = {"answer": "No", "csrf_token": _csrf(dan, world)}
    assert (
        dan.post(f"/crises/{world.room}/answers/{world.pr_question}", data=answer).status_code
        == 403
    )
    ben = world.client("sales_member")
    close = {"status": "done", "csrf_token": _csrf(ben, world)}
    assert ben.post(f"/items/{world.items['cs']}/status", data=close).status_code == 403


def test_other_departments_items_stay_out_of_lists_and_addresses(world: World) -> None:
    dan = world.client("member")
    page = dan.get("/inbox?department=all&status=any").text
    assert f"/items/{world.items['cs']}" in page
    assert f"/items/{world.items['pr']}" in page  # customer-facing departments: read only
    assert f"/items/{world.items['hr']}" not in page  # HR's items stay with HR
    refused = dan.get(f"/items/{world.items['hr']}", headers={"accept": "text/html"})
    assert refused.status_code == 403
    assert "You may not see items of" in " ".join(refused.text.split())
    # PR sees every department's items, HR's included.
    omar = world.client("communications")
    page = omar.get("/inbox?department=all&status=any").text
    assert f"/items/{world.items['hr']}" in page
    hannah = world.client("hr_approver")
    page = hannah.get("/inbox?department=all&status=any").text
    assert f"/items/{world.items['hr']}" in page


def test_a_refusal_says_what_and_who_can(world: World) -> None:
    dan = world.client("member")
    data = {"csrf_token": _csrf(dan, world), "status": "active"}
    response = dan.post(f"/crises/{world.room}/status", data=data, headers={"accept": "text/html"})
    assert response.status_code == 403
    text = " ".join(response.text.split())
    assert "You may not move on the crisis rooms of Public relations." in text
    assert "Who can:" in text
    assert "Crisis leads" in text
    assert "Admins" in text


def test_the_takeover_host_speaks_only_on_their_account_during_the_shift(world: World) -> None:
    site = world.site
    peter = world.client("takeover_host")
    item = world.items["cs"]

    def reply() -> int:
        data = {"text": "Hello from the back office!", "kind": "public"}
        data["csrf_token"] = _csrf(peter, world)
        response = peter.post(f"/items/{item}/replies", data=data)
        assert "/login" not in response.headers.get("location", "")
        return response.status_code

    assert reply() == 403  # no shift
    now = site.clock()
    with transaction(session_factory(site.engine)) as session:
        session.add(
            Takeover(
                user_id=world.users["takeover_host"].id,
                channel="mastodon",
                starts_at=now - timedelta(minutes=5),
                ends_at=now + timedelta(minutes=30),
                origin="page",
                created_at=now,
            )
        )
    assert reply() != 403
    site.clock.advance(timedelta(minutes=45))
    assert reply() == 403  # the shift is over


def test_the_export_keeps_to_what_the_person_sees_and_defuses_formulas(world: World) -> None:
    with transaction(session_factory(world.site.engine)) as session:
        item = session.get(Item, world.items["cs"])
        assert item is not None
        item.post.text = '=HYPERLINK("http://evil.example","click")'
    sofia = world.client("approver")  # customer service, may export
    response = sofia.get("/inbox/export.csv?department=all&status=any")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][0] == "item"
    ids = {int(row[0]) for row in rows[1:]}
    assert world.items["cs"] in ids
    assert world.items["hr"] not in ids
    texts = [row[11] for row in rows[1:] if int(row[0]) == world.items["cs"]]
    assert texts == ['\'=HYPERLINK("http://evil.example","click")']


def test_a_queue_the_person_may_not_see_says_so(world: World) -> None:
    dan = world.client("member")
    page = dan.get("/inbox?department=hr&status=any").text
    assert 'id="hidden-department"' in page
    assert "Your role does not cover the Human resources queue" in page
    assert f"/items/{world.items['hr']}" not in page
    assert 'id="hidden-department"' not in dan.get("/inbox?department=pr").text
