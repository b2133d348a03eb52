"""Every route of the web app, with hostile values in every parameter: never a 500.

The routes and their parameters come from the app itself (``app.routes`` and each route's
``dependant``), so a new route or parameter is fuzzed without touching this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute, Mount

from townhall.db import session_factory, transaction
from townhall.models import Role
from townhall.org import throttle
from townhall.org.accounts import upsert_user
from townhall.web.params import MAX_ID

ADMIN = "ada.admin@acme.example"
PASSWORD = "correct horse battery"

EXAMPLES_PER_ROUTE = 15
"""Hypothesis examples per route: about 30 routes stay well within a minute on two cores."""

READ_DIRECTLY = {"/admin/policy": ["saved"]}
"""Query parameters a handler reads from ``request.query_params`` (no declaration to find)."""

NUMBERS = [
    "0",
    "-1",
    "1",
    "2",
    "3",
    str(MAX_ID),
    str(MAX_ID + 1),
    str(2**31),
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "-" + str(2**63),
    "9" * 30,
    "9" * 5000,
    "1e309",
    "1.5",
    "1.0",
    "NaN",
    "inf",
    "-0",
    "+1",
    " 1",
    "1_000",
    "0x1f",
    "²",
    "١٢٣",
    "𝟙𝟚",
    "٣",
]
DATES = [
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59",
    "9999-12-31",
    "0001-01-01T00:00",
    "1970-01-01T00:00Z",
    "2026-11-23T09:00",
    "2026-11-23T09:00Z",
    "2026-11-23T09:00:00.123456+05:45",
    "2026-02-30T09:00",
    "2026-11-23T24:00",
    "2026-W48-1",
    "2026-11-23T09:00+23:59",
    "2026-03-29T01:30",  # a London clock gap
]
WORDS = [
    "",
    " ",
    "me",
    "none",
    "all",
    "open",
    "any",
    "new",
    "in_progress",
    "done",
    "watching",
    "active",
    "resolved",
    "detractor",
    "neutral",
    "advocate",
    "approve",
    "reject",
    "public",
    "private",
    "breached",
    "complaint",
    "negative",
    "customer_service",
    "pr",
    "mastodon",
    "forum",
    "rss",
    "/inbox",
    "/crises/1",
    "/crises/../../etc/passwd",
]
NASTY = [
    "\x00",
    "a\x00b",
    "\r\nSet-Cookie: x=1",
    "\x1b[31m",
    "\u202e\ufeff",
    "\ud7ff\U0010ffff",
    "😀" * 300,
    "é" * 3000,
    "x" * 10_000,
    "../../../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f",
    "//evil.example",
    "/\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "%",
    "%00",
    "%ff",
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "' OR 1=1 --",
    '{"a": [1, {"b": null}]}',
    "[1, 2]",
    "null",
    "true",
    "[" * 3000,
    "{a: " * 2000,
    "a: &a [*a]",
    "version: 1\nbrand: [",
]


SHARP = [
    "²",
    "١٢٣",
    str(MAX_ID + 1),
    str(2**63),
    "9" * 5000,
    "-1",
    "0",
    "",
    "1.5",
    "a\x00b",
    "x" * 10_000,
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31",
    "0001-01-01",
    "[" * 3000,
    "../../etc/passwd",
    "\r\nX-Injected: 1",
    "😀" * 300,
]
"""The values every parameter of every route is sent once (the others good or left out)."""


def hostile() -> st.SearchStrategy[str]:
    """Values no form sends: huge, negative and unicode numbers, bad dates, long text..."""
    return st.one_of(
        st.sampled_from(NUMBERS + DATES + WORDS + NASTY),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=2000),
    )


@dataclass
class Target:
    """One route and method with the names of its parameters by where they go."""

    method: str
    path: str
    path_params: list[str] = field(default_factory=list)
    query: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    form: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def names(self) -> list[str]:
        return [*self.path_params, *self.query, *self.headers, *self.form]


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """(full path, route) of every route, inside included routers too (FastAPI 0.16x keeps
    an included router as one entry of ``app.routes``; older versions copied its routes)."""
    for route in routes:
        branch: Any = route
        if hasattr(branch, "original_router"):
            inner = prefix + branch.include_context.prefix
            yield from _routes(branch.original_router.routes, inner)
        else:
            yield prefix + getattr(route, "path", ""), route


def targets(app: FastAPI) -> list[Target]:
    """Every route and method of ``app`` with its path, query, header and form parameters."""
    found: list[Target] = []
    for path, route in _routes(app.routes):
        if isinstance(route, Mount):  # static files: the file's path is the parameter
            found.append(Target("GET", path + "/{path}", path_params=["path"]))
            continue
        if not isinstance(route, APIRoute):
            continue
        parts = list(_dependants(route.dependant))
        for method in sorted(route.methods - {"HEAD"}):
            found.append(
                Target(
                    method,
                    path,
                    path_params=sorted({p.alias for d in parts for p in d.path_params}),
                    query=sorted({p.alias for d in parts for p in d.query_params})
                    + READ_DIRECTLY.get(route.path, []),
                    headers=sorted({p.alias for d in parts for p in d.header_params}),
                    form=sorted({p.alias for d in parts for p in d.body_params}),
                )
            )
    return found


def _header_value(value: str) -> bytes:
    """``value`` as a header can carry it (no control characters, no outer spaces)."""
    raw = value.encode()
    return bytes(b for b in raw if b >= 0x20 and b != 0x7F).strip(b" \t")


HEADER_SETS = [
    {},
    {"HX-Request": "true"},
    {"HX-Request": "true", "HX-Target": "inbox-main"},
    {"Accept": "application/json"},
    {"Accept": "text/event-stream"},
]


class Fuzzer:
    """Sends one request per example and remembers what answered 500."""

    def __init__(self, site: Any, client: httpx.Client, known: dict[str, list[str]]) -> None:
        self.site = site
        self.client = client
        self.known = known
        self.token = ""
        self.failures: dict[str, str] = {}
        self.sent = 0
        self.relogin()

    def relogin(self) -> None:
        if self.client.get("/inbox").status_code != 200:
            assert self.site.login(self.client, ADMIN).status_code == 303
        self.token = self.site.csrf_of(self.client.get("/inbox").text)

    def strategy(self, target: Target) -> st.SearchStrategy[dict[str, Any]]:
        """A request to ``target``: up to two parameters hostile, the others good or left out
        (so that most requests get past the first check and reach the handler's depths)."""
        names = target.names

        @st.composite
        def requests(draw: st.DrawFn) -> dict[str, Any]:
            focus = draw(st.sets(st.sampled_from(names), max_size=2)) if names else set()

            def pick(name: str, required: bool) -> str | None:
                good = self.known.get(name, [])
                if name in focus or (required and not good):
                    return draw(hostile())
                options = ([] if required else [None]) + good
                return draw(st.sampled_from(options)) if options else None

            return {
                "path": {n: pick(n, True) for n in target.path_params},
                "query": {n: pick(n, False) for n in target.query},
                "headers": {n: pick(n, False) for n in target.headers},
                "form": {n: pick(n, False) for n in target.form},
                "extra": draw(st.sampled_from(HEADER_SETS)),
                "csrf": draw(st.sampled_from(["good"] * 8 + ["none", "wrong"])),
            }

        return requests()

    def send(self, target: Target, drawn: dict[str, Any]) -> tuple[int, str]:
        """The status and text of the request ``drawn`` describes (a stream: up to its first
        count)."""
        url = target.path
        for name, value in drawn["path"].items():
            url = url.replace("{" + name + "}", quote(value, safe=""))
        query = {k: v for k, v in drawn["query"].items() if v is not None}
        headers: dict[str, str | bytes] = {**drawn["extra"]}
        headers.update({k: _header_value(v) for k, v in drawn["headers"].items() if v is not None})
        self.sent += 1
        if target.method == "GET":
            with self.client.stream("GET", url, params=query, headers=headers) as response:
                if "text/event-stream" in response.headers.get("content-type", ""):
                    _first_count(response)
                    return response.status_code, ""
                return response.status_code, response.read().decode(errors="replace")
        form = {k: v for k, v in drawn["form"].items() if v is not None}
        if drawn["csrf"] != "none":
            form["csrf_token"] = self.token if drawn["csrf"] == "good" else "forged"
        response = self.client.request(target.method, url, params=query, data=form, headers=headers)
        return response.status_code, response.text

    def good(self, target: Target) -> dict[str, Any]:
        """A request to ``target`` with the first good value of each parameter (or none)."""
        first = {name: (self.known.get(name) or [None])[0] for name in target.names}
        return {
            "path": {n: first[n] or "1" for n in target.path_params},
            "query": {n: first[n] for n in target.query},
            "headers": {n: first[n] for n in target.headers},
            "form": {n: first[n] for n in target.form},
            "extra": {},
            "csrf": "good",
        }

    def sweep(self, target: Target) -> None:
        """Send each of ``SHARP`` in each parameter of ``target`` in turn."""
        for name in target.names:
            for value in SHARP:
                drawn = self.good(target)
                part = next(k for k in ("path", "query", "headers", "form") if name in drawn[k])
                drawn[part][name] = value
                try:
                    status, text = self.send(target, drawn)
                    if target.path in ("/login", "/logout"):
                        self.relogin()
                    assert status < 500 and "Traceback" not in text, f"answered {status}"
                except Exception as exc:
                    key = f"{target.name} with {name}={value[:40]!r}"
                    self.failures[key] = f"{type(exc).__name__}: {str(exc)[:500]}"

    def run(self, target: Target) -> None:
        @settings(
            max_examples=EXAMPLES_PER_ROUTE,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(drawn=self.strategy(target))
        def check(drawn: dict[str, Any]) -> None:
            status, text = self.send(target, drawn)
            if target.path in ("/login", "/logout"):  # a logout ends the fuzzer's session
                self.relogin()
            assert status < 500, f"{target.name} answered {status} to {drawn!r}"
            assert "Traceback" not in text

        try:
            check()
        except Exception as exc:  # a 500, or a connection the server dropped
            found = exc.exceptions if isinstance(exc, ExceptionGroup) else [exc]
            self.failures[target.name] = "\n".join(
                f"{type(e).__name__}: {str(e)[:1000]}" for e in found
            )


def _first_count(response: httpx.Response) -> None:
    """Read a live stream up to its first ``count`` event: its first poll has run and lived."""
    for line in response.iter_lines():
        if line.startswith("event:") and line.removeprefix("event:").strip() == "count":
            return
    raise AssertionError("the live stream ended before its first count")


def _known_values(site: Any, client: httpx.Client) -> dict[str, list[str]]:
    """Values that reach deep into handlers: real ids, channels, a good out-of-office time."""
    room = client.get("/crises/1").text
    entries = sorted(set(re.findall(r'action="/crises/1/answers/(\d+)"', room)))
    assert entries, "the crisis room has no checklist"
    channels = [c.id for c in site.policy.channels]
    return {
        # path
        "item_id": ["1", "2", "3"],
        "room_id": ["1"],
        "reply_id": ["1", "2"],
        "entry_id": entries,
        "channel_id": channels,
        "path": ["app.css", "htmx.min.js", "../templates/base.html", "%2e%2e/app.py"],
        # the inbox
        "department": ["all", "customer_service", "pr"],
        "channel": channels,
        "status": ["open", "any", "new", "in_progress", "done", "active", "resolved"],
        "q": ["kettle", "basket melted"],
        "intent": ["complaint", "question"],
        "sentiment": ["negative", "neutral"],
        "owner": ["me", "none", "1", "2"],
        "sla": ["breached"],
        "after": ["0", "1"],
        "before": ["1", "3"],
        "Last-Event-ID": ["1", "2"],
        # forms
        "assignee": ["me", "", "1", "3"],
        "text": ["We are on it.", "version: 1\n"],
        "kind": ["public", "private"],
        "decision": ["approve", "reject"],
        "note": ["Fine by me."],
        "back": ["/crises/1", ""],
        "answer": ["Dan phoned the author."],
        "postmortem": ["A faulty batch; recalled."],
        "outcome": ["advocate", "detractor"],
        "until": ["2026-11-27T17:00", "2027-01-04T09:00Z"],
        "secret": ["token-123", "   "],
        "email": [ADMIN, "nobody@acme.example"],
        "password": ["wrong password"],
        "next": ["/inbox", "/crises/1"],
        "saved": ["1"],
    }


@pytest.fixture
def as_admin(site: Any, client: httpx.Client) -> httpx.Client:
    """The client logged in as an admin (who may reach every handler), on a site with an item
    in a crisis room, two draft replies and a secrets key (so a channel can be connected)."""
    with transaction(session_factory(site.engine)) as session:
        upsert_user(
            session,
            email=ADMIN,
            name="Ada Admin",
            department="pr",
            role=Role.ADMIN,
            password=PASSWORD,
            now=datetime.now(UTC),
        )
    web = site.app.state.web
    web.settings = web.settings.model_copy(update={"secrets_key": Fernet.generate_key().decode()})
    site.feed(
        site.post("My AirFry 5 basket melted", channel="forum"),
        site.post("Same here!", reply_to="forum:1"),
        site.post("Kettle leaks"),
    )
    assert site.login(client, ADMIN).status_code == 303
    token = site.csrf_of(client.get("/items/1").text)
    for path, data in [
        ("/items/1/crisis", {}),
        ("/items/1/replies", {"kind": "public", "text": "We are so sorry!"}),
        ("/items/3/replies", {"kind": "private", "text": "Can we call you?"}),
    ]:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 303
    return client


def test_no_route_answers_500_to_any_value(
    site: Any, as_admin: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hundreds of bad logins from one address: lift the throttle, or the fuzzer's own
    # re-login is locked out (tests/web/test_login_throttle.py tests the throttle).
    monkeypatch.setattr(throttle, "ACCOUNT_FAILURES", 10**9)
    monkeypatch.setattr(throttle, "ADDRESS_FAILURES", 10**9)
    found = targets(site.app)
    assert len(found) >= 25, [t.name for t in found]
    assert {"GET /inbox", "POST /teams/away", "POST /replies/{reply_id}/decide"} <= {
        t.name for t in found
    }
    fuzzer = Fuzzer(site, as_admin, _known_values(site, as_admin))
    for target in found:
        fuzzer.sweep(target)
        fuzzer.run(target)
    assert not fuzzer.failures, "\n\n".join(f"{k}: {v}" for k, v in fuzzer.failures.items())
    assert fuzzer.sent >= len(found) * 5


RAW = ["%ff%fe", "%ed%a0%80", "%c0%af", "%e2%82", "%00", "%", "%zz", "a+b%2B", "%F0%9F%98%80"]
"""Percent escapes of bytes that are not UTF-8 (or not escapes at all), as a raw client sends."""


def test_bytes_that_are_not_utf8_are_no_500(site: Any, as_admin: httpx.Client) -> None:
    token = site.csrf_of(as_admin.get("/inbox").text)
    form = {"content-type": "application/x-www-form-urlencoded"}
    for raw in RAW:
        answers = [
            as_admin.get(f"/inbox?q={raw}&owner={raw}"),
            as_admin.get(f"/items/{raw}"),
            as_admin.get(f"/static/{raw}"),
            as_admin.post("/items/1/notes", content=f"csrf_token={token}&text={raw}", headers=form),
            as_admin.post("/teams/away", content=f"csrf_token={token}&until={raw}", headers=form),
            as_admin.post(
                "/login", content=f"csrf_token={token}&email={raw}&password={raw}", headers=form
            ),
            as_admin.post(f"/channels/{raw}/connect", content=f"csrf_token={token}&secret=x"),
        ]
        assert [a.status_code for a in answers if a.status_code >= 500] == [], raw
