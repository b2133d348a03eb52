"""The admins' Dead letters page: what failed, why, and replaying it from the browser."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from townhall.db import session_factory, transaction
from townhall.models import DeadLetter, PostRecord
from townhall.org.accounts import upsert_user
from web.conftest import PASSWORD, Site

ADMIN = "jonas.weber@acme.example"
HOSTILE = "<script>alert(1)</script> my AirFry 5 is broken"


def _admin(site: Site) -> None:
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


def _dead(site: Site, post_id: str, post: dict[str, object], error: str) -> int:
    with transaction(session_factory(site.engine)) as session:
        row = DeadLetter(
            source="mastodon",
            post_id=post_id,
            post=post,
            error=error,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        session.flush()
        return row.id


def test_admins_see_dead_letters_escaped_and_replay_them(site: Site, client: httpx.Client) -> None:
    _admin(site)
    good = site.post(HOSTILE)
    good_id = _dead(site, good.id, good.to_json(), "OperationalError: disk I/O error")
    bad_id = _dead(site, "mastodon:broken", {"id": "mastodon:broken"}, "KeyError: 'text'")
    assert site.login(client, ADMIN).status_code == 303

    page = client.get("/admin/dead-letters")
    assert page.status_code == 200
    assert "2 waiting" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "OperationalError: disk I/O error" in page.text

    token = site.csrf_of(page.text)
    done = client.post(  # the first replay loads the models the pipeline understands with
        "/admin/dead-letters/replay",
        data={"csrf_token": token, "dead_letter": str(good_id)},
        timeout=120,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/dead-letters?replayed=1&failed=0"
    with session_factory(site.engine)() as session:
        assert session.scalar(select(func.count()).where(PostRecord.post_id == good.id)) == 1
        assert session.get(DeadLetter, good_id).replayed_at is not None
        assert session.get(DeadLetter, bad_id).replayed_at is None

    after = client.get(done.headers["location"])
    assert "1 went through" in after.text
    assert "1 waiting" in after.text
    failed = client.post("/admin/dead-letters/replay", data={"csrf_token": token}, timeout=60)
    assert failed.headers["location"] == "/admin/dead-letters?replayed=0&failed=1"


def test_members_may_not_see_dead_letters(site: Site, client: httpx.Client) -> None:
    assert site.login(client).status_code == 303  # Sofia, a team lead of customer service
    assert client.get("/admin/dead-letters").status_code == 403
    page = client.get("/inbox")
    assert "/admin/dead-letters" not in page.text
