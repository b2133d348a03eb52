"""Calendar feeds: the token is shown once and only its hash kept; the .ics parses with the
icalendar library and matches the schedule exactly (keys, UTC times, across the clock change);
a department feed shows its department, a campaign feed its campaign; revoking is its maker's
or an admin's, and audited."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from townhall.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from townhall.models import (
    AuditEvent,
    CalendarFeed,
    Campaign,
    FeedScope,
    OutboxPost,
    OutboxStatus,
    PlannedEntry,
    PlannedKind,
    Role,
)
from townhall.publishing import calendar, drafts, feeds

NOW = datetime(2026, 10, 19, 12, 0, tzinfo=UTC)
"""Monday 19 Oct 2026; London's clocks go back on Sunday 25 Oct."""

EVIL = 'Newsletter; part 1, "quoted"\nSecond line\\ <b>bold</b>'


@pytest.fixture
def people(make_user):
    return {
        "tom": make_user("tom.becker@acme.example", "marketing", "Tom Becker", Role.MEMBER),
        "maya": make_user("maya.patel@acme.example", "marketing", "Maya Patel", "social_lead"),
        "dan": make_user("dan.murphy@acme.example", "customer_service", "Dan Murphy"),
        "root": make_user("jonas.weber@acme.example", "it", "Jonas Weber", Role.ADMIN),
    }


@pytest.fixture
def campaign(session, people) -> Campaign:
    row = Campaign(
        slug="airfry-5-launch",
        name="AirFry 5 launch",
        department="marketing",
        channels=["mastodon"],
        starts_at=NOW,
        ends_at=NOW + timedelta(days=30),
        created_by_id=people["maya"].id,
        created_at=NOW,
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def plan(session, acme_policy, people, campaign):
    """Posts on mastodon (customer service's channel, so its department's) at 10:00 London
    before and after the clock change (one in the campaign), an e-mail send with a hostile
    title, PR's planned entry, and one too far ahead."""

    def post(who: str, text: str, at: datetime, **extra: object) -> OutboxPost:
        return drafts.create_draft(
            session, acme_policy, channel="mastodon", text=text, author=people[who], now=NOW,
            at=at, **extra,
        )  # fmt: skip

    summer = post("tom", "Tip: descale; monthly, please", datetime(2026, 10, 20, 9, tzinfo=UTC),
                  category="tip")  # fmt: skip
    winter = post("tom", "AirFry 5 is here", datetime(2026, 10, 27, 10, tzinfo=UTC),
                  campaign_id=campaign.id)  # fmt: skip
    service = post("dan", "Our phone lines close early on Friday", NOW + timedelta(days=4))
    send = PlannedEntry(
        kind=PlannedKind.EMAIL, title=EVIL, department="customer_service", category="newsletter",
        starts_at=datetime(2026, 10, 22, 7, 30, tzinfo=UTC),
        ends_at=datetime(2026, 10, 22, 8, 0, tzinfo=UTC), created_by_id=people["maya"].id,
        created_at=NOW,
    )  # fmt: skip
    far = PlannedEntry(
        kind=PlannedKind.SEARCH, title="Too far ahead", department="customer_service",
        starts_at=NOW + timedelta(days=181), created_by_id=people["maya"].id, created_at=NOW,
    )  # fmt: skip
    press = PlannedEntry(
        kind=PlannedKind.SEARCH, title="PR's piece", department="pr",
        starts_at=NOW + timedelta(days=2), created_by_id=people["maya"].id, created_at=NOW,
    )  # fmt: skip
    session.add_all([send, far, press])
    session.flush()
    return {"summer": summer, "winter": winter, "service": service, "send": send}


def service_feed(session, policy, creator) -> feeds.NewFeed:
    return feeds.create(session, policy, scope=FeedScope.DEPARTMENT, target="customer_service",
                        creator=creator, now=NOW)  # fmt: skip


def parse(body: bytes) -> tuple[Calendar, dict[str, object]]:
    cal = Calendar.from_ical(body)
    return cal, {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_the_token_is_shown_once_and_only_its_hash_kept(session, acme_policy, people) -> None:
    made = service_feed(session, acme_policy, people["tom"])
    assert made.token.startswith("thc_") and len(made.token) >= 4 + 43
    assert made.feed.token_hash == hashlib.sha256(made.token.encode()).hexdigest()
    assert made.path == f"/feeds/{made.token}.ics"
    row = session.get(CalendarFeed, made.feed.id)
    assert made.token not in {row.token_hash, row.label, row.target}
    assert row.label == "Customer service plan"
    assert feeds.find(session, made.token) is row
    assert feeds.find(session, made.token + "x") is None
    assert feeds.find(session, "thc_" + "A" * 43) is None
    other = service_feed(session, acme_policy, people["tom"])
    assert other.token != made.token
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "calendar_feed.created"))
    assert event is not None and event.actor == "tom.becker@acme.example"
    assert made.token not in str(event.details) + event.why


def test_unknown_targets_are_refused(session, acme_policy, people) -> None:
    with pytest.raises(InputError, match="unknown department 'nowhere'"):
        feeds.create(session, acme_policy, scope=FeedScope.DEPARTMENT, target="nowhere",
                     creator=people["tom"], now=NOW)  # fmt: skip
    with pytest.raises(NotFoundError):
        feeds.create(session, acme_policy, scope=FeedScope.CAMPAIGN, target="999",
                     creator=people["tom"], now=NOW)  # fmt: skip


def test_the_department_feed_matches_the_schedule(session, acme_policy, people, plan) -> None:
    made = service_feed(session, acme_policy, people["tom"])
    body = feeds.build(session, acme_policy, made.feed, NOW, base_url="https://th.example/")
    cal, events = parse(body)

    assert str(cal["X-WR-CALNAME"]) == "ACME — Customer service plan"
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/London"
    assert str(cal["VERSION"]) == "2.0" and "Townhall" in str(cal["PRODID"])
    expected = calendar.entries(
        session, acme_policy, NOW - timedelta(days=30), NOW + timedelta(days=180),
        calendar.Filters(departments=frozenset({"customer_service"})),
    )  # fmt: skip
    assert sorted(events) == sorted(f"{e.key}@townhall" for e in expected)
    summer, winter, send = plan["summer"], plan["winter"], plan["send"]
    keys = [f"post-{p.id}" for p in (summer, winter, plan["service"])] + [f"planned-{send.id}"]
    assert sorted(events) == sorted(f"{key}@townhall" for key in keys)  # not PR's, not too far
    tip = events[f"post-{summer.id}@townhall"]
    # 10:00 London both times: 09:00 UTC in summer time, 10:00 UTC after the clocks go back.
    assert tip.decoded("DTSTART") == datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
    assert tip.decoded("DTEND") == datetime(2026, 10, 20, 9, 30, tzinfo=UTC)
    launch = events[f"post-{winter.id}@townhall"]
    assert launch.decoded("DTSTART") == datetime(2026, 10, 27, 10, 0, tzinfo=UTC)
    assert str(tip["SUMMARY"]) == "[waiting for approval] Tip: descale; monthly, please"
    assert str(tip["STATUS"]) == "TENTATIVE"
    assert [str(c) for c in tip["CATEGORIES"].cats] == ["Tip of the week"]
    assert str(tip["URL"]) == f"https://th.example/drafts/{summer.id}"
    description = str(launch["DESCRIPTION"]).splitlines()
    assert description[0].startswith("Channel: Mastodon")
    assert (
        "Department: Customer service" in description and "Campaign: AirFry 5 launch" in description
    )
    assert "Status: waiting for approval" in description

    mail = events[f"planned-{send.id}@townhall"]
    assert str(mail["SUMMARY"]) == EVIL  # newlines, ; , \ and quotes round-trip
    assert mail.decoded("DTEND") == datetime(2026, 10, 22, 8, 0, tzinfo=UTC)
    assert str(mail["STATUS"]) == "CONFIRMED"
    assert b"Second line\\\\ <b>" in body and b"\\;" in body  # escaped by icalendar


def test_builds_are_stable_and_a_moved_post_keeps_its_uid(session, acme_policy, people, plan):
    made = service_feed(session, acme_policy, people["tom"])
    first = feeds.build(session, acme_policy, made.feed, NOW)
    assert feeds.build(session, acme_policy, made.feed, NOW + timedelta(minutes=5)) == first
    assert feeds.etag_of(first) == feeds.etag_of(first)

    summer = plan["summer"]
    summer.scheduled_at = datetime(2026, 10, 21, 9, 0, tzinfo=UTC)
    summer.updated_at = NOW + timedelta(minutes=6)
    session.flush()
    moved = feeds.build(session, acme_policy, made.feed, NOW)
    assert feeds.etag_of(moved) != feeds.etag_of(first)
    event = parse(moved)[1][f"post-{summer.id}@townhall"]
    assert event.decoded("DTSTART") == datetime(2026, 10, 21, 9, 0, tzinfo=UTC)


def test_statuses_map_to_event_statuses(session, acme_policy, people, plan) -> None:
    made = service_feed(session, acme_policy, people["tom"])
    plan["summer"].status = OutboxStatus.SCHEDULED
    plan["winter"].status = OutboxStatus.EXPIRED
    session.flush()
    events = parse(feeds.build(session, acme_policy, made.feed, NOW))[1]
    summer = events[f"post-{plan['summer'].id}@townhall"]
    winter = events[f"post-{plan['winter'].id}@townhall"]
    assert (str(summer["STATUS"]), str(summer["SUMMARY"])) == (
        "CONFIRMED",
        "Tip: descale; monthly, please",
    )
    assert (str(winter["STATUS"]), str(winter["SUMMARY"])) == (
        "CANCELLED",
        "[expired before approval] AirFry 5 is here",
    )


def test_a_campaign_feed_shows_only_the_campaign(session, acme_policy, people, plan, campaign):
    made = feeds.create(session, acme_policy, scope=FeedScope.CAMPAIGN, target=str(campaign.id),
                        creator=people["dan"], now=NOW)  # fmt: skip
    cal, events = parse(feeds.build(session, acme_policy, made.feed, NOW, host="th.example"))
    assert str(cal["X-WR-CALNAME"]) == "ACME — AirFry 5 launch campaign"
    assert list(events) == [f"post-{plan['winter'].id}@th.example"]


def test_revoking_is_for_the_maker_or_an_admin_and_audited(session, acme_policy, people):
    made = service_feed(session, acme_policy, people["tom"])
    with pytest.raises(PermissionDeniedError, match="Only the person who made"):
        feeds.revoke(session, made.feed.id, now=NOW, by=people["maya"])
    assert feeds.find(session, made.token) is not None
    feeds.revoke(session, made.feed.id, now=NOW, by=people["root"])
    assert feeds.find(session, made.token) is None
    assert feeds.status_of(made.feed) == "revoked"
    with pytest.raises(ConflictError, match="already revoked"):
        feeds.revoke(session, made.feed.id, now=NOW, by=people["tom"])
    with pytest.raises(NotFoundError):
        feeds.revoke(session, 99999, now=NOW, by=None)
    actions = session.scalars(
        select(AuditEvent.actor).where(AuditEvent.action == "calendar_feed.revoked")
    ).all()
    assert actions == ["jonas.weber@acme.example"]
    mine = service_feed(session, acme_policy, people["tom"])
    feeds.revoke(session, mine.feed.id, now=NOW, by=people["tom"])
    assert feeds.find(session, mine.token) is None


def test_last_used_is_touched_at_most_once_a_minute(session, acme_policy, people) -> None:
    made = service_feed(session, acme_policy, people["tom"])
    assert feeds.needs_touch(made.feed, NOW)
    feeds.touch(session, made.feed.id, NOW)
    assert not feeds.needs_touch(made.feed, NOW + timedelta(seconds=59))
    assert feeds.needs_touch(made.feed, NOW + timedelta(seconds=60))
