"""The plans and planned-entry pages: PR builds a plan step by step, a crisis room starts one
from its holding statement, the e-mail team plans a send from a calendar slot; hostile titles
are escaped, times read and shown in the viewer's zone, and others are refused (403)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from townhall.cases import crisis
from townhall.db import session_factory, transaction
from townhall.models import OutboxPost, PlannedEntry, PlanStep, Role
from townhall.org.accounts import upsert_user
from web.conftest import PASSWORD, Site

GRACE = "grace.lindqvist@acme.example"  # PR, crisis lead
CHLOE = "chloe.martin@acme.example"  # e-mail marketing, member
EVIL = '<img src=x onerror="alert(1)">'
ESCAPED = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"


@pytest.fixture
def team(site: Site) -> Site:
    """Chloe of the e-mail team has a login too."""
    with transaction(session_factory(site.engine)) as session:
        upsert_user(session, email=CHLOE, name="Chloe Martin", department="email",
                    role=Role.MEMBER, password=PASSWORD, now=site.clock())  # fmt: skip
    return site


def _post(client: httpx.Client, site: Site, path: str, **data: str) -> httpx.Response:
    token = site.csrf_of(client.get("/plans").text)
    return client.post(path, data={**data, "csrf_token": token})


def _as(site: Site, client: httpx.Client, email: str) -> httpx.Client:
    assert site.login(client, email).status_code == 303
    return client


def _rows(site: Site, model: Any) -> list[Any]:
    with session_factory(site.engine)() as session:
        return list(session.scalars(select(model).order_by(model.id)))


def test_pr_builds_a_plan_and_writes_its_first_draft(team: Site, client: httpx.Client) -> None:
    _as(team, client, GRACE)
    made = _post(client, team, "/plans", name=f"Launch {EVIL}", purpose="launch")
    assert made.status_code == 303
    plan_url = made.headers["location"]
    step = _post(
        client, team, f"{plan_url}/steps", title=f"Press release {EVIL}", due="2026-11-25T09:00",
        channel="mastodon", text="The ACME AirFry 5 is here.", statement="true",
    )  # fmt: skip
    assert step.status_code == 303
    (row,) = _rows(team, PlanStep)
    assert step.headers["location"] == f"{plan_url}#step-{row.id}"
    # Typed in Grace's zone (Europe/London, UTC+0 in November).
    assert row.due_at == datetime.fromisoformat("2026-11-25T09:00:00+00:00")
    _post(client, team, f"{plan_url}/steps", title="Press conference", due="2026-11-25T11:00")
    page = client.get(plan_url).text
    assert EVIL not in page and f"Launch {ESCAPED}" in page and f"Press release {ESCAPED}" in page
    assert f'id="step-{row.id}"' in page and "Wed 25 Nov 2026 09:00" in page
    assert "Europe/London" in page and "not written" in page
    listing = client.get("/plans").text
    assert EVIL not in listing and "0/2" in listing and "Wed 25 Nov 2026 09:00" in listing

    moved = _post(client, team, f"{plan_url}/steps/{row.id}/move", direction="down")
    assert moved.status_code == 303
    assert [s.title for s in sorted(_rows(team, PlanStep), key=lambda s: s.position)] == [
        "Press conference", f"Press release {EVIL}",
    ]  # fmt: skip
    written = _post(client, team, f"{plan_url}/steps/{row.id}/write")
    assert written.status_code == 303
    (draft,) = _rows(team, OutboxPost)
    assert (draft.chain, draft.statement) == ("statements", True)
    page = client.get(plan_url).text
    assert f'<a href="/drafts/{draft.id}">waiting for approval</a>' in page
    again = _post(client, team, f"{plan_url}/steps/{row.id}/write")
    assert again.status_code == 409


def test_others_see_a_plan_but_do_not_edit_it(team: Site, client: httpx.Client) -> None:
    _as(team, client, GRACE)
    plan_url = _post(client, team, "/plans", name="Recall", purpose="recall").headers["location"]
    client.cookies.clear()
    _as(team, client, "sofia.rossi@acme.example")  # customer service
    page = client.get(plan_url)
    assert page.status_code == 200 and 'id="add-step"' not in page.text
    refused = _post(client, team, f"{plan_url}/steps", title="Mine", due="2026-11-25T09:00")
    assert refused.status_code == 403 and "Public relations" in refused.text
    # Sofia may start a plan of her own department, not one led by PR.
    assert _post(client, team, "/plans", name="X", purpose="other").status_code == 403
    ours = _post(client, team, "/plans", name="Returns week", purpose="other",
                 department="customer_service")  # fmt: skip
    assert ours.status_code == 303
    bad = _post(client, team, f"{ours.headers['location']}/steps", title="A", due="soon")
    assert bad.status_code == 422 and "due" in bad.text


def test_a_crisis_room_starts_a_plan_from_its_holding_statement(
    team: Site, client: httpx.Client
) -> None:
    with transaction(session_factory(team.engine)) as session:
        room = crisis.open_room(
            session, team.policy, story="bluesky:9", topic="product:airfry_5",
            title="Melted basket", now=team.clock(), by="radar",
        )  # fmt: skip
        room.holding_statement = f"We are looking into it. {EVIL}"
        room_id = room.id
    _as(team, client, "sofia.rossi@acme.example")
    assert 'id="plan-from-crisis"' not in client.get(f"/crises/{room_id}").text
    assert _post(client, team, f"/plans/from-crisis/{room_id}").status_code == 403
    client.cookies.clear()
    _as(team, client, GRACE)
    assert 'id="plan-from-crisis"' in client.get(f"/crises/{room_id}").text
    made = _post(client, team, f"/plans/from-crisis/{room_id}")
    assert made.status_code == 303
    page = client.get(made.headers["location"]).text
    assert EVIL not in page and f"We are looking into it. {ESCAPED}" in page
    assert "Holding statement" in page and "Close-out statement" in page
    assert f'href="/crises/{room_id}"' in page


def test_the_email_team_plans_a_send_from_a_calendar_slot(team: Site, client: httpx.Client) -> None:
    _as(team, client, CHLOE)
    form = client.get("/planned/new?at=2026-12-10T08:00")
    assert form.status_code == 200 and 'value="2026-12-10T08:00"' in form.text
    assert client.get("/planned/new?at=tomorrow").status_code == 422
    made = _post(
        client, team, "/planned", kind="email", title=f"December newsletter {EVIL}",
        start="2026-12-10T08:00", category="newsletter", notes=EVIL,
    )  # fmt: skip
    assert made.status_code == 303
    (entry,) = _rows(team, PlannedEntry)
    assert (entry.department, entry.category) == ("email", "newsletter")
    assert entry.starts_at == datetime.fromisoformat("2026-12-10T08:00:00+00:00")
    page = client.get(made.headers["location"]).text
    assert EVIL not in page and f"December newsletter {ESCAPED}" in page
    assert "Thu 10 Dec 2026 08:00" in page and "Newsletter" in page
    client.cookies.clear()
    _as(team, client, "dan.murphy@acme.example")
    assert _post(client, team, f"/planned/{entry.id}/cancel").status_code == 403
    assert 'id="edit-planned"' not in client.get(f"/planned/{entry.id}").text
    client.cookies.clear()
    _as(team, client, CHLOE)
    assert _post(client, team, f"/planned/{entry.id}/cancel").status_code == 303
    assert "cancelled" in client.get(f"/planned/{entry.id}").text
    assert _rows(team, PlannedEntry)[0].cancelled_at is not None


def test_a_step_is_edited_then_marked_done_and_a_plan_cancelled(
    team: Site, client: httpx.Client
) -> None:
    _as(team, client, GRACE)
    plan_url = _post(client, team, "/plans", name="Recall", purpose="recall").headers["location"]
    _post(client, team, f"{plan_url}/steps", title="Press call", due="2026-11-24T10:00")
    (step,) = _rows(team, PlanStep)
    edited = _post(
        client, team, f"{plan_url}/steps/{step.id}", title="Press conference",
        due="2026-11-24T15:30", owner="grace.lindqvist@acme.example",
    )  # fmt: skip
    assert edited.status_code == 303
    (step,) = _rows(team, PlanStep)
    assert (step.title, step.statement, step.owner_id is not None) == (
        "Press conference",
        False,
        True,
    )
    assert step.due_at == datetime.fromisoformat("2026-11-24T15:30:00+00:00")
    page = client.get(plan_url).text
    assert "Write the draft" not in page.split(f'id="step-{step.id}"')[1]  # said off Townhall
    assert _post(client, team, f"{plan_url}/steps/{step.id}/done").status_code == 303
    page = client.get(plan_url).text
    assert "1/1 steps done" in page and "· done ·" in page
    assert _post(client, team, f"{plan_url}/steps/{step.id}/done").status_code == 409
    other = _post(client, team, "/plans", name="Other", purpose="other").headers["location"]
    assert _post(client, team, f"{other}/cancel").status_code == 303
    assert 'id="add-step"' not in client.get(other).text
    assert (
        _post(client, team, f"{other}/steps", title="A", due="2026-11-24T10:00").status_code == 409
    )
