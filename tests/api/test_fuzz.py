"""Property-based tests of the whole API with schemathesis, against its served OpenAPI
document, through the ASGI app: whatever is generated, no answer is a 500 and every answer
conforms to the document (status, content type, body)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks as generic
from schemathesis.specs.openapi import checks as openapi
from sqlalchemy import select

from api.conftest import ADMIN
from townhall.cases import crisis
from townhall.config import Settings
from townhall.db import session_factory, transaction
from townhall.models import User
from townhall.org.accounts import upsert_user
from townhall.org.permissions import Action
from townhall.publishing import drafts
from townhall.web.api import tokens
from townhall.web.api.auth import RateLimiter
from townhall.web.app import create_app
from web.conftest import PASSWORD, Site

CHECKS = [
    generic.not_a_server_error,
    openapi.status_code_conformance,
    openapi.content_type_conformance,
    openapi.response_schema_conformance,
]

TOKEN: dict[str, str] = {}


@pytest.fixture
def api_schema(site: Site, tmp_path: Path) -> Any:
    """The served document of an app with items, a crisis room, a draft and an admin."""
    site.feed(*(site.post(f"Question {n}: where is my order?") for n in range(3)))
    site.feed(site.post("A journalist asks about smoke", channel="rss"))
    with transaction(session_factory(site.engine)) as session:
        admin = upsert_user(
            session,
            email=ADMIN,
            name="Jonas Weber",
            department="it",
            role="admin",
            password=PASSWORD,
            now=datetime.now(UTC),
        )
        crisis.open_room(
            session,
            site.policy,
            story="rss:4",
            topic="product:airfry",
            title="Smoke",
            now=site.clock(),
            by="system",
        )
        dan = session.scalar(select(User).where(User.email == "dan.murphy@acme.example"))
        assert dan is not None
        drafts.write_reply(
            session,
            site.policy,
            1,
            drafts.OutboxKind.REPLY,
            "We are on it.",
            actor=dan,
            now=site.clock(),
        )
        made = tokens.create_token(
            session,
            admin,
            name="fuzz",
            scopes=[a.value for a in Action],
            days=30,
            now=site.clock(),
            by="test",
        )
        TOKEN["value"] = made.secret
    # The same database and policy, answering schemathesis's ASGI client's host name.
    settings = Settings(
        home=tmp_path,
        secret_key="test-secret-key-for-the-api-fuzz-0123456789",
        cookie_secure=False,
        queue_interval=0,
        listen=False,
        trusted_hosts=["testserver"],
    )
    app = create_app(settings, site.engine, site.source, clock=site.clock)
    app.state.api_limiter = RateLimiter(limit=1_000_000)
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


MAX_EXAMPLES = 30
"""Generated requests per operation (the whole fuzz stays well under 90 s)."""


def _fuzz(operation: Any, headers: dict[str, str], codes: set[int]) -> None:
    """Run ``MAX_EXAMPLES`` generated requests of one operation; ``codes`` gets the statuses."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def one_operation(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        codes.add(response.status_code)

    one_operation()


def test_no_input_breaks_the_api(api_schema: Any) -> None:
    headers = {"Authorization": f"Bearer {TOKEN['value']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    seen: dict[str, set[int]] = defaultdict(set)
    assert len(operations) >= 17
    for operation in operations:
        _fuzz(operation, headers, seen[operation.label])
    # The generated requests reached the handlers: answers, not only refusals.
    succeeded = sorted(label for label, codes in seen.items() if any(c < 300 for c in codes))
    assert len(succeeded) >= 8, seen
