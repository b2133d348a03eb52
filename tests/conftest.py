"""Shared fixtures: a migrated database, rolled-back sessions, post factories.

The database is SQLite, or PostgreSQL when ``TOWNHALL_TEST_DATABASE_URL`` is set (``make test``).

The PostgreSQL run repeats only the tests that use the run's database, the ones that ask for
one of ``DATABASE_FIXTURES`` (directly or through another fixture): a test that never touches
it would run the same code twice. ``TOWNHALL_TEST_EVERYTHING=1`` runs them all anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from townhall.db import make_engine, migrate

if TYPE_CHECKING:
    from townhall.org.policy import Policy
    from townhall.posts import Post

# Hypothesis's per-example deadline is a timing assertion: on a shared 2-core CI machine it
# fails tests for being slow, not wrong. Speed is measured by the benchmarks instead.
settings.register_profile("townhall", deadline=None)
settings.load_profile("townhall")

ROOT = Path(__file__).resolve().parents[1]
ACME_POLICY = ROOT / "examples" / "acme" / "policy.yaml"


def _test_database_url() -> str | None:
    import os

    return os.environ.get("TOWNHALL_TEST_DATABASE_URL") or None


DATABASE_FIXTURES = frozenset({"backend", "make_database_url", "engine", "session"})
"""Fixtures through which a test uses the run's database (every database fixture needs one)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import os

    url = _test_database_url()
    if not url or not url.startswith("postgresql") or os.environ.get("TOWNHALL_TEST_EVERYTHING"):
        return
    keep: list[pytest.Item] = []
    other: list[pytest.Item] = []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        (keep if names & DATABASE_FIXTURES else other).append(item)
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = keep


@pytest.fixture(scope="session")
def backend() -> str:
    """``sqlite`` or ``postgresql``: the backend this test run uses."""
    url = _test_database_url()
    return "postgresql" if url and url.startswith("postgresql") else "sqlite"


@pytest.fixture(scope="session")
def make_database_url(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[], str]]:
    """A factory of fresh, migrated, empty databases on the run's backend; dropped at the end.

    The migrations run once, into a template; each fresh database is a copy of it (a file copy
    on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL): the same schema, 4-10x sooner.
    """
    import shutil

    base = _test_database_url()
    created: list[str] = []
    template: list[str] = []

    def admin() -> Engine:
        assert base is not None
        return create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")

    def migrated(url: str) -> str:
        engine = make_engine(url)
        migrate(engine)
        # Hold no connection for the rest of the run: every test database would otherwise
        # keep one open, and PostgreSQL allows only ~100 (max_connections). A template must
        # have none at all to be copied.
        engine.dispose()
        return url

    def fresh() -> str:
        if base is None:
            if not template:
                template.append(
                    migrated(f"sqlite:///{tmp_path_factory.mktemp('template') / 'townhall.db'}")
                )
            source = Path(make_url(template[0]).database or "")
            target = tmp_path_factory.mktemp("db") / "townhall.db"
            shutil.copyfile(source, target)
            return f"sqlite:///{target}"
        if not template:
            template.append(migrated(create(f"townhall_tpl_{uuid.uuid4().hex[:12]}")))
        return create(f"townhall_t_{uuid.uuid4().hex[:12]}", like=template[0])

    def create(name: str, like: str | None = None) -> str:
        """A new PostgreSQL database (a copy of the database ``like``), dropped at the end."""
        assert base is not None
        engine = admin()
        with engine.connect() as conn:
            copy = f' TEMPLATE "{make_url(like).database}"' if like else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        engine.dispose()
        created.append(name)
        return make_url(base).set(database=name).render_as_string(hide_password=False)

    yield fresh
    if base is not None and created:
        engine = admin()
        with engine.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def engine(make_database_url: Callable[[], str]) -> Iterator[Engine]:
    """One migrated database shared by the run; tests isolate through ``session``."""
    eng = make_engine(make_database_url())
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test.

    Code under test may call ``commit()``: it releases a savepoint, not the outer transaction.
    """
    with engine.connect() as conn:
        outer = conn.begin()
        with Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as sess:
            yield sess
        outer.rollback()


@pytest.fixture
def now() -> datetime:
    """A fixed 'now' for code that takes the clock as an argument."""
    return datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


PostFactory = Callable[..., "Post"]


@pytest.fixture
def make_post() -> PostFactory:
    """Build valid ``Post`` objects: ``make_post(n)`` varies id and text, keywords override."""
    from townhall.posts import Post

    def build(n: int = 1, **overrides: object) -> Post:
        data: dict[str, object] = {
            "id": f"mastodon:{100000 + n}",
            "channel": "mastodon",
            "created_at": f"2026-11-20T14:{n % 60:02d}:00Z",
            "text": f"My ACME KettleOne stopped working after {n} days, any advice?",
            "author": {
                "handle": f"@user{n}@example.social",
                "name": f"User {n}",
                "followers": 100 + n,
                "location": "Leeds, UK",
            },
        }
        data.update(overrides)
        return Post.model_validate(data)

    return build


@pytest.fixture(scope="session")
def acme_policy() -> Policy:
    """The demo company's policy, as shipped in examples/acme."""
    from townhall.org.loader import load_policy

    return load_policy(ACME_POLICY)
