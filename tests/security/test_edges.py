"""The hardened edges: file modes, weak keys, HSTS, no-store, trusted hosts, health checks,
and the policy editor's answer to a hostile policy.

The app runs in-process through ``httpx.ASGITransport``, which puts the base URL's scheme
(``https``) into the request scope just as uvicorn does behind a TLS proxy.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, text

from townhall.config import Settings, get_settings
from townhall.db import (
    make_engine,
    read_session_factory,
    schema_head,
    session_factory,
    transaction,
)
from townhall.errors import ConfigError
from townhall.models import Role
from townhall.org.accounts import upsert_user
from townhall.org.policy import Policy
from townhall.org.source import PolicySource
from townhall.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "examples" / "acme" / "policy.yaml"
PASSWORD = "a long and unusual passphrase, 7 words"
ADMIN = "admin.edges@acme.example"
MEMBER = "member.edges@acme.example"
OPERATOR_TOKEN = secrets.token_urlsafe(32)
GOOD_KEY = secrets.token_urlsafe(48)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- files 0600 ----------------------------------------------------------------------------
def test_new_sqlite_database_and_its_wal_files_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "home" / "townhall.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:  # a write: SQLite creates the -wal and -shm files
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT x FROM t")).scalar() == 1
            files = sorted(p.name for p in path.parent.iterdir())
            assert files == ["townhall.db", "townhall.db-shm", "townhall.db-wal"]
            for name in files:
                assert _mode(path.parent / name) == 0o600, name
    finally:
        engine.dispose()
    assert _mode(path.parent) == 0o700


def test_existing_database_with_loose_modes_is_tightened_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "townhall.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").touch()
        os.chmod(f"{path}{suffix}", 0o644)
    with caplog.at_level(logging.WARNING, logger="townhall.config"):
        make_engine(f"sqlite:///{path}").dispose()
    for suffix in ("", "-wal", "-shm"):
        assert _mode(Path(f"{path}{suffix}")) == 0o600, suffix
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 3 and all("mode 0644" in m and "0600" in m for m in warned), warned


def test_generated_secret_key_file_is_born_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modes_when_written: list[int] = []
    real_write = os.write

    def spying_write(fd: int, data: bytes) -> int:
        modes_when_written.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spying_write)
    home = tmp_path / "home"
    key = Settings(home=home).resolved_secret_key()
    monkeypatch.undo()
    path = home / "secret.key"
    assert modes_when_written == [0o600]  # the key never sat in a file others could read
    assert _mode(path) == 0o600 and _mode(home) == 0o700
    assert path.read_text() == key and len(key) >= 48
    assert sorted(p.name for p in home.iterdir()) == ["secret.key"]  # no temporary file left
    assert Settings(home=home).resolved_secret_key() == key  # kept, not made again


def test_existing_key_file_is_kept_and_tightened_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "secret.key"
    path.write_text(GOOD_KEY + "\n")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="townhall.config"):
        assert Settings(home=tmp_path).resolved_secret_key() == GOOD_KEY
    assert _mode(path) == 0o600
    assert any(
        "secret.key was readable by others (mode 0644)" in r.getMessage() for r in caplog.records
    )


def test_weak_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("short")
    with pytest.raises(ConfigError, match=r"secret\.key: the secret key is too short"):
        Settings(home=tmp_path).resolved_secret_key()


# -- weak keys -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("k", "is too short (1 character;"),
        ("test-secret-key", "is too short (15 characters;"),
        ("a" * 64, "has too little variety (1 different character;"),
        ("abcabcabcabcabcabcabcabcabcabcabcabc", "has too little variety (3 different characters;"),
        ("0123456" * 10, "has too little variety (7 different characters;"),
    ],
)
def test_weak_secret_key_is_refused_with_advice(key: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(secret_key=key)
    message = caught.value.message
    assert message.startswith(f"TOWNHALL_SECRET_KEY {why}"), message
    assert "secrets.token_urlsafe(48)" in message
    assert key not in message or len(key) < 3  # the key itself is never echoed


def test_weak_secret_key_from_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOWNHALL_SECRET_KEY", "x")
    with pytest.raises(ConfigError, match="TOWNHALL_SECRET_KEY is too short"):
        Settings()
    monkeypatch.setenv("TOWNHALL_SECRET_KEY", GOOD_KEY)
    assert Settings().resolved_secret_key() == GOOD_KEY


def test_weak_operator_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="TOWNHALL_OPERATOR_TOKEN is too short"):
        Settings(operator_token="letmein")
    assert Settings(operator_token=OPERATOR_TOKEN).operator_token == OPERATOR_TOKEN


def test_trusted_hosts_setting_reads_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().trusted_hosts == ["localhost", "127.0.0.1", "[::1]"]
    monkeypatch.setenv("TOWNHALL_TRUSTED_HOSTS", " Townhall.Example.com, *.acme.example ,::1")
    assert Settings().trusted_hosts == ["townhall.example.com", "*.acme.example", "[::1]"]
    monkeypatch.setenv("TOWNHALL_TRUSTED_HOSTS", "intranet.*.example")
    with pytest.raises(ValueError, match="a wildcard may only start a name"):
        Settings()


def test_process_settings_name_the_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOWNHALL_TRUSTED_HOSTS", "a.*.example")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError) as caught:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert caught.value.message == (
        "TOWNHALL_TRUSTED_HOSTS: 'a.*.example': a wildcard may only start a name, "
        "as in *.example.com"
    )


# -- the web app ---------------------------------------------------------------------------
@dataclass
class App:
    """The app over a fresh database with an admin and a member."""

    app: FastAPI
    engine: Engine
    source: PolicySource

    def client(self, base_url: str = "https://testserver", **kwargs: Any) -> httpx.AsyncClient:
        """An in-process client of the app (not started: no background worker)."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=base_url, **kwargs
        )


def _build(
    make_database_url: Callable[[], str], policy: Policy, home: Path, **settings: Any
) -> Iterator[App]:
    engine = make_engine(make_database_url())
    with transaction(session_factory(engine)) as session:
        for email, role in [(ADMIN, Role.ADMIN), (MEMBER, Role.MEMBER)]:
            upsert_user(
                session,
                email=email,
                name=email.split("@")[0],
                department="customer_service",
                role=role,
                password=PASSWORD,
                now=datetime.now(UTC),
            )
    copy = home / "policy.yaml"
    shutil.copyfile(ACME, copy)
    source = PolicySource(copy, policy)
    options: dict[str, Any] = {
        "home": home,
        "secret_key": GOOD_KEY,
        "cookie_secure": False,
        "queue_interval": 0,
        "listen": False,
        "trusted_hosts": ["testserver", "localhost", "*.acme.example"],
        "operator_token": OPERATOR_TOKEN,
    }
    app = create_app(Settings(**(options | settings)), engine, source)
    yield App(app=app, engine=engine, source=source)
    engine.dispose()


@pytest.fixture
def web(make_database_url: Callable[[], str], acme_policy: Policy, tmp_path: Path) -> Iterator[App]:
    """The app, trusting testserver, localhost and *.acme.example, with an operator token."""
    yield from _build(make_database_url, acme_policy, tmp_path)


@pytest.fixture
async def client(web: App) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app over HTTPS."""
    async with web.client() as http:
        yield http


async def _login(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/login")
    match = _CSRF.search(page.text)
    assert match, "no CSRF field on the login page"
    answer = await client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": match.group(1), "next": "/inbox"},
    )
    assert answer.status_code == 303, answer.text


async def test_hsts_over_https_only(web: App) -> None:
    async with web.client("https://testserver") as https:
        for path in ["/login", "/healthz", "/static/app.css", "/nope"]:
            answer = await https.get(path)
            assert (
                answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
            ), path
    async with web.client("http://testserver") as http:
        answer = await http.get("/login")
        assert answer.status_code == 200
        assert "strict-transport-security" not in answer.headers


async def test_no_store_on_every_dynamic_response_but_not_static(
    client: httpx.AsyncClient,
) -> None:
    await _login(client, MEMBER)
    for path in ["/inbox", "/login", "/healthz", "/nope", "/items/999"]:
        answer = await client.get(path)
        assert answer.headers["cache-control"] == "no-store", (path, answer.status_code)
    static = await client.get("/static/app.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")


async def test_no_store_on_the_500_page_too(web: App) -> None:
    def boom() -> None:
        raise RuntimeError("a bug")

    web.app.add_api_route("/boom", boom)
    transport = httpx.ASGITransport(app=web.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        answer = await http.get("/boom")
    assert answer.status_code == 500
    assert answer.headers["cache-control"] == "no-store"


async def test_untrusted_host_is_a_400_that_says_what_to_do(web: App) -> None:
    async with web.client("https://evil.example") as evil:
        answer = await evil.get("/login")
    assert answer.status_code == 400
    assert "TOWNHALL_TRUSTED_HOSTS" in answer.text and "Host header" in answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    for base in ["https://testserver", "https://localhost:8443", "https://eu.acme.example"]:
        async with web.client(base) as trusted:
            assert (await trusted.get("/healthz")).status_code == 200, base
    # A wildcard matches subdomains, not a name that merely ends alike.
    async with web.client("https://evilacme.example") as lookalike:
        assert (await lookalike.get("/healthz")).status_code == 400


@pytest.fixture
def default_hosts_app(
    make_database_url: Callable[[], str], acme_policy: Policy, tmp_path: Path
) -> Iterator[App]:
    """The app with the default trusted hosts."""
    yield from _build(
        make_database_url, acme_policy, tmp_path, trusted_hosts=Settings().trusted_hosts
    )


@pytest.mark.parametrize(
    ("host", "status"),
    [("127.0.0.1:8000", 200), ("localhost", 200), ("[::1]:8000", 200), ("testserver", 400)],
)
async def test_default_trusted_hosts_are_the_local_ones(
    default_hosts_app: App, host: str, status: int
) -> None:
    async with default_hosts_app.client("http://127.0.0.1:8000") as http:
        answer = await http.get("/healthz", headers={"Host": host})
    assert answer.status_code == status, answer.text


async def test_healthz_says_only_ok(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


async def test_readyz_is_refused_to_anonymous_and_wrong_tokens(client: httpx.AsyncClient) -> None:
    wrong = OPERATOR_TOKEN[:-1] + ("a" if OPERATOR_TOKEN[-1] != "a" else "b")
    for headers in [{}, {"Authorization": f"Bearer {wrong}"}, {"Authorization": OPERATOR_TOKEN}]:
        answer = await client.get("/readyz", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "posts" not in answer.json() and "TOWNHALL_OPERATOR_TOKEN" in answer.json()["detail"]


async def test_readyz_for_the_operator_token(web: App, client: httpx.AsyncClient) -> None:
    answer = await client.get("/readyz", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["posts"] == 0 and body["items"] == 0
    schema = body["schema"]
    assert schema["up_to_date"] is True and schema["current"] == schema["head"]
    assert schema["head"] == schema_head() and schema["head"], schema


async def test_readyz_for_an_admin_but_not_a_member(web: App) -> None:
    async with web.client() as member:
        await _login(member, MEMBER)
        assert (await member.get("/readyz")).status_code == 401
    async with web.client() as admin:
        await _login(admin, ADMIN)
        answer = await admin.get("/readyz")
        assert answer.status_code == 200, answer.text
        assert answer.json()["items"] == 0


async def test_readyz_without_an_operator_token_setting_refuses_every_bearer(
    make_database_url: Callable[[], str], acme_policy: Policy, tmp_path: Path
) -> None:
    for app in _build(make_database_url, acme_policy, tmp_path, operator_token=None):
        async with app.client() as http:
            answer = await http.get("/readyz", headers={"Authorization": "Bearer "})
            assert answer.status_code == 401
            answer = await http.get("/readyz", headers={"Authorization": "Bearer None"})
            assert answer.status_code == 401


async def test_readyz_is_503_when_the_database_does_not_answer(
    web: App, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    # A database in a folder that does not exist: every connection fails.
    dead = create_engine(f"sqlite:///{tmp_path / 'missing' / 'folder' / 'x.db'}")
    state = web.app.state.web
    state.read_sessions = read_session_factory(session_factory(dead))
    try:
        answer = await client.get("/readyz", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
        assert answer.status_code == 503
        assert answer.json() == {
            "status": "unavailable",
            "database": "does not answer (see the server log)",
        }
        assert (await client.get("/healthz")).json() == {"status": "ok"}  # still alive
    finally:
        dead.dispose()


async def test_readyz_is_503_when_the_schema_is_behind(web: App, client: httpx.AsyncClient) -> None:
    with web.engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    answer = await client.get("/readyz", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    assert answer.status_code == 503
    body = answer.json()
    assert body["schema"] == {"current": "0001", "head": head, "up_to_date": False}
    assert "townhall db upgrade" in body["status"]


# -- the policy editor and hostile policies ------------------------------------------------
def _alias_bomb() -> str:
    """Seven levels of ten aliases each: 10^7 values in a few hundred bytes."""
    lines = ["version: 1", "l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 7)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        ("version: 1\nbrand: " + "[" * 5000 + "]" * 5000 + "\n", "policy.yaml:2: the policy nests"),
        (_alias_bomb(), "policy.yaml:6: the policy is too large"),
    ],
    ids=["deep", "alias-bomb"],
)
async def test_policy_editor_shows_a_hostile_policy_as_a_422_problem(
    web: App, policy: str, problem: str
) -> None:
    before = web.source.path.read_text()
    async with web.client() as admin:
        await _login(admin, ADMIN)
        page = await admin.get("/admin/policy")
        assert page.status_code == 200
        match = _CSRF.search(page.text)
        assert match
        answer = await admin.post(
            "/admin/policy", data={"text": policy, "csrf_token": match.group(1)}
        )
    assert answer.status_code == 422
    assert problem in answer.text
    assert web.source.path.read_text() == before
