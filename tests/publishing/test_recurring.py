"""Recurring slots write their drafts ahead: at the slot's local time across a daylight-saving
change, exactly once however often (or however concurrently) the pass runs, within the slot's
dates, and a refused day is skipped with a warning that is audited once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from townhall.config import Settings
from townhall.db import make_engine, session_factory, transaction
from townhall.errors import CapBlockedError
from townhall.models import AuditEvent, OutboxPost, OutboxStatus, Role
from townhall.org.accounts import upsert_user
from townhall.org.planning import Recurring
from townhall.org.policy import Policy
from townhall.publishing import recurring, schedule
from townhall.publishing.publisher import OutboxPublisher

TOM = "tom.becker@acme.example"
MONDAY = datetime(2026, 10, 19, 12, 0, tzinfo=UTC)
"""Monday 19 Oct 2026: London is on summer time (BST) until Sunday 25 Oct."""


def with_slots(policy: Policy, *slots: Recurring) -> Policy:
    planning = policy.planning.model_copy(update={"recurring": list(slots)})
    return policy.model_copy(update={"planning": planning})


def tip(**fields: object) -> Recurring:
    data: dict[str, object] = {
        "id": "tip_of_the_week",
        "name": "Tip of the week",
        "channel": "mastodon",
        "category": "tip",
        "weekdays": ["tue"],
        "time": "10:00",
        "timezone": "Europe/London",
        "text": "Tip of the week: descale your kettle once a month.",
        "author": TOM,
        "ahead_days": 14,
    }
    data.update(fields)
    return Recurring.model_validate(data)


@pytest.fixture
def tom(make_user):
    return make_user(TOM, "marketing", "Tom Becker", Role.MEMBER)


def written_posts(session) -> list[OutboxPost]:
    query = select(OutboxPost).where(OutboxPost.recurring.is_not(None)).order_by(OutboxPost.id)
    return list(session.scalars(query).unique())


def test_tuesdays_at_ten_london_across_the_clock_change(session, acme_policy, tom) -> None:
    policy = with_slots(acme_policy, tip())
    done = recurring.write_ahead(session, policy, MONDAY, days=8)

    assert [(w.day, w.at) for w in done] == [
        (date(2026, 10, 20), datetime(2026, 10, 20, 9, 0, tzinfo=UTC)),  # BST: UTC+1
        (date(2026, 10, 27), datetime(2026, 10, 27, 10, 0, tzinfo=UTC)),  # GMT: UTC+0
    ]
    posts = written_posts(session)
    assert [p.id for p in posts] == [w.outbox_id for w in done]
    assert [p.scheduled_at for p in posts] == [w.at for w in done]
    for post, w in zip(posts, done, strict=True):
        assert post.key == recurring.key_of("tip_of_the_week", w.day) and len(post.key) <= 64
        assert (post.recurring, post.category, post.channel) == (
            "tip_of_the_week",
            "tip",
            "mastodon",
        )
        assert post.author_id == tom.id and post.status == OutboxStatus(w.status)
        assert post.text == "Tip of the week: descale your kettle once a month."


def test_running_again_writes_nothing_new(session, acme_policy, tom) -> None:
    policy = with_slots(acme_policy, tip())
    first = recurring.write_ahead(session, policy, MONDAY)
    # 14 days ahead of Monday 19 Oct: the Tuesdays 20 and 27 Oct.
    assert [w.day for w in first] == [date(2026, 10, 20), date(2026, 10, 27)]
    assert recurring.write_ahead(session, policy, MONDAY) == []
    # A week later the window reaches 3 Nov: only that one is new.
    later = recurring.write_ahead(session, policy, datetime(2026, 10, 26, 8, 0, tzinfo=UTC))
    assert [(w.day, w.at) for w in later] == [
        (date(2026, 11, 3), datetime(2026, 11, 3, 10, 0, tzinfo=UTC))
    ]
    assert len(written_posts(session)) == 3


def test_a_key_written_by_another_worker_meanwhile_is_not_written_twice(
    session, acme_policy, tom, monkeypatch
) -> None:
    policy = with_slots(acme_policy, tip())
    assert len(recurring.write_ahead(session, policy, MONDAY, days=8)) == 2
    # The other worker's insert lands between our check and our insert: the unique key refuses
    # ours, the savepoint rolls back and the pass carries on.
    monkeypatch.setattr(recurring, "_exists", lambda session, key: False)
    assert recurring.write_ahead(session, policy, MONDAY, days=8) == []
    assert len(written_posts(session)) == 2
    assert session.scalar(select(func.count()).select_from(OutboxPost)) == 2


def test_starts_and_ends_are_honoured(session, acme_policy, tom) -> None:
    slot = tip(weekdays=["tue", "thu"], starts="2026-10-23", ends="2026-11-03")
    done = recurring.write_ahead(session, with_slots(acme_policy, slot), MONDAY, days=60)
    assert [w.day for w in done] == [
        date(2026, 10, 27),
        date(2026, 10, 29),
        date(2026, 11, 3),
    ]


def test_a_time_already_passed_today_is_not_written(session, acme_policy, tom) -> None:
    tuesday_late = datetime(2026, 10, 20, 9, 30, tzinfo=UTC)  # 10:30 in London
    done = recurring.write_ahead(session, with_slots(acme_policy, tip()), tuesday_late, days=7)
    assert [w.day for w in done] == [date(2026, 10, 27)]


def test_the_slot_zone_defaults_to_the_companys(session, acme_policy, tom) -> None:
    policy = with_slots(acme_policy, tip(timezone=None), tip(id="ny", timezone="America/New_York"))
    done = recurring.write_ahead(session, policy, MONDAY, days=2)
    assert [(w.slot, w.at) for w in done] == [
        ("tip_of_the_week", datetime(2026, 10, 20, 9, 0, tzinfo=UTC)),
        ("ny", datetime(2026, 10, 20, 14, 0, tzinfo=UTC)),  # EDT: UTC-4
    ]


def _skips(session) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == recurring.SKIPPED)
    return list(session.scalars(query))


def test_a_cap_refusal_skips_the_day_with_a_warning_audited_once(
    session, acme_policy, tom, monkeypatch, caplog
) -> None:
    refused = datetime(2026, 10, 27, 10, 0, tzinfo=UTC)

    def check_slot(session, policy, *, channel, category, at, ignore_outbox_id=None):
        if at == refused:
            raise CapBlockedError("At most 6 posts a day on an account: 6 already.", [], None)
        return []

    monkeypatch.setattr(schedule, "check_slot", check_slot)
    policy = with_slots(acme_policy, tip())
    done = recurring.write_ahead(session, policy, MONDAY, days=8)

    assert [(w.day, w.status) for w in done] == [
        (date(2026, 10, 20), str(written_posts(session)[0].status)),
        (date(2026, 10, 27), "skipped"),
    ]
    warning = done[1].warning
    assert warning.startswith("Tip of the week on Tue 27 Oct 2026: not written:")
    assert "At most 6 posts a day" in warning and done[1].outbox_id is None
    assert len(written_posts(session)) == 1
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [warning]

    caplog.clear()
    again = recurring.write_ahead(session, policy, MONDAY, days=8)
    assert [(w.day, w.warning) for w in again] == [(date(2026, 10, 27), warning)]
    assert [r for r in caplog.records if r.levelname == "WARNING"] == []
    skips = _skips(session)
    assert [(e.subject_type, e.subject_id, e.why) for e in skips] == [
        ("recurring", "tip_of_the_week/2026-10-27", warning)
    ]


def test_an_author_without_a_login_is_skipped(session, acme_policy, make_user) -> None:
    make_user(TOM, "marketing", "Tom Becker", Role.MEMBER, active=False)
    done = recurring.write_ahead(session, with_slots(acme_policy, tip()), MONDAY, days=1)
    assert [(w.day, w.status) for w in done] == [(date(2026, 10, 20), "skipped")]
    assert "tom.becker@acme.example has no active login" in done[0].warning
    assert written_posts(session) == [] and len(_skips(session)) == 1


def test_the_hourly_pass_runs_once_an_hour(session, acme_policy, monkeypatch) -> None:
    calls: list[datetime] = []
    monkeypatch.setattr(recurring, "write_ahead", lambda s, p, now: calls.append(now) or [])
    ahead = recurring.HourlyPass()
    for minute in (1, 20, 59):
        ahead.run(session, acme_policy, MONDAY.replace(minute=minute))
    ahead.run(session, acme_policy, MONDAY.replace(hour=13, minute=0))
    assert calls == [MONDAY.replace(minute=1), MONDAY.replace(hour=13, minute=0)]


def test_the_publishers_pass_writes_the_drafts_ahead(
    make_database_url, acme_policy, tmp_path
) -> None:
    engine = make_engine(make_database_url())
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        upsert_user(session, email=TOM, name="Tom Becker", department="marketing",
                    role=Role.MEMBER, password="not-used-here", now=MONDAY)  # fmt: skip
    policy = with_slots(acme_policy, tip(ahead_days=8))
    publisher = OutboxPublisher(sessions, lambda: policy, Settings(home=tmp_path), lambda: MONDAY)
    try:
        publisher.run_once()
        publisher.run_once()
    finally:
        publisher.close()
    with sessions() as session:
        posts = written_posts(session)
        assert [p.scheduled_at for p in posts] == [
            datetime(2026, 10, 20, 9, 0, tzinfo=UTC),
            datetime(2026, 10, 27, 10, 0, tzinfo=UTC),
        ]
    engine.dispose()


def test_a_code_of_conduct_refusal_skips_the_day(session, acme_policy, tom) -> None:
    slot = tip(text="Tip: pay by card 4111 1111 1111 1111, it is quicker.")
    done = recurring.write_ahead(session, with_slots(acme_policy, slot), MONDAY, days=1)
    assert [(w.day, w.status, w.outbox_id) for w in done] == [(date(2026, 10, 20), "skipped", None)]
    assert done[0].warning.startswith("Tip of the week on Tue 20 Oct 2026: not written:")
    assert "the code of conduct stops this draft: a payment card number" in done[0].warning
    assert written_posts(session) == []
