"""Server-side sessions: a captured cookie stops working after logout, a password change, an
admin's reset or deactivation; idle and absolute timeouts; the account page."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from townhall.cli import users as users_cli
from townhall.config import get_settings
from townhall.db import session_factory, transaction
from townhall.models import AuditEvent, LoginSession, Note, SessionEnd, User
from townhall.org.accounts import set_active, verify_password
from townhall.org.sessions import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, TOUCH_EVERY, token_hash
from townhall.web.app import SESSION_COOKIE
from web.conftest import PASSWORD, PEOPLE, LiveServer, Site

SOFIA = PEOPLE[0][0]
NEW_PASSWORD = "lantern orchard quietly 48"


def _client(live_server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=10)


def _copy(client: httpx.Client, live_server: LiveServer) -> httpx.Client:
    """Another client carrying the same cookie: a thief's copy."""
    thief = _client(live_server)
    thief.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    return thief


def _works(client: httpx.Client) -> bool:
    """Whether the client's session is accepted (a page that needs a login)."""
    response = client.get("/account")
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


def _actions(site: Site) -> list[str]:
    with session_factory(site.engine)() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _rows(site: Site) -> list[LoginSession]:
    with session_factory(site.engine)() as session:
        return list(session.scalars(select(LoginSession).order_by(LoginSession.id)))


@pytest.fixture
def second(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A second browser."""
    with _client(live_server) as http:
        yield http


def test_the_cookie_carries_only_a_random_session_id(site: Site, logged_in: httpx.Client) -> None:
    payload = logged_in.cookies[SESSION_COOKIE].split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(data) == {"sid", "csrf"}
    (row,) = _rows(site)
    assert row.token_hash == token_hash(data["sid"]) != data["sid"]
    assert row.client_address == "127.0.0.1"
    assert row.user_agent.startswith("python-httpx/")
    assert _actions(site) == ["user.created"] * 3 + ["login.succeeded"]


def test_a_captured_cookie_is_refused_after_logout(
    site: Site, logged_in: httpx.Client, live_server: LiveServer
) -> None:
    site.feed(site.post("My KettleOne is broken"))
    token = site.csrf_of(logged_in.get("/account").text)
    with _copy(logged_in, live_server) as thief:
        assert _works(thief)
        assert logged_in.post("/logout", data={"csrf_token": token}).status_code == 303
        assert not _works(thief)
        note = thief.post("/items/1/notes", data={"text": "still here", "csrf_token": token})
        assert note.status_code == 303 and note.headers["location"].startswith("/login")
    with session_factory(site.engine)() as session:
        assert session.scalars(select(Note)).all() == []
    (row,) = _rows(site)
    assert row.ended_why == SessionEnd.LOGOUT and row.ended_at == site.clock()
    assert _actions(site)[-1] == "logout"


def _change_password(site: Site, client: httpx.Client, current: str, new: str) -> httpx.Response:
    token = site.csrf_of(client.get("/account").text)
    form = {"current": current, "new": new, "again": new, "csrf_token": token}
    return client.post("/account/password", data=form)


def test_a_password_change_ends_every_other_session(
    site: Site, logged_in: httpx.Client, second: httpx.Client, live_server: LiveServer
) -> None:
    assert site.login(second).status_code == 303
    with _copy(logged_in, live_server) as thief:
        response = _change_password(site, second, PASSWORD, NEW_PASSWORD)
        assert response.status_code == 303 and response.headers["location"] == "/account"
        page = second.get("/account").text
        assert "Your password is changed. 1 other session ended." in page
        assert not _works(logged_in)
        assert not _works(thief)
    assert _works(second)
    with _client(live_server) as fresh:
        assert site.login(fresh, password=PASSWORD).status_code == 401
        assert site.login(fresh, password=NEW_PASSWORD).status_code == 303
    actions = _actions(site)
    assert actions[-4:-1] == ["password.changed", "sessions.ended", "login.failed"]
    ended = [r.ended_why for r in _rows(site)]
    assert ended == [SessionEnd.PASSWORD_CHANGED, None, None]


@pytest.mark.parametrize(
    ("current", "new", "again", "message"),
    [
        ("not my password", NEW_PASSWORD, NEW_PASSWORD, "Your current password is not right"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "The two new passwords differ"),
        (PASSWORD, "password123!", "password123!", "leaked from other sites"),
        (PASSWORD, "short one", "short one", "Use at least 12 characters"),
        (PASSWORD, "sofia rossi lantern", "sofia rossi lantern", "Leave your name"),
    ],
)
def test_a_refused_password_change_says_why_and_changes_nothing(
    site: Site, logged_in: httpx.Client, current: str, new: str, again: str, message: str
) -> None:
    token = site.csrf_of(logged_in.get("/account").text)
    form = {"current": current, "new": new, "again": again, "csrf_token": token}
    response = logged_in.post("/account/password", data=form)
    assert response.status_code == 422
    assert message in response.text
    with session_factory(site.engine)() as session:
        user = session.scalars(select(User).where(User.email == SOFIA)).one()
        assert verify_password(user.password_hash, PASSWORD)
    assert _works(logged_in)
    assert "password.changed" not in _actions(site)


@pytest.fixture
def cli_database(site: Site, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The commands run on the site's database."""
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", site.engine.url.render_as_string(False))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_an_admins_reset_ends_every_session(
    site: Site, logged_in: httpx.Client, second: httpx.Client, cli_database: None
) -> None:
    assert site.login(second).status_code == 303
    result = CliRunner().invoke(
        users_cli.app, ["reset-password", SOFIA.upper(), "--password", NEW_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert "2 session(s) ended" in result.stderr
    assert not _works(logged_in)
    assert not _works(second)
    assert [r.ended_why for r in _rows(site)] == [SessionEnd.PASSWORD_RESET] * 2
    assert site.login(second, password=NEW_PASSWORD).status_code == 303


def test_a_reset_refuses_a_weak_password_and_an_unknown_login(
    site: Site, logged_in: httpx.Client, cli_database: None
) -> None:
    weak = CliRunner().invoke(users_cli.app, ["reset-password", SOFIA, "--password", "password1"])
    assert weak.exit_code == 2 and "at least 12 characters" in weak.stderr
    unknown = CliRunner().invoke(
        users_cli.app, ["reset-password", "nobody@acme.example", "--password", NEW_PASSWORD]
    )
    assert unknown.exit_code == 1 and "no login nobody@acme.example" in unknown.stderr
    assert _works(logged_in)


def test_users_add_ends_sessions_only_when_it_changes_the_password(
    site: Site, logged_in: httpx.Client, cli_database: None
) -> None:
    same = ["add", SOFIA, "--name", "Sofia Rossi", "--department", "customer_service"]
    unchanged = CliRunner().invoke(
        users_cli.app, [*same, "--role", "approver", "--password", PASSWORD]
    )
    assert unchanged.exit_code == 0, unchanged.output
    assert _works(logged_in)
    changed = CliRunner().invoke(
        users_cli.app, [*same, "--role", "approver", "--password", NEW_PASSWORD]
    )
    assert changed.exit_code == 0, changed.output
    assert not _works(logged_in)


def test_a_login_name_must_be_an_e_mail_address(site: Site, cli_database: None) -> None:
    result = CliRunner().invoke(
        users_cli.app,
        ["add", "bob", "--name", "Bob", "--department", "it", "--password", NEW_PASSWORD],
    )
    assert result.exit_code == 2
    assert "A login must be an e-mail address" in result.stderr


def test_deactivation_ends_every_session(
    site: Site, logged_in: httpx.Client, cli_database: None
) -> None:
    result = CliRunner().invoke(users_cli.app, ["deactivate", SOFIA])
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.stderr
    assert [r.ended_why for r in _rows(site)] == [SessionEnd.DEACTIVATED]
    # Reactivated, the old cookie stays dead: the session itself has ended.
    with transaction(session_factory(site.engine)) as session:
        user = session.scalars(select(User).where(User.email == SOFIA)).one()
        set_active(session, user, True, now=site.clock(), actor="test")
    assert not _works(logged_in)
    assert _actions(site)[-3:] == ["user.deactivated", "sessions.ended", "user.activated"]


def test_an_idle_session_times_out(site: Site, logged_in: httpx.Client) -> None:
    site.clock.advance(IDLE_TIMEOUT - timedelta(minutes=1))
    assert _works(logged_in)  # used again: the idle clock starts over
    site.clock.advance(IDLE_TIMEOUT - timedelta(minutes=1))
    assert _works(logged_in)
    site.clock.advance(IDLE_TIMEOUT)
    assert not _works(logged_in)


def test_a_busy_session_ends_at_the_absolute_timeout(site: Site, logged_in: httpx.Client) -> None:
    used = timedelta()
    while used + timedelta(hours=1) < ABSOLUTE_TIMEOUT:
        site.clock.advance(timedelta(hours=1))
        used += timedelta(hours=1)
        assert _works(logged_in), used
    site.clock.advance(ABSOLUTE_TIMEOUT - used)
    assert not _works(logged_in)


def test_last_seen_is_written_at_most_every_few_minutes(
    site: Site, logged_in: httpx.Client
) -> None:
    (row,) = _rows(site)
    started = row.last_seen_at
    site.clock.advance(TOUCH_EVERY - timedelta(seconds=1))
    assert _works(logged_in)
    assert _rows(site)[0].last_seen_at == started
    site.clock.advance(timedelta(seconds=1))
    assert _works(logged_in)
    assert _rows(site)[0].last_seen_at == started + TOUCH_EVERY
    # A write request refreshes it in its own transaction.
    site.clock.advance(TOUCH_EVERY)
    token = site.csrf_of(logged_in.get("/account").text)  # this GET touches too
    site.clock.advance(TOUCH_EVERY)
    logged_in.post("/account/sessions/others/end", data={"csrf_token": token})
    assert _rows(site)[0].last_seen_at == started + 3 * TOUCH_EVERY


def test_the_account_page_lists_and_ends_my_sessions(
    site: Site, logged_in: httpx.Client, second: httpx.Client, live_server: LiveServer
) -> None:
    assert site.login(second, email=PEOPLE[1][0]).status_code == 303  # Dan: not listed
    with _client(live_server) as third:
        assert site.login(third).status_code == 303
        page = logged_in.get("/account")
        assert page.status_code == 200
        text = page.text
        assert '<a href="/account">Account</a>' in text
        assert text.count('<tr id="session-') == 2
        assert "this session" in text and "End all other sessions" in text
        assert "python-httpx/" in text and "127.0.0.1" in text
        mine, other = (r.id for r in _rows(site) if r.user_id == 1)
        token = site.csrf_of(text)
        response = logged_in.post(f"/account/sessions/{other}/end", data={"csrf_token": token})
        assert response.status_code == 303
        assert not _works(third)
        assert _works(logged_in) and _works(second)
        # Someone else's session is not mine to end, and is not told apart from a missing one.
        dan = next(r.id for r in _rows(site) if r.user_id == 2)
        for number in (dan, 999):
            refused = logged_in.post(f"/account/sessions/{number}/end", data={"csrf_token": token})
            assert refused.status_code == 404
            assert f"You have no session number {number}." in refused.text
        assert _works(second)
        # Ending this session logs me out.
        response = logged_in.post(f"/account/sessions/{mine}/end", data={"csrf_token": token})
        assert response.headers["location"] == "/login"
        assert not _works(logged_in)


def test_end_all_other_sessions(
    site: Site, logged_in: httpx.Client, second: httpx.Client, live_server: LiveServer
) -> None:
    assert site.login(second).status_code == 303
    with _client(live_server) as third:
        assert site.login(third).status_code == 303
        token = site.csrf_of(second.get("/account").text)
        response = second.post("/account/sessions/others/end", data={"csrf_token": token})
        assert response.status_code == 303
        assert "2 other sessions ended." in second.get("/account").text
        assert not _works(logged_in) and not _works(third)
    assert _works(second)
    event = _last_event(site)
    assert (event.action, event.why) == ("sessions.ended", "2 other sessions ended (ended_by_user)")


def _last_event(site: Site) -> Any:
    with session_factory(site.engine)() as session:
        return session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def test_logging_in_again_ends_the_browsers_previous_session(
    site: Site, logged_in: httpx.Client
) -> None:
    token = site.csrf_of(logged_in.get("/account").text)
    form = {"email": SOFIA, "password": PASSWORD, "csrf_token": token}
    assert logged_in.post("/login", data=form).status_code == 303
    first, second = _rows(site)
    assert first.ended_why == SessionEnd.LOGOUT and second.ended_at is None
