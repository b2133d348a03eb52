"""Admins edit the policy in the browser: same validation, audited, applied without a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from townhall.db import session_factory, transaction
from townhall.models import AuditEvent, Item, Role
from townhall.org.accounts import upsert_user

ADMIN = "jonas.weber@acme.example"


@pytest.fixture
def admin(site: Any, client: httpx.Client) -> httpx.Client:
    """The client, logged in as Jonas (IT, the policy's admin)."""
    with transaction(session_factory(site.engine)) as session:
        upsert_user(
            session,
            email=ADMIN,
            name="Jonas Weber",
            department="it",
            role=Role.ADMIN,
            password="correct horse battery",
            now=datetime.now(UTC),
        )
    assert site.login(client, ADMIN).status_code == 303
    return client


def save(client: httpx.Client, site: Any, text: str) -> httpx.Response:
    token = site.csrf_of(client.get("/admin/policy").text)
    return client.post("/admin/policy", data={"text": text, "csrf_token": token})


def test_only_admins_see_the_editor(site: Any, logged_in: httpx.Client) -> None:
    response = logged_in.get("/admin/policy")
    assert response.status_code == 403
    assert "You may not edit the policy." in response.text
    assert "Who can: Admins." in response.text
    assert 'href="/admin/policy"' not in logged_in.get("/inbox").text


def test_a_bad_policy_is_refused_with_its_lines_and_changes_nothing(
    site: Any, admin: httpx.Client
) -> None:
    before = site.source.path.read_text()
    bad = before.replace("default_owner: customer_service", "default_owner: nobody", 1)
    bad = bad.replace("timezone: Europe/London", "timezone: Mars/Olympus", 1)

    response = save(admin, site, bad)

    assert response.status_code == 422
    assert "Nothing was changed: the policy has 2 problems." in response.text
    assert "policy.yaml:4: timezone: unknown timezone &#39;Mars/Olympus&#39;" in response.text
    assert "channels[0].default_owner: unknown department &#39;nobody&#39;" in response.text
    assert "Mars/Olympus" in response.text.split("<textarea", 1)[1]  # the edit is kept
    assert site.source.path.read_text() == before and site.source.version == 1


def test_a_change_is_audited_and_routes_the_next_items(site: Any, admin: httpx.Client) -> None:
    old = site.source.path.read_text()
    new = old.replace(
        "    default_owner: customer_service\n    description: ACME's official Mastodon",
        "    default_owner: sales\n    description: ACME's official Mastodon",
    )
    assert new != old

    response = save(admin, site, new.replace("\n", "\r\n"))

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/policy?saved=2"
    assert "Saved: version 2 is in force." in admin.get(response.headers["location"]).text
    assert site.source.path.read_text() == new and site.source.policy.default_owner("mastodon") == (
        "sales"
    )
    with session_factory(site.engine)() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "policy.changed")
        ).one()
        assert event.actor == ADMIN
        assert event.why == "Jonas Weber changed the policy (2 lines); it applies from now on"
        assert "-    default_owner: customer_service" in event.details["diff"]
        assert "+    default_owner: sales" in event.details["diff"]

    site.feed(site.post("Kettle leaks"))  # routed by the new policy, no restart
    with session_factory(site.engine)() as session:
        assert session.scalar(select(Item.department)) == "sales"


def test_an_edit_on_disk_is_picked_up_and_a_bad_one_is_shown(
    site: Any, admin: httpx.Client
) -> None:
    path = site.source.path
    path.write_text(
        path.read_text().replace('working_hours: "08:00-18:00"', 'working_hours: "07:00-18:00"', 1)
    )
    site.work_queues()
    assert site.source.version == 2
    assert site.source.policy.department("customer_service").working_hours == "07:00-18:00"

    path.write_text("version: 1\nbrand: [\n")
    site.work_queues()
    assert site.source.version == 2  # the good policy stays in force
    html = admin.get("/admin/policy").text
    assert "The file on disk was changed but does not validate" in html
    assert "policy.yaml:3" in html or "policy.yaml:2" in html
