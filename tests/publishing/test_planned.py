"""The e-mail and search teams' planned entries: checked fields, their department's calendar
right, updates and cancelling, the audit trail, and their place on the calendar."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from townhall.errors import ConflictError, InputError, PermissionDeniedError
from townhall.models import AuditEvent, PlannedKind, Role
from townhall.publishing import calendar, planned


@pytest.fixture
def people(make_user):
    return {
        "chloe": make_user("chloe.martin@acme.example", "email", "Chloe Martin"),
        "priya": make_user("priya.nair@acme.example", "search", "Priya Nair"),
        "maya": make_user("maya.patel@acme.example", "marketing", "Maya Patel", "social_lead"),
        "viewer": make_user("vic@acme.example", "email", "Vic Viewer", Role.VIEWER),
    }


def test_the_email_team_plans_a_newsletter_on_the_calendar(
    session, acme_policy, people, now
) -> None:
    at = now + timedelta(days=20)
    entry = planned.add(
        session, acme_policy, kind="email", title=" December newsletter ", category="newsletter",
        starts_at=at, actor=people["chloe"], now=now,
    )  # fmt: skip
    assert (entry.kind, entry.title, entry.department, entry.category) == (
        PlannedKind.EMAIL, "December newsletter", "email", "newsletter",
    )  # fmt: skip
    found = calendar.entries(
        session, acme_policy, now, now + timedelta(days=30), calendar.Filters()
    )
    assert [(e.key, e.title, e.url) for e in found] == [
        (f"planned-{entry.id}", "December newsletter", f"/planned/{entry.id}")
    ]
    assert planned.between(session, now, at) == []  # the end is exclusive
    assert planned.between(session, at, at + timedelta(seconds=1)) == [entry]


def test_bad_fields_are_named(session, acme_policy, people, now) -> None:
    chloe, at = people["chloe"], now + timedelta(days=1)
    cases = [
        ({"kind": "fax"}, "^kind:"),
        ({"title": ""}, "^title:"),
        ({"category": "gossip"}, "^category: unknown category 'gossip'"),
        ({"department": "nasa"}, "^department: unknown department"),
        ({"ends_at": at - timedelta(hours=1)}, "^ends_at: must be after the start"),
        ({"starts_at": at.replace(tzinfo=None)}, "^starts_at: needs a time zone"),
        ({"notes": "x" * (planned.MAX_NOTES + 1)}, "^notes:"),
    ]
    for change, message in cases:
        fields = {"kind": "email", "title": "Send", "starts_at": at, **change}
        with pytest.raises(InputError, match=message):
            planned.add(session, acme_policy, actor=chloe, now=now, **fields)
    assert planned.between(session) == []


def test_only_a_department_with_the_calendar_right_plans_its_entries(
    session, acme_policy, people, now
) -> None:
    at = now + timedelta(days=3)
    with pytest.raises(PermissionDeniedError, match="plan entries for Search marketing"):
        planned.add(session, acme_policy, kind="search", title="Guide", department="search",
                    starts_at=at, actor=people["chloe"], now=now)  # fmt: skip
    with pytest.raises(PermissionDeniedError, match="E-mail marketing"):
        planned.add(session, acme_policy, kind="email", title="Send", starts_at=at,
                    actor=people["viewer"], now=now)  # fmt: skip
    guide = planned.add(session, acme_policy, kind="search", title="AirFry guide",
                        category="seo_content", starts_at=at, actor=people["priya"],
                        now=now)  # fmt: skip
    with pytest.raises(PermissionDeniedError):
        planned.cancel(session, acme_policy, guide, actor=people["chloe"], now=now)
    # Maya leads the social calendar: she may move search's entry.
    planned.update(session, acme_policy, guide, kind="search", title="AirFry 5 buying guide",
                   starts_at=at + timedelta(days=1), category="seo_content",
                   actor=people["maya"], now=now)  # fmt: skip
    assert guide.title == "AirFry 5 buying guide" and guide.starts_at == at + timedelta(days=1)
    # Moving it into a department Priya may not plan for is refused.
    with pytest.raises(PermissionDeniedError):
        planned.update(session, acme_policy, guide, kind="search", title="Guide",
                       department="email", starts_at=at, actor=people["priya"],
                       now=now)  # fmt: skip
    assert guide.department == "search"


def test_a_cancelled_entry_leaves_the_calendar_and_stays_in_the_history(
    session, acme_policy, people, now
) -> None:
    at = now + timedelta(days=2)
    entry = planned.add(session, acme_policy, kind="email", title="Flash sale", starts_at=at,
                        actor=people["chloe"], now=now)  # fmt: skip
    planned.cancel(session, acme_policy, entry, actor=people["chloe"], now=now)
    assert entry.cancelled_at == now
    with pytest.raises(ConflictError, match="already cancelled"):
        planned.cancel(session, acme_policy, entry, actor=people["chloe"], now=now)
    with pytest.raises(ConflictError, match="cancelled"):
        planned.update(session, acme_policy, entry, kind="email", title="Again", starts_at=at,
                       actor=people["chloe"], now=now)  # fmt: skip
    assert planned.between(session) == [] and planned.between(session, cancelled=True) == [entry]
    found = calendar.entries(session, acme_policy, now, at + timedelta(days=1), calendar.Filters())
    assert found == []
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_type == "planned", AuditEvent.subject_id == str(entry.id))
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["planned.added", "planned.cancelled"]
