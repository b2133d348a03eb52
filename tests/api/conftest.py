"""API fixtures: the web fixtures (the app on a fresh database, served by uvicorn) plus an
admin and a way to mint tokens."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

import web.conftest as web_fixtures
from townhall.db import session_factory, transaction
from townhall.models import Item, User
from townhall.org.accounts import upsert_user
from townhall.web.api import tokens
from web.conftest import PASSWORD, PEOPLE, Site

# The web fixtures, for the API's tests too.
client = web_fixtures.client
live_server = web_fixtures.live_server
logged_in = web_fixtures.logged_in
mastodon = web_fixtures.mastodon
policy = web_fixtures.policy
site = web_fixtures.site

ADMIN = "jonas.weber@acme.example"
SOFIA, DAN, GRACE = (p[0] for p in PEOPLE)
"""Sofia: customer-service approver; Dan: customer-service member; Grace: PR approver."""

Mint = Callable[..., str]


@pytest.fixture
def admin(site: Site) -> str:
    """An IT admin login (Jonas)."""
    with transaction(session_factory(site.engine)) as session:
        upsert_user(
            session,
            email=ADMIN,
            name="Jonas Weber",
            department="it",
            role="admin",
            password=PASSWORD,
            now=datetime.now(UTC),
        )
    return ADMIN


@pytest.fixture
def mint(site: Site) -> Mint:
    """``mint(email, scopes, days=90)``: a new token of that person (the secret)."""

    def make(email: str, scopes: Sequence[str] = ("view",), days: int = 90) -> str:
        with transaction(session_factory(site.engine)) as session:
            user = session.scalar(select(User).where(User.email == email))
            assert user is not None
            made = tokens.create_token(
                session,
                user,
                name=f"test {email}",
                scopes=list(scopes),
                days=days,
                now=site.clock(),
                by="test",
            )
            return made.secret

    return make


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of ``token``."""
    return {"Authorization": f"Bearer {token}"}


def item_of(site: Site, post_id: str) -> Item:
    """The item of the stored post ``post_id``."""
    from townhall.models import PostRecord

    with session_factory(site.engine)() as session:
        item = session.scalar(
            select(Item)
            .join(PostRecord, PostRecord.id == Item.post_pk)
            .where(PostRecord.post_id == post_id)
        )
        assert item is not None
        return item


ALL_ACTIONS = ("view", "reply", "note", "assign", "status", "approve", "checklist", "crisis")
