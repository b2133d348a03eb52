"""Web latency under load: the inbox, an item and the teams page over 100,000 posts.

Generates N posts (default 100,000) on four channels through the pipeline's bulk insert path,
then spreads the items over departments, statuses, owners and SLA breaches. Serves the app
with uvicorn on 127.0.0.1 in a process of its own, logs in 8 clients and sends each page a
bounded number of requests (default 400), first on a quiet database, then while another
process ingests new posts (``Pipeline.process_batch``, 500 per batch). Prints, per page,
p50/p95/p99 of the client's latency and of the server's time (a ``Server-Timing`` header
the bench adds), the errors, and p95 as a ratio to a baseline page that runs ``SELECT 1``
through the same login and session machinery.

Run: `.venv/bin/python bench/web.py [N] [REQUESTS_PER_PAGE] [--processes P] [--backend B]`
(``--processes 2``: two web processes on the port, as ``townhall serve --workers 2``).
PostgreSQL too: start one with `bash scripts/services.sh start /tmp/pg-bench`, then set
``TOWNHALL_BENCH_POSTGRES_URL`` to the ``TOWNHALL_TEST_POSTGRES_URL`` it prints (a scratch
database is created in that server and dropped afterwards); stop it with
`bash scripts/services.sh stop /tmp/pg-bench`.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, case, create_engine, func, select, text, update
from sqlalchemy.engine import make_url

from townhall.connectors.standin import free_port
from townhall.db import make_engine, migrate, refresh_statistics, session_factory, transaction
from townhall.models import AuditEvent, Item, ItemStatus, Note, PostRecord, Role, SlaBreach, User
from townhall.org.accounts import upsert_user
from townhall.org.policy import load_policy
from townhall.pipeline.runner import Pipeline
from townhall.posts import Post
from townhall.web.auth import CurrentUser, DbSession

ROOT = Path(__file__).resolve().parents[1]
ACME_POLICY = ROOT / "examples" / "acme" / "policy.yaml"
PASSWORD = "bench horse battery"
CLIENTS = 8
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
"""The app's clock in the bench (posts are spread over the 30 days before)."""

CHANNELS = ("mastodon", "bluesky", "forum", "rss")
DEPARTMENTS = (
    ("customer_service", 40),
    ("pr", 10),
    ("marketing", 12),
    ("it", 10),
    ("sales", 8),
    ("back_office", 6),
    ("search", 4),
    ("email", 5),
    ("hr", 5),
)
"""Where items end up, with weights (percent)."""

PEOPLE = [
    ("sofia.rossi@acme.example", "Sofia Rossi", "customer_service", Role.APPROVER),
    ("dan.murphy@acme.example", "Dan Murphy", "customer_service", Role.MEMBER),
    ("ana.silva@acme.example", "Ana Silva", "customer_service", Role.MEMBER),
    ("li.wei@acme.example", "Li Wei", "customer_service", Role.MEMBER),
    ("grace.lindqvist@acme.example", "Grace Lindqvist", "pr", Role.APPROVER),
    ("omar.haddad@acme.example", "Omar Haddad", "pr", Role.MEMBER),
    ("maya.patel@acme.example", "Maya Patel", "marketing", Role.APPROVER),
    ("jonas.weber@acme.example", "Jonas Weber", "it", Role.APPROVER),
    ("eva.novak@acme.example", "Eva Novak", "sales", Role.MEMBER),
    ("tom.baker@acme.example", "Tom Baker", "back_office", Role.MEMBER),
    ("ines.garcia@acme.example", "Ines Garcia", "hr", Role.MEMBER),
    ("kofi.mensah@acme.example", "Kofi Mensah", "email", Role.MEMBER),
]

TEXTS = (
    "My ACME KettleOne stopped working after {n} days, any advice?",
    "Can't log in to the ACME website since yesterday (order {n})",
    "Where is my ACME invoice for order {n}? I need the VAT receipt",
    "Love my new ACME Blender Pro, smoothie #{n} was perfect",
    "How do I unsubscribe from the ACME newsletter? Tried {n} times",
    "ACME AirFry 5 basket cracked after {n} uses. Not happy.",
    "Is the ACME SmartScale app down? Sync fails with error {n}",
    "We'd like to stock ACME kettles in our {n} shops, who do I talk to?",
)
INTENTS = ("complaint", "question", "praise", "purchase_intent", "outage", "other")
SENTIMENTS = ("negative", "neutral", "positive")


def make_posts(start: int, n: int, *, channel_prefix: str = "") -> list[Post]:
    """``n`` distinct posts from number ``start`` on (every twentieth a plain reshare)."""
    posts = []
    for i in range(start, start + n):
        channel = CHANNELS[i % len(CHANNELS)]
        reshare = i % 20 == 0 and i > 0
        posts.append(
            Post.model_validate(
                {
                    "id": f"{channel}:{channel_prefix}{i}",
                    "channel": channel,
                    "created_at": NOW - timedelta(seconds=30 * 86400 * (1 - i / (start + n))),
                    "text": "" if reshare else TEXTS[i % len(TEXTS)].format(n=i),
                    "author": {
                        "handle": f"@user{i % 7000}@example.social",
                        "name": f"User {i % 7000}",
                        "followers": (i * 37) % 20000,
                        "location": "Leeds, UK",
                    },
                    "reshare_of": f"{channel}:{channel_prefix}{i - 1}" if reshare else None,
                    "reply_to": f"{channel}:{channel_prefix}{i - 7}" if i % 13 == 0 else None,
                }
            )
        )
    return posts


def populate(engine: Engine, n: int) -> dict[str, float]:
    """Store ``n`` posts and their items, then give the items a realistic life; seconds taken."""
    timings: dict[str, float] = {}
    with transaction(session_factory(engine)) as session:
        for email, name, department, role in PEOPLE:
            upsert_user(
                session,
                email=email,
                name=name,
                department=department,
                role=role,
                password=PASSWORD,
                now=NOW,
            )
    pipeline = Pipeline(session_factory(engine), load_policy(ACME_POLICY))
    t0 = time.perf_counter()
    for start in range(0, n, 2000):
        pipeline.process_batch(make_posts(start, min(2000, n - start)), NOW - timedelta(days=1))
    timings["ingest"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    with transaction(session_factory(engine)) as session:
        users = {
            dep: [u.id for u in session.scalars(select(User).where(User.department == dep))]
            for dep, _ in DEPARTMENTS
        }
        # Departments by weight; statuses: 70% done, 12% in progress, 18% new (the newest
        # items are the ones still open, as in a real queue).
        bucket = Item.id % 100
        whens, low = [], 0
        for dep, weight in DEPARTMENTS:
            whens.append((bucket < low + weight, dep))
            low += weight
        session.execute(update(Item).values(department=case(*whens, else_="customer_service")))
        top = int(session.scalar(select(func.max(Item.id))) or 0)
        recent = top - int(top * 0.3)
        session.execute(
            update(Item)
            .where(Item.id <= recent)
            .values(status=ItemStatus.DONE, resolved_at=NOW - timedelta(days=2))
        )
        session.execute(
            update(Item)
            .where(Item.id > recent, Item.id % 5 < 2)
            .values(status=ItemStatus.IN_PROGRESS, first_responded_at=NOW - timedelta(hours=3))
        )
        for dep, ids in users.items():
            for k, user_id in enumerate(ids):
                session.execute(
                    update(Item)
                    .where(
                        Item.department == dep,
                        Item.status != ItemStatus.NEW,
                        Item.id % len(ids) == k,
                    )
                    .values(assignee_id=user_id, assigned_by="auto")
                )
        session.execute(
            update(Item)
            .where(Item.id > recent, Item.id % 17 == 0)
            .values(first_response_breached_at=NOW - timedelta(hours=1))
        )
        session.execute(
            update(PostRecord).values(
                intent=case(
                    *[(PostRecord.id % len(INTENTS) == k, v) for k, v in enumerate(INTENTS)]
                ),
                sentiment_label=case(
                    *[(PostRecord.id % 3 == k, v) for k, v in enumerate(SENTIMENTS)]
                ),
            )
        )
        breached = session.execute(
            select(Item.id, Item.department).where(Item.first_response_breached_at.is_not(None))
        ).all()
        session.execute(
            SlaBreach.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "item_id": item_id,
                    "department": dep,
                    "clock": "first_response",
                    "due_at": NOW - timedelta(hours=2),
                    "breached_at": NOW - timedelta(hours=1),
                }
                for item_id, dep in breached
            ],
        )
        author = users["customer_service"][0]
        session.execute(
            Note.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "item_id": i,
                    "author_id": author,
                    "text": f"Called back ({i}).",
                    "created_at": NOW,
                }
                for i in range(1, top + 1, 9)
            ],
        )
        session.execute(
            AuditEvent.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "at": NOW,
                    "actor": "sofia.rossi@acme.example",
                    "action": "item.status",
                    "subject_type": "item",
                    "subject_id": str(i),
                    "why": "done",
                    "details": {},
                }
                for i in range(1, recent + 1, 3)
            ],
        )
    if engine.dialect.name == "postgresql":  # what autovacuum would have done by now
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    timings["shape"] = time.perf_counter() - t0
    return timings


# -- the server (a process of its own, so that clients do not share its GIL) -------------


def _select1(session: DbSession, user: CurrentUser) -> str:
    """The baseline page: login and session machinery, then ``SELECT 1``."""
    return f"<p>{session.scalar(text('SELECT 1'))} {user.name}</p>"


def _serve(url: str, port: int, ready: Any) -> None:
    import uvicorn
    from fastapi.responses import HTMLResponse
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from townhall.config import Settings
    from townhall.org.source import PolicySource
    from townhall.web.app import create_app

    class ServerTiming:
        """Adds ``Server-Timing: app;dur=<ms>``: the time from request to response start."""

        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            start = time.perf_counter()

            async def timed(message: Message) -> None:
                if message["type"] == "http.response.start":
                    ms = (time.perf_counter() - start) * 1000
                    headers = list(message.get("headers", []))
                    headers.append((b"server-timing", f"app;dur={ms:.2f}".encode()))
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, timed)

    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            home=Path(home),
            secret_key="bench-secret-key-long-enough-for-townhall-0123456789",
            cookie_secure=False,
            queue_interval=0,
            listen=False,
        )
        engine = make_engine(url)
        app = create_app(settings, engine, PolicySource(ACME_POLICY), clock=lambda: NOW)

        app.add_api_route("/bench/select1", _select1, response_class=HTMLResponse)
        app.add_middleware(ServerTiming)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
        server = uvicorn.Server(config)
        # SO_REUSEPORT: every web process binds the port itself and the kernel spreads the
        # connections over them, as it does over `townhall serve --workers N`'s shared socket.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        ready.set()
        server.run(sockets=[sock])
        engine.dispose()


def _ingest(url: str, stop: Any, done: Any, first: int) -> None:
    """Feed new posts in batches of 500 until ``stop`` (at most 200 batches)."""
    engine = make_engine(url)
    pipeline = Pipeline(session_factory(engine), load_policy(ACME_POLICY))
    batches = 0
    while not stop.is_set() and batches < 200:
        pipeline.process_batch(make_posts(first + batches * 500, 500, channel_prefix="new"), NOW)
        batches += 1
    done.value = batches
    engine.dispose()


# -- the clients ---------------------------------------------------------------------------


@dataclass
class Samples:
    """Latencies (ms) of one page."""

    client: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _login(base: str, email: str) -> httpx.Client:
    import re

    http = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    page = http.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    answer = http.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"},
    )
    assert answer.status_code == 303, f"login failed: {answer.status_code}"
    return http


def run_clients(
    base: str, pages: dict[str, Callable[[random.Random], str]], per_page: int
) -> dict[str, Samples]:
    """``per_page`` requests to each page, spread over ``CLIENTS`` logged-in clients."""
    results = {name: Samples() for name in pages}
    lock = threading.Lock()
    # Customer service's four people, two sessions each: every item page asked for is theirs
    # to see (``pages_of``), so an error is an error, not a refusal.
    emails = [p[0] for p in PEOPLE if p[2] == "customer_service"]

    def client(k: int) -> None:
        rng = random.Random(k)
        http = _login(base, emails[k % len(emails)])
        try:
            plan = [name for name in pages for _ in range(per_page // CLIENTS)]
            rng.shuffle(plan)
            for name in plan:
                path = pages[name](rng)
                t0 = time.perf_counter()
                try:
                    answer = http.get(path)
                    took = (time.perf_counter() - t0) * 1000
                    timing = answer.headers.get("server-timing", "app;dur=nan")
                    server_ms = float(timing.split("dur=", 1)[1])
                    error = None if answer.status_code == 200 else str(answer.status_code)
                except httpx.HTTPError as exc:
                    took, server_ms, error = (
                        (time.perf_counter() - t0) * 1000,
                        0.0,
                        type(exc).__name__,
                    )
                with lock:
                    samples = results[name]
                    if error:
                        samples.errors[error] = samples.errors.get(error, 0) + 1
                    else:
                        samples.client.append(took)
                        samples.server.append(server_ms)
        finally:
            http.close()

    failures: list[BaseException] = []

    def guarded(k: int) -> None:
        try:
            client(k)
        except BaseException as exc:  # a client that dies must fail the bench, not vanish
            failures.append(exc)

    threads = [threading.Thread(target=guarded, args=(k,)) for k in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


def report(title: str, results: dict[str, Samples]) -> None:
    """One table: per page, count, errors, client and server p50/p95/p99 (ms), p95 ratio."""
    base = _pct(results["baseline"].server, 0.95)
    print(f"\n{title}")
    print(
        f"{'page':<18}{'ok':>5}{'err':>5}   client p50 / p95 / p99 ms"
        f"    server p50 / p95 / p99 ms   server p95 / baseline"
    )
    for name, s in results.items():
        errors = sum(s.errors.values())
        detail = f"  {s.errors}" if s.errors else ""
        print(
            f"{name:<18}{len(s.client):>5}{errors:>5}"
            f"   {_pct(s.client, 0.5):7.1f} {_pct(s.client, 0.95):7.1f} {_pct(s.client, 0.99):7.1f}"
            f"      {_pct(s.server, 0.5):7.1f} {_pct(s.server, 0.95):7.1f}"
            f" {_pct(s.server, 0.99):7.1f}"
            f"   {_pct(s.server, 0.95) / base:6.1f}x{detail}"
        )


def pages_of(engine: Engine) -> dict[str, Callable[[random.Random], str]]:
    """The requests the clients make: name → a function of a RNG giving a path."""
    with engine.connect() as conn:
        top = int(conn.scalar(select(func.max(Item.id))) or 1)
        owner = int(conn.scalar(select(func.min(User.id))) or 1)
        theirs = list(conn.scalars(select(Item.id).where(Item.department == "customer_service")))
    return {
        "baseline": lambda rng: "/bench/select1",
        "inbox": lambda rng: "/inbox",
        "inbox filtered": lambda rng: rng.choice(
            [
                "/inbox?department=all&status=open&channel=bluesky",
                "/inbox?department=all&status=any&intent=complaint&sentiment=negative",
                "/inbox?owner=me",
                f"/inbox?owner={owner}&status=any",
                "/inbox?owner=none&department=all",
                "/inbox?sla=breached&department=all",
                "/inbox?department=pr&status=done",
                f"/inbox/rows?department=all&status=any&before={rng.randint(2, top)}",
            ]
        ),
        "inbox search": lambda rng: (
            f"/inbox?department=all&status=any&q=order+{rng.randint(1, 99999)}"
        ),
        "item": lambda rng: f"/items/{rng.choice(theirs)}",
        "teams": lambda rng: "/teams",
    }


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A scratch database URL on ``backend``, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    base = os.environ["TOWNHALL_BENCH_POSTGRES_URL"]
    name = f"townhall_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench(backend: str, n: int, per_page: int, processes: int = 1) -> None:
    """Populate, serve, and measure one backend, quiet and during an ingest."""
    ctx = mp.get_context("spawn")
    with database(backend) as url:
        engine = make_engine(url)
        migrate(engine)
        took = populate(engine, n)
        # What the queue loop of `townhall serve` does at start and hourly (SQLite only).
        with transaction(session_factory(engine)) as session:
            refresh_statistics(session)
        pages = pages_of(engine)
        engine.dispose()
        print(
            f"\n== {backend}: {n:,} posts (ingest {took['ingest']:.0f} s, "
            f"shaping {took['shape']:.0f} s), {CLIENTS} clients, {per_page} requests per page, "
            f"{processes} web process{'es' if processes > 1 else ''}"
        )
        port = free_port()
        readies = [ctx.Event() for _ in range(processes)]
        servers = [
            ctx.Process(target=_serve, args=(url, port, ready), daemon=True) for ready in readies
        ]
        for server in servers:
            server.start()
        try:
            base = f"http://127.0.0.1:{port}"
            for ready in readies:
                ready.wait(60)
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.1)
            run_clients(base, pages, CLIENTS * 2)  # warm up: caches, pool, templates
            report("quiet database", run_clients(base, pages, per_page))

            stop, done = ctx.Event(), ctx.Value("i", 0)
            ingest = ctx.Process(target=_ingest, args=(url, stop, done, n))
            ingest.start()
            t0 = time.perf_counter()
            results = run_clients(base, pages, per_page)
            stop.set()
            ingest.join(120)
            seconds = time.perf_counter() - t0
            report(
                f"during an ingest ({done.value * 500:,} posts in {seconds:.0f} s, batches of 500)",
                results,
            )
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.join(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("posts", nargs="?", type=int, default=100_000, help="posts to generate")
    parser.add_argument(
        "requests", nargs="?", type=int, default=400, help="requests per page, in all"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="web processes (townhall serve --workers N)"
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="databases"
    )
    args = parser.parse_args()
    print(f"bench/web.py on {os.cpu_count()} CPUs")
    if args.backend in ("sqlite", "both"):
        bench("sqlite", args.posts, args.requests, args.processes)
    if args.backend == "sqlite":
        return
    if os.environ.get("TOWNHALL_BENCH_POSTGRES_URL"):
        bench("postgresql", args.posts, args.requests, args.processes)
    else:
        print("\n(PostgreSQL skipped: set TOWNHALL_BENCH_POSTGRES_URL, see the docstring)")


if __name__ == "__main__":
    main()
