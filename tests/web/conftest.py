"""Web fixtures: the app on a fresh database with three ACME people, served by uvicorn."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from networks import TOKEN_ENV, mastodon_channel, policy_with
from support import CHROMIUM, TEST_PASSWORD
from townhall.cases.tasks import QueuePass
from townhall.config import Settings
from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.connectors.standin import LocalServer, free_port
from townhall.db import make_engine, session_factory, transaction
from townhall.models import Role
from townhall.org.accounts import upsert_user
from townhall.org.policy import Policy, load_policy
from townhall.org.source import PolicySource
from townhall.pipeline.runner import BatchResult, Pipeline
from townhall.posts import Post
from townhall.routing.rules import router_for
from townhall.web.app import create_app
from townhall.web.server import make_server
from townhall.web.worker import queue_tick

ACME_POLICY = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"
PASSWORD = TEST_PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

PEOPLE = [
    ("sofia.rossi@acme.example", "Sofia Rossi", "customer_service", Role.APPROVER),
    ("dan.murphy@acme.example", "Dan Murphy", "customer_service", Role.MEMBER),
    ("grace.lindqvist@acme.example", "Grace Lindqvist", "pr", "crisis_lead"),
]
"""(e-mail, name, department, role): the roles are those ACME's policy gives them."""


@pytest.fixture(scope="session")
def policy() -> Policy:
    """The ACME demo policy."""
    return load_policy(ACME_POLICY)


@pytest.fixture
def mastodon() -> Iterator[tuple[MastodonStandin, LocalServer]]:
    """The local Mastodon stand-in, served on 127.0.0.1."""
    standin = MastodonStandin(domain="mastodon.example", username="acme", token="t0k3n")
    with LocalServer(standin.app) as server:
        yield standin, server


@pytest.fixture
def live_policy(
    mastodon: tuple[MastodonStandin, LocalServer],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Policy:
    """The ACME policy with its mastodon channel live on the local stand-in (a module that
    publishes uses it as its ``policy``)."""
    monkeypatch.setenv(TOKEN_ENV, "t0k3n")
    folder = tmp_path_factory.mktemp("policy")
    return load_policy(policy_with(folder, mastodon_channel(mastodon[1].url)))


class MovableClock:
    """The app's clock, stopped at a Friday 14:00 UTC (everyone on shift) until moved."""

    def __init__(self, start: datetime = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Jump the app's "now" forward by ``delta``."""
        self.now += delta


@dataclass
class Site:
    """A fresh database with the app over it and a way to feed posts through the pipeline."""

    engine: Engine
    app: FastAPI
    policy: Policy
    source: PolicySource
    clock: MovableClock
    serial: int = 0
    _full: Pipeline | None = None

    def post(self, text: str, *, channel: str = "mastodon", **fields: Any) -> Post:
        """A post on ``channel`` with a unique id."""
        self.serial += 1
        author = {
            "handle": f"@fan{self.serial}@example.social",
            "name": f"Fan {self.serial}",
            "followers": 120 * self.serial,
            "location": "Leeds, UK",
        }
        author.update(fields.pop("author", {}))
        data: dict[str, Any] = {
            "id": f"{channel}:{self.serial}",
            "channel": channel,
            "created_at": datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
            + timedelta(minutes=self.serial),
            "text": text,
            "author": author,
            **fields,
        }
        return Post.model_validate(data)

    @staticmethod
    def csrf_of(html: str) -> str:
        """The CSRF token in a page's first form."""
        match = _CSRF.search(html)
        assert match, "no CSRF field in the page"
        return match.group(1)

    def login(
        self, client: httpx.Client, email: str = PEOPLE[0][0], password: str = PASSWORD
    ) -> httpx.Response:
        """Log in through the form; returns the POST's response."""
        token = self.csrf_of(client.get("/login").text)
        return client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token, "next": "/inbox"},
        )

    def feed_understood(self, posts: list[Post]) -> BatchResult:
        """Run ``posts`` through the whole live pipeline: understand, route, radar."""
        from townhall.radar.replay import Radar
        from townhall.understand.enrich import Understander

        if self._full is None:
            policy = self.source.policy
            self._full = Pipeline(
                session_factory(self.engine),
                policy,
                Understander.from_policy(policy),
                router_for(policy),
                Radar(policy),
            )
        total = BatchResult(0, 0, 0, 0)
        for start in range(0, len(posts), 200):
            total += self._full.process_batch(posts[start : start + 200], self.clock())
        return total

    def work_queues(self) -> QueuePass:
        """One pass of the queue worker at the app's clock, as the server's loop runs it."""
        return queue_tick(self.app.state.web)

    def feed(self, *posts: Post) -> BatchResult:
        """Run ``posts`` through the pipeline (stores them and opens items)."""
        pipeline = Pipeline(session_factory(self.engine), self.source.policy)
        return pipeline.process_batch(list(posts), self.clock())


@pytest.fixture
def site(make_database_url: Callable[[], str], policy: Policy, tmp_path: Path) -> Iterator[Site]:
    """The app over a fresh, migrated database with three ACME people."""
    engine = make_engine(make_database_url())
    now = datetime.now(UTC)
    with transaction(session_factory(engine)) as session:
        for email, name, department, role in PEOPLE:
            upsert_user(
                session,
                email=email,
                name=name,
                department=department,
                role=role,
                password=PASSWORD,
                now=now,
            )
    # No background queue worker: tests run its passes themselves (Site.work_queues).
    settings = Settings(
        home=tmp_path,
        secret_key="test-secret-key-for-the-web-fixtures-0123456789",
        cookie_secure=False,
        queue_interval=0,
    )
    # A copy, so that the admin's policy editor never writes the example file.
    copy = tmp_path / "policy.yaml"
    shutil.copyfile(ACME_POLICY, copy)
    source = PolicySource(copy, policy)
    clock = MovableClock()
    app = create_app(settings, engine, source, clock=clock)
    yield Site(engine=engine, app=app, policy=policy, source=source, clock=clock)
    engine.dispose()


@pytest.fixture
def logged_in(site: Site, client: httpx.Client) -> httpx.Client:
    """The client, logged in as Sofia (customer service)."""
    assert site.login(client).status_code == 303
    return client


@dataclass
class LiveServer:
    """The app served by uvicorn in a background thread."""

    url: str
    server: Any
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> float:
        """Ask the server to exit; returns the seconds it took."""
        start = time.monotonic()
        self.server.should_exit = True
        self.thread.join(timeout)
        return time.monotonic() - start


@pytest.fixture
def live_server(site: Site) -> Iterator[LiveServer]:
    """uvicorn on 127.0.0.1 and a free port, ready when ``/healthz`` answers."""
    port = free_port()
    server = make_server(site.app, host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise
        time.sleep(0.05)
    live = LiveServer(url=url, server=server, thread=thread)
    yield live
    live.stop()
    assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client of the live server that follows no redirects by itself.

    A real server rather than Starlette's TestClient: it exercises uvicorn, streams and
    shutdown exactly as deployed (and TestClient warns without the httpx2 package).
    """
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=10) as http:
        yield http


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, so fixtures can tell a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# -- Debian Chromium through Playwright (the browser tests) -------------------------------
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api")
    # Live rows arrive on a one-second poll; give a loaded 2-core CI machine room (15 s, not 5 s).
    sync_api.expect.set_options(timeout=15_000)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(
    browser: Any,
    live_server: Any,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    """A page on the live server; saves a screenshot when the test fails."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        folder = tmp_path_factory.mktemp("browser-failures")
        tab.screenshot(path=str(folder / f"{request.node.name}.png"), full_page=True)
        print(f"screenshot of the failure: {folder}")
    context.close()
