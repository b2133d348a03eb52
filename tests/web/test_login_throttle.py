"""Login throttling: an account locks after 5 failures, an address after 30; a locked login
answers 429 with Retry-After, the same for a real and an unknown e-mail, and costs a hash."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

import townhall.org.accounts as accounts
from townhall.db import session_factory
from townhall.models import AuditEvent
from townhall.org.throttle import (
    ACCOUNT_FAILURES,
    ACCOUNT_LOCK,
    ADDRESS_FAILURES,
    ADDRESS_LOCK,
    FAILURE_WINDOW,
    MAX_ACCOUNT_LOCK,
    account_lock,
)
from web.conftest import PASSWORD, PEOPLE, LiveServer, Site

SOFIA, DAN = PEOPLE[0][0], PEOPLE[1][0]
WRONG = "not the password"
_TOKEN = re.compile(r'("X-CSRF-Token": "|name="csrf_token" value=")[^"]+')


@pytest.fixture
def make_client(live_server: LiveServer) -> Callable[[], httpx.Client]:
    """Another browser on the live server (the same client address)."""
    return lambda: httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=10)


def _events(site: Site, action: str) -> list[AuditEvent]:
    with session_factory(site.engine)() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(session.scalars(query))


def _fail(site: Site, client: httpx.Client, email: str, times: int) -> list[httpx.Response]:
    return [site.login(client, email=email, password=WRONG) for _ in range(times)]


def _comparable(response: httpx.Response, email: str) -> str:
    """The page without what differs by design: the e-mail typed back, the CSRF token."""
    return _TOKEN.sub(r"\1…", response.text.replace(email, "EMAIL"))


def test_an_account_locks_after_five_failures(site: Site, client: httpx.Client) -> None:
    answers = _fail(site, client, SOFIA, ACCOUNT_FAILURES)
    assert [r.status_code for r in answers] == [401] * (ACCOUNT_FAILURES - 1) + [429]
    assert "E-mail or password is wrong." in answers[0].text
    locked = answers[-1]
    assert locked.headers["Retry-After"] == str(int(ACCOUNT_LOCK.total_seconds()))
    assert "Too many failed logins" in locked.text and "try again in 15 minutes" in locked.text
    # The right password does not get in while the lock lasts.
    right = site.login(client, password=PASSWORD)
    assert right.status_code == 429
    assert _comparable(right, SOFIA) == _comparable(locked, SOFIA)
    assert client.get("/account").status_code == 303
    site.clock.advance(ACCOUNT_LOCK - timedelta(seconds=30))
    almost = site.login(client, password=PASSWORD)
    assert almost.status_code == 429 and almost.headers["Retry-After"] == "30"
    site.clock.advance(timedelta(seconds=30))
    assert site.login(client, password=PASSWORD).status_code == 303
    assert client.get("/account").status_code == 200


def test_an_unknown_e_mail_is_answered_exactly_like_a_real_one(
    site: Site, make_client: Callable[[], httpx.Client]
) -> None:
    with make_client() as real, make_client() as unknown:
        nobody = "nobody@acme.example"
        for step in range(ACCOUNT_FAILURES + 1):
            a = site.login(real, email=SOFIA, password=WRONG if step < 5 else PASSWORD)
            b = site.login(unknown, email=nobody, password=WRONG if step < 5 else PASSWORD)
            assert a.status_code == b.status_code, step
            assert a.headers.get("Retry-After") == b.headers.get("Retry-After"), step
            assert _comparable(a, SOFIA) == _comparable(b, nobody), step
    assert [e.subject_id for e in _events(site, "login.locked")] == [SOFIA, nobody]


def test_a_locked_or_unknown_login_costs_a_password_hash(
    site: Site, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    verify = accounts.verify_password

    def counting(password_hash: str, password: str) -> bool:
        checked.append(password)
        return verify(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", counting)
    site.login(client, email="nobody@acme.example", password="a")
    _fail(site, client, SOFIA, ACCOUNT_FAILURES)
    site.login(client, password=PASSWORD)  # locked
    assert checked == ["a"] + [WRONG] * ACCOUNT_FAILURES + [PASSWORD]


def test_each_lock_lasts_twice_as_long_up_to_a_day(site: Site, client: httpx.Client) -> None:
    waits = []
    for _ in range(3):
        locked = _fail(site, client, DAN, ACCOUNT_FAILURES)[-1]
        assert locked.status_code == 429
        waits.append(int(locked.headers["Retry-After"]))
        site.clock.advance(timedelta(seconds=waits[-1]))
    assert waits == [900, 1800, 3600]
    assert [account_lock(n) for n in (0, 1, 6, 7, 40)] == [
        ACCOUNT_LOCK,
        2 * ACCOUNT_LOCK,
        timedelta(hours=16),
        MAX_ACCOUNT_LOCK,
        MAX_ACCOUNT_LOCK,
    ]
    # A login clears the account's record: the next lock is a first one again.
    assert site.login(client, email=DAN).status_code == 303
    client.cookies.clear()
    assert _fail(site, client, DAN, ACCOUNT_FAILURES)[-1].headers["Retry-After"] == "900"


def test_failures_spread_over_more_than_the_window_do_not_lock(
    site: Site, client: httpx.Client
) -> None:
    for _ in range(3):
        assert [r.status_code for r in _fail(site, client, SOFIA, ACCOUNT_FAILURES - 1)] == [
            401
        ] * (ACCOUNT_FAILURES - 1)
        site.clock.advance(FAILURE_WINDOW)
    assert site.login(client).status_code == 303


def test_an_address_is_refused_after_thirty_failures(site: Site, client: httpx.Client) -> None:
    # Thirty different e-mails, one try each: no account reaches its limit.
    answers = [
        site.login(client, email=f"guess{n}@acme.example", password=WRONG)
        for n in range(ADDRESS_FAILURES)
    ]
    assert [r.status_code for r in answers] == [401] * (ADDRESS_FAILURES - 1) + [429]
    assert answers[-1].headers["Retry-After"] == str(int(ADDRESS_LOCK.total_seconds()))
    # Now nobody logs in from this address, whatever the account.
    refused = site.login(client, email=DAN, password=PASSWORD)
    assert refused.status_code == 429
    assert _comparable(refused, DAN) == _comparable(answers[-1], "guess29@acme.example")
    (lock,) = _events(site, "login.locked")
    assert (lock.subject_type, lock.subject_id) == ("address", "127.0.0.1")
    site.clock.advance(ADDRESS_LOCK)
    assert site.login(client, email=DAN, password=PASSWORD).status_code == 303


def test_logins_and_failures_are_audited_without_the_password(
    site: Site, client: httpx.Client
) -> None:
    site.login(client, email="Nobody@ACME.example ", password="hunter2-secret")
    _fail(site, client, SOFIA, ACCOUNT_FAILURES)
    site.login(client, password=PASSWORD)  # refused: locked
    site.clock.advance(ACCOUNT_LOCK)
    assert site.login(client, password=PASSWORD).status_code == 303
    token = site.csrf_of(client.get("/account").text)
    client.post("/logout", data={"csrf_token": token})

    failed = _events(site, "login.failed")
    assert [(e.subject_id, e.details["reason"]) for e in failed] == [
        ("nobody@acme.example", "unknown e-mail"),
        *[(SOFIA, "wrong password")] * ACCOUNT_FAILURES,
        (SOFIA, "locked"),
    ]
    assert all(e.details["address"] == "127.0.0.1" for e in failed)
    (locked,) = _events(site, "login.locked")
    assert locked.details["scope"] == "account" and locked.details["lockouts"] == 1
    (succeeded,) = _events(site, "login.succeeded")
    assert (succeeded.actor, succeeded.subject_type) == (SOFIA, "user")
    (logout,) = _events(site, "logout")
    assert logout.actor == SOFIA
    with session_factory(site.engine)() as session:
        everything = [f"{e.actor} {e.why} {e.details}" for e in session.scalars(select(AuditEvent))]
    for password in ("hunter2-secret", WRONG, PASSWORD):
        assert not any(password in text for text in everything)


def test_a_wrong_current_password_on_the_account_page_counts_as_a_failure(
    site: Site, logged_in: httpx.Client
) -> None:
    token = site.csrf_of(logged_in.get("/account").text)
    form = {"current": WRONG, "new": "x" * 12, "again": "x" * 12, "csrf_token": token}
    answers = [logged_in.post("/account/password", data=form) for _ in range(ACCOUNT_FAILURES)]
    assert [r.status_code for r in answers] == [422] * ACCOUNT_FAILURES
    blocked = logged_in.post("/account/password", data={**form, "current": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many wrong passwords" in blocked.text
    (lock,) = _events(site, "login.locked")
    assert (lock.subject_id, lock.details["scope"]) == (SOFIA, "account")
    logged_in.cookies.clear()
    assert site.login(logged_in).status_code == 429
