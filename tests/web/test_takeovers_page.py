"""The Takeovers page: everyone sees who is on which account; marketing and admins add and
cancel shifts, with CSRF, and a bad date is a 422 naming its field."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from townhall.db import session_factory, transaction
from townhall.models import Role, Takeover
from townhall.org.accounts import upsert_user
from townhall.publishing import takeovers
from web.conftest import PASSWORD, Site

MAYA = "maya.patel@acme.example"
EVIL = '<script>alert("x")</script> Novak'
FORM = {
    "person": "sofia.rossi@acme.example",
    "channel": "bluesky",
    "start": "2026-11-23T10:00",
    "end": "2026-11-23T12:30",
}


@pytest.fixture
def rota(site: Site) -> Site:
    """Maya (marketing approver), and a back-office person whose name is markup, on mastodon
    from an hour ago for two hours (the site's clock: Friday 20 Nov 2026, 14:00 UTC)."""
    now = site.clock()
    with transaction(session_factory(site.engine)) as session:
        upsert_user(session, email=MAYA, name="Maya Patel", department="marketing",
                    role=Role.APPROVER, password=PASSWORD, now=now)  # fmt: skip
        evil = upsert_user(session, email="peter.novak@acme.example", name=EVIL,
                           department="back_office", role=Role.MEMBER, password=PASSWORD,
                           now=now)  # fmt: skip
        session.add(
            Takeover(user_id=evil.id, channel="mastodon", starts_at=now - timedelta(hours=1),
                     ends_at=now + timedelta(hours=1), origin="ui", created_at=now)
        )  # fmt: skip
    return site


def _shifts(site: Site) -> list[Takeover]:
    with session_factory(site.engine)() as session:
        return list(session.scalars(select(Takeover).order_by(Takeover.id)))


def test_everyone_sees_who_is_on_which_account_escaped(rota: Site, logged_in) -> None:
    page = logged_in.get("/takeovers")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Novak" in page.text
    now_table = page.text.split('id="takeovers-now"')[1].split("</table>")[0]
    assert "mastodon" in now_table and "13:00–15:00" in now_table and "on now" in now_table
    # Sofia (customer service) sees the rota but not the editing form.
    assert 'id="add-shift"' not in page.text and "/cancel" not in page.text


def _as_maya(site: Site, client: httpx.Client) -> str:
    assert site.login(client, MAYA).status_code == 303
    page = client.get("/takeovers")
    assert 'id="add-shift"' in page.text
    return site.csrf_of(page.text)


def test_marketing_adds_a_shift_in_the_policys_time_zone(rota: Site, client) -> None:
    token = _as_maya(rota, client)
    form = {**FORM, "csrf_token": token}
    assert client.post("/takeovers", data=form).status_code == 303

    added = _shifts(rota)[-1]
    # Europe/London is UTC+0 in November.
    assert added.starts_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert added.ends_at == datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    assert (added.channel, added.origin) == ("bluesky", "ui")
    upcoming = client.get("/takeovers").text.split('id="takeovers-upcoming"')[1]
    assert "Sofia Rossi" in upcoming.split("</table>")[0]


def test_the_form_needs_the_csrf_token(rota: Site, client) -> None:
    _as_maya(rota, client)
    form = FORM
    assert client.post("/takeovers", data=form).status_code == 403
    assert client.post("/takeovers", data={**form, "csrf_token": "forged"}).status_code == 403
    [only] = _shifts(rota)
    assert client.post(f"/takeovers/{only.id}/cancel").status_code == 403
    assert len(_shifts(rota)) == 1 and _shifts(rota)[0].cancelled_at is None


@pytest.mark.parametrize(
    ("start", "end", "field", "says"),
    [
        ("next monday", "2026-11-23T12:30", "start", "Not a date and time"),
        ("2026-11-23T10:00", "2026-13-01T10:00", "end", "Not a date and time"),
        ("2026-11-23T10:00", "2026-11-23T09:00", "end", "must end after it starts"),
        ("2026-11-19T10:00", "2026-11-19T12:00", "start", "cannot start in the past"),
        ("2026-11-20T14:30", "2026-11-20T16:00", "start", "is on mastodon"),  # overlap
    ],
)
def test_bad_dates_are_422_naming_the_field(rota: Site, client, start, end, field, says) -> None:
    token = _as_maya(rota, client)
    form = {"person": "sofia.rossi@acme.example", "channel": "mastodon", "start": start,
            "end": end, "csrf_token": token}  # fmt: skip
    response = client.post("/takeovers", data=form)
    assert response.status_code == 422
    assert f"{field}: " in response.text and says in html.unescape(response.text)
    assert len(_shifts(rota)) == 1


def test_customer_service_may_not_add_or_cancel(rota: Site, logged_in) -> None:
    token = rota.csrf_of(logged_in.get("/takeovers").text)
    form = {**FORM, "csrf_token": token}
    assert logged_in.post("/takeovers", data=form).status_code == 403
    [only] = _shifts(rota)
    cancel = logged_in.post(f"/takeovers/{only.id}/cancel", data={"csrf_token": token})
    assert cancel.status_code == 403
    assert _shifts(rota)[0].cancelled_at is None


def test_marketing_ends_a_running_shift(rota: Site, client) -> None:
    token = _as_maya(rota, client)
    [only] = _shifts(rota)
    assert (
        client.post(f"/takeovers/{only.id}/cancel", data={"csrf_token": token}).status_code == 303
    )
    assert _shifts(rota)[0].cancelled_at == rota.clock()
    with session_factory(rota.engine)() as session:
        assert takeovers.on_shift(session, only.user_id, "mastodon", rota.clock()) is None
    past = client.get("/takeovers").text.split('id="takeovers-past"')[1].split("</table>")[0]
    assert "cancelled" in past
    again = client.post(f"/takeovers/{only.id}/cancel", data={"csrf_token": token})
    assert again.status_code == 409
    assert client.post("/takeovers/0/cancel", data={"csrf_token": token}).status_code == 422
    assert client.post("/takeovers/999/cancel", data={"csrf_token": token}).status_code == 404
