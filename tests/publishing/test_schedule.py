"""Scheduling through the frequency caps, and moving posts with re-approval (real SQLite)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from townhall.errors import CapBlockedError, ConflictError, InputError, PermissionDeniedError
from townhall.models import (
    AuditEvent,
    Decision,
    OutboxPost,
    OutboxStatus,
    PlannedEntry,
    PlannedKind,
    Role,
)
from townhall.publishing import drafts, localtime, schedule

LONDON = localtime.zone("Europe/London")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def people(make_user):
    return {
        "maya": make_user("maya.patel@acme.example", "marketing", "Maya Patel", "social_lead"),
        "tom": make_user("tom.becker@acme.example", "marketing", "Tom Becker"),
        "sofia": make_user(
            "sofia.rossi@acme.example", "customer_service", "Sofia Rossi", Role.APPROVER
        ),
        "ben": make_user("ben.carter@acme.example", "sales", "Ben Carter"),
        "jonas": make_user("jonas.weber@acme.example", "it", "Jonas Weber", Role.ADMIN),
    }


def post(session, policy, author, at, now, category=None, text="Tip of the week: descale"):
    return drafts.create_draft(
        session,
        policy,
        channel="mastodon",
        text=text,
        author=author,
        now=now,
        at=at,
        category=category,
    )


def test_a_third_press_release_in_a_week_is_refused_with_the_next_free_time(
    session, acme_policy, people, now
) -> None:
    sofia = people["sofia"]
    first = post(session, acme_policy, sofia, utc(2026, 12, 7, 9), now, "press_release")
    post(session, acme_policy, sofia, utc(2026, 12, 9, 11), now, "press_release")
    assert first.status == OutboxStatus.SCHEDULED
    with pytest.raises(CapBlockedError) as refused:
        post(session, acme_policy, sofia, utc(2026, 12, 10, 12), now, "press_release")
    assert refused.value.message == (
        "At most 2 press releases a week on a channel. Press release posts on mastodon: this "
        "would be the 3rd in the week of Mon 7 Dec (at most 2: Mon 7 Dec 09:00 and Wed 9 Dec "
        "11:00). The next free time is Mon 14 Dec 00:00 (Europe/London)."
    )
    assert refused.value.next_free == utc(2026, 12, 14, 0)
    assert refused.value.breaches[0]["cap"] == "press_releases_weekly"
    assert refused.value.status_code == 409
    # On another channel the week is still free.
    other = drafts.create_draft(
        session, acme_policy, channel="bluesky", text="News", author=people["jonas"], now=now,
        at=utc(2026, 12, 10, 12), category="press_release",
    )  # fmt: skip
    assert other.scheduled_at == utc(2026, 12, 10, 12)


def test_a_promotional_post_too_close_to_another_is_refused(
    session, acme_policy, people, now
) -> None:
    sofia = people["sofia"]
    post(session, acme_policy, sofia, utc(2026, 12, 10, 10, 40), now, "promotional")
    with pytest.raises(CapBlockedError, match="Only 1 h 20 min after the promotional post at"):
        post(session, acme_policy, sofia, utc(2026, 12, 10, 12), now, "promotional")


def test_a_warn_cap_lets_the_post_through_with_its_reason(
    session, acme_policy, people, now
) -> None:
    session.add(
        PlannedEntry(
            kind=PlannedKind.EMAIL, title="December newsletter", department="email",
            category="newsletter", starts_at=utc(2026, 12, 10, 13), ends_at=None,
            created_by_id=people["maya"].id, created_at=now, cancelled_at=None,
        )
    )  # fmt: skip
    session.flush()
    planned = session.scalars(select(PlannedEntry)).one()
    warnings = schedule.check_slot(
        session, acme_policy, channel="mastodon", category="promotional", at=utc(2026, 12, 10, 12)
    )
    assert warnings == [
        {
            "cap": "newsletter_quiet",
            "level": "warn",
            "why": "Only 1 h before the newsletter at 13:00 (at least 2 h apart)",
            "with": [f"planned-{planned.id}"],
        }
    ]
    # A cancelled send no longer counts.
    planned.cancelled_at = now
    session.flush()
    assert (
        schedule.check_slot(
            session,
            acme_policy,
            channel="mastodon",
            category="promotional",
            at=utc(2026, 12, 10, 12),
        )
        == []
    )


def test_the_schedule_holds_what_will_go_out_and_drafts_with_a_time(
    session, acme_policy, people, now
) -> None:
    tom, sofia = people["tom"], people["sofia"]
    waiting = post(session, acme_policy, tom, utc(2026, 12, 8, 10), now)
    rejected = post(session, acme_policy, tom, utc(2026, 12, 8, 11), now)
    drafts.decide(session, acme_policy, rejected.id, Decision.REJECTED, actor=sofia, now=now)
    out = post(session, acme_policy, sofia, utc(2026, 12, 8, 12), now)
    out.status, out.published_at = OutboxStatus.PUBLISHED, utc(2026, 12, 8, 12, 5)
    session.flush()
    slots = schedule.schedule_of(session, acme_policy, utc(2026, 12, 8), utc(2026, 12, 9))
    assert [(s.key, s.at) for s in slots] == [
        (f"post-{waiting.id}", utc(2026, 12, 8, 10)),
        (f"post-{out.id}", utc(2026, 12, 8, 12, 5)),
    ]


def test_moving_an_approved_post_sends_it_back_to_its_approvers(
    session, acme_policy, people, now
) -> None:
    tom, sofia, maya = people["tom"], people["sofia"], people["maya"]
    tip = post(session, acme_policy, tom, utc(2026, 12, 8, 10), now)
    drafts.decide(session, acme_policy, tip.id, Decision.APPROVED, actor=sofia, now=now)
    assert tip.status == OutboxStatus.SCHEDULED and tip.revision == 1
    moved = schedule.reschedule(session, acme_policy, tip, utc(2026, 12, 9, 10), maya, now)
    assert moved.reapproval and moved.warnings == []
    assert (tip.status, tip.step, tip.revision) == (OutboxStatus.DRAFT, 0, 2)
    assert tip.scheduled_at == utc(2026, 12, 9, 10)
    assert moved.why == (
        "Maya Patel moved 'Tip of the week: descale' from Tue 8 Dec 10:00 to Wed 9 Dec 10:00 "
        "(Europe/London); it goes back to Customer service approvers"
    )
    audited = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "outbox.rescheduled")
    ).one()
    assert audited.why == moved.why and audited.actor == "maya.patel@acme.example"
    # The approval of revision 1 no longer counts: Sofia decides again, and it is scheduled.
    drafts.decide(session, acme_policy, tip.id, Decision.APPROVED, actor=sofia, now=now)
    assert tip.status == OutboxStatus.SCHEDULED


@pytest.mark.parametrize("mover", ["sofia", "jonas"])
def test_someone_who_may_publish_directly_moves_it_without_reapproval(
    session, acme_policy, people, now, mover
) -> None:
    tip = post(session, acme_policy, people["tom"], utc(2026, 12, 8, 10), now)
    drafts.decide(session, acme_policy, tip.id, Decision.APPROVED, actor=people["sofia"], now=now)
    moved = schedule.reschedule(session, acme_policy, tip, utc(2026, 12, 9, 10), people[mover], now)
    assert not moved.reapproval and moved.why.endswith("; it stays approved")
    assert (tip.status, tip.revision) == (OutboxStatus.SCHEDULED, 1)


def test_a_chain_without_reapproval_on_move_keeps_the_post_approved(
    session, acme_policy, people, now
) -> None:
    chains = [
        c.model_copy(update={"reapprove_on_move": False}) if c.id == "department" else c
        for c in acme_policy.approvals
    ]
    policy = acme_policy.model_copy(update={"approvals": chains})
    tip = post(session, policy, people["tom"], utc(2026, 12, 8, 10), now)
    drafts.decide(session, policy, tip.id, Decision.APPROVED, actor=people["sofia"], now=now)
    moved = schedule.reschedule(session, policy, tip, utc(2026, 12, 9, 10), people["maya"], now)
    assert not moved.reapproval and tip.status == OutboxStatus.SCHEDULED


def test_a_waiting_draft_keeps_waiting_at_its_new_time(session, acme_policy, people, now) -> None:
    tip = post(session, acme_policy, people["tom"], utc(2026, 12, 8, 10), now)
    moved = schedule.reschedule(session, acme_policy, tip, utc(2026, 12, 8, 15), people["tom"], now)
    assert (tip.status, tip.revision, moved.reapproval) == (OutboxStatus.DRAFT, 1, False)
    assert moved.why.endswith("to Tue 8 Dec 15:00 (Europe/London); it still waits for Customer "
                              "service approvers")  # fmt: skip


def test_moves_that_are_refused(session, acme_policy, people, now) -> None:
    sofia = people["sofia"]
    tip = post(session, acme_policy, sofia, utc(2026, 12, 8, 10), now, "promotional")
    with pytest.raises(PermissionDeniedError, match="Ben Carter may not move this post"):
        schedule.reschedule(session, acme_policy, tip, utc(2026, 12, 9, 10), people["ben"], now)
    with pytest.raises(InputError, match="at: a post can only move to a time still ahead"):
        schedule.reschedule(session, acme_policy, tip, now - timedelta(minutes=1), sofia, now)
    with pytest.raises(InputError, match="at: needs a time zone"):
        schedule.reschedule(session, acme_policy, tip, datetime(2026, 12, 9, 10), sofia, now)
    # A cap refuses the new time, naming the next free one; the post stays where it was.
    other = post(session, acme_policy, sofia, utc(2026, 12, 9, 10), now, "promotional")
    with pytest.raises(CapBlockedError) as refused:
        schedule.reschedule(session, acme_policy, tip, utc(2026, 12, 9, 11), sofia, now)
    assert refused.value.next_free == utc(2026, 12, 9, 13)
    assert refused.value.breaches[0]["with"] == [f"post-{other.id}"]
    assert tip.scheduled_at == utc(2026, 12, 8, 10)
    # Moving it next to itself is fine: the post does not clash with its old time.
    schedule.reschedule(session, acme_policy, tip, utc(2026, 12, 8, 11), sofia, now)
    assert tip.scheduled_at == utc(2026, 12, 8, 11)
    tip.status = OutboxStatus.PUBLISHED
    with pytest.raises(ConflictError, match="is published: only posts that have not gone out"):
        schedule.reschedule(session, acme_policy, tip, utc(2026, 12, 10, 10), sofia, now)


def test_a_post_moved_across_the_clock_change_keeps_its_local_time(
    session, acme_policy, people, now
) -> None:
    friday = localtime.at_local(date(2027, 3, 26), datetime.min.time().replace(hour=9), LONDON)
    assert friday == utc(2027, 3, 26, 9)  # GMT
    tip = post(session, acme_policy, people["sofia"], friday, now)
    monday = localtime.move_to_day(tip.scheduled_at, date(2027, 3, 29), LONDON)
    schedule.reschedule(session, acme_policy, tip, monday, people["sofia"], now)
    stored = session.get(OutboxPost, tip.id)
    assert stored.scheduled_at == utc(2027, 3, 29, 8)  # BST
    assert localtime.local(stored.scheduled_at, LONDON).strftime("%H:%M") == "09:00"
