"""Staff takeovers: the policy section, the rota in the database, the baton-pass posts (once,
even when two passes race), drafting during a shift and not after, and who edits the rota.

Every test runs on an injected clock: no sleeps."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from networks import TOKEN_ENV, mastodon_channel, policy_with
from townhall.config import Settings
from townhall.connectors.html_text import html_to_text
from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.connectors.standin import LocalServer
from townhall.db import make_engine, session_factory
from townhall.errors import (
    ConflictError,
    InputError,
    PermissionDeniedError,
    PolicyError,
)
from townhall.models import AuditEvent, OutboxKind, OutboxPost, OutboxStatus, Role, Takeover, User
from townhall.org.accounts import upsert_user
from townhall.org.loader import load_policy, parse_policy
from townhall.org.policy import Policy
from townhall.org.takeovers import Shift, TakeoverPolicy, takeover_problems, template_problem
from townhall.publishing import drafts, takeovers
from townhall.publishing.publisher import OutboxPublisher

PETER = "peter.novak@acme.example"  # back office ("accounts")
BEN = "ben.carter@acme.example"  # sales ("telesales")
MAYA = "maya.patel@acme.example"  # marketing approver
TOM = "tom.becker@acme.example"  # marketing member
SOFIA = "sofia.rossi@acme.example"  # customer service approver
JONAS = "jonas.weber@acme.example"  # IT, admin


def _with_rota(policy: Policy, *shifts: Shift, **templates: str) -> Policy:
    rota = TakeoverPolicy(
        announcement=templates.get(
            "announcement", "Today {name} from {department} runs {account} until {end}!"
        ),
        sign_off=templates.get("sign_off", "Thanks from {first_name}, signing off."),
        shifts=list(shifts),
    )
    return policy.model_copy(update={"takeovers": rota})


def _shift(person: str, start: datetime, hours: float = 2, channel: str = "mastodon") -> Shift:
    return Shift(person=person, channel=channel, start=start, end=start + timedelta(hours=hours))


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    """Logins for the ACME people these tests use."""
    found = {
        PETER: ("back_office", "Peter Novak", Role.MEMBER),
        BEN: ("sales", "Ben Carter", Role.MEMBER),
        MAYA: ("marketing", "Maya Patel", Role.APPROVER),
        TOM: ("marketing", "Tom Becker", Role.MEMBER),
        SOFIA: ("customer_service", "Sofia Rossi", Role.APPROVER),
        JONAS: ("it", "Jonas Weber", Role.ADMIN),
    }
    return {
        email: make_user(email, department=dept, name=name, role=role)
        for email, (dept, name, role) in found.items()
    }


# -- the policy section ------------------------------------------------------------------------
def test_acme_has_a_rota_of_accounts_on_monday_and_telesales_on_tuesday(acme_policy) -> None:
    shifts = acme_policy.takeovers.shifts
    assert [(s.person, s.start.strftime("%a")) for s in shifts] == [(PETER, "Mon"), (BEN, "Tue")]
    assert all(s.start.year >= 2027 and s.channel == "mastodon" for s in shifts)
    assert acme_policy.takeovers.sign_off


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("Hi {nmae}!", "unknown placeholder {nmae}"),
        ("Hi {}!", "unknown placeholder {}"),
        ("Hi {0}!", "unknown placeholder {0}"),
        ("Hi {name.__class__}!", "unknown placeholder {name.__class__}"),
        ("Hi {name!r}", "takes no format or conversion"),
        ("Hi {name:>30}", "takes no format or conversion"),
        ("Hi {name", "brace"),
        ("Hi name}", "brace"),
    ],
)
def test_a_template_may_only_use_known_placeholders(template: str, problem: str) -> None:
    found = template_problem(template)
    assert found is not None and problem in found


def test_good_templates_pass() -> None:
    assert template_problem("Today {name} ({first_name}) from {department} on {channel}") is None
    assert template_problem("{account} from {start} to {end}, {{literal}} braces") is None
    assert template_problem("") is None


def _policy_text(takeovers_yaml: str) -> str:
    from conftest import ACME_POLICY

    text = ACME_POLICY.read_text(encoding="utf-8")
    head = text[: text.index("takeovers:\n")]
    return head + takeovers_yaml


def test_a_bad_template_is_a_policy_error_naming_its_line_and_field() -> None:
    text = _policy_text("takeovers:\n  announcement: 'Hi {nmae}'\n  shifts: []\n")
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    [problem] = caught.value.problems
    line = text.splitlines().index("  announcement: 'Hi {nmae}'") + 1
    assert problem.startswith(f"p.yaml:{line}: takeovers.announcement: ")
    assert "{nmae}" in problem


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        ("2027-01-04T10:00:00", "2027-01-04T16:00:00+00:00", "needs a time zone"),
        ("2027-01-04T16:00:00+00:00", "2027-01-04T10:00:00+00:00", "end must be after start"),
        ("2027-01-04T10:00:00+00:00", "2027-03-04T10:00:00+00:00", "at most 14 days"),
    ],
)
def test_bad_shift_times_are_policy_errors(start: str, end: str, problem: str) -> None:
    text = _policy_text(
        "takeovers:\n  shifts:\n"
        f"    - {{person: {PETER}, channel: mastodon, start: '{start}', end: '{end}'}}\n"
    )
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    [found] = caught.value.problems
    assert "takeovers.shifts[0]" in found and problem in found


def test_takeover_problems_name_unknown_people_channels_and_overlaps() -> None:
    data = {
        "takeovers": {
            "shifts": [
                {"person": "nobody@acme.example", "channel": "mastodon",
                 "start": "2027-01-04T10:00:00+00:00", "end": "2027-01-04T16:00:00+00:00"},
                {"person": PETER, "channel": "myspace",
                 "start": "2027-01-04T10:00:00+00:00", "end": "2027-01-04T16:00:00+00:00"},
                {"person": BEN, "channel": "mastodon",
                 "start": datetime(2027, 1, 4, 15, tzinfo=UTC),
                 "end": datetime(2027, 1, 4, 18, tzinfo=UTC)},
                {"person": PETER.upper(), "channel": "mastodon",
                 "start": "2027-01-04T18:00:00+00:00", "end": "2027-01-04T20:00:00+00:00"},
            ]
        }
    }  # fmt: skip
    problems = takeover_problems(data, emails={PETER, BEN}, channels={"mastodon", "bluesky"})
    assert problems == [
        (("takeovers", "shifts", 0, "person"), "'nobody@acme.example' is not among the people "
         "of the policy"),
        (("takeovers", "shifts", 1, "channel"), "unknown channel 'myspace' (valid: bluesky, "
         "mastodon)"),
        (("takeovers", "shifts", 2, "start"), "overlaps takeovers.shifts[0] on mastodon (one "
         "person at a time runs an account)"),
    ]  # fmt: skip
    assert takeover_problems({"takeovers": {"shifts": "nonsense"}}, set(), set()) == []
    assert takeover_problems({}, set(), set()) == []


# -- the rota in the database ------------------------------------------------------------------
def _rows(session: Session) -> list[Takeover]:
    return list(session.scalars(select(Takeover).order_by(Takeover.starts_at)))


def test_sync_rota_adds_the_policys_shifts_once(session, acme_policy, people, now) -> None:
    monday = now + timedelta(days=3)
    policy = _with_rota(acme_policy, _shift(PETER, monday), _shift(BEN, monday + timedelta(1)))

    assert takeovers.sync_rota(session, policy, now) == 2
    assert takeovers.sync_rota(session, policy, now) == 0
    assert takeovers.sync_rota(session, policy, now + timedelta(hours=1)) == 0

    rows = _rows(session)
    assert [(t.user.email, t.channel, t.starts_at, t.origin) for t in rows] == [
        (PETER, "mastodon", monday, "policy"),
        (BEN, "mastodon", monday + timedelta(days=1), "policy"),
    ]
    assert all(
        t.cancelled_at is None and t.ends_at - t.starts_at == timedelta(hours=2) for t in rows
    )


def test_sync_rota_cancels_a_removed_future_shift_and_leaves_the_past(
    session, acme_policy, people, now
) -> None:
    yesterday, tomorrow = now - timedelta(days=1), now + timedelta(days=1)
    both = _with_rota(acme_policy, _shift(PETER, yesterday), _shift(BEN, tomorrow))
    assert takeovers.sync_rota(session, both, yesterday - timedelta(hours=1)) == 2

    assert takeovers.sync_rota(session, _with_rota(acme_policy), now) == 1

    past, future = _rows(session)
    assert past.user.email == PETER and past.cancelled_at is None  # history stays
    assert future.user.email == BEN and future.cancelled_at == now
    assert takeovers.sync_rota(session, _with_rota(acme_policy), now) == 0
    # Back in the policy: a cancelled shift is not revived behind the editors' back.
    assert takeovers.sync_rota(session, both, now) == 0
    assert _rows(session)[1].cancelled_at == now


def test_sync_rota_follows_a_moved_end(session, acme_policy, people, now) -> None:
    start = now + timedelta(hours=1)
    assert takeovers.sync_rota(session, _with_rota(acme_policy, _shift(PETER, start)), now) == 1
    assert takeovers.sync_rota(session, _with_rota(acme_policy, _shift(PETER, start, 5)), now) == 1
    [row] = _rows(session)
    assert row.ends_at == start + timedelta(hours=5)


def test_sync_rota_waits_for_a_persons_login(session, acme_policy, make_user, now) -> None:
    policy = _with_rota(acme_policy, _shift(PETER, now + timedelta(hours=1)))
    assert takeovers.sync_rota(session, policy, now) == 0
    assert _rows(session) == []

    make_user(PETER, department="back_office", name="Peter Novak")
    assert takeovers.sync_rota(session, policy, now) == 1
    assert [t.user.email for t in _rows(session)] == [PETER]


def test_on_shift_holds_from_start_to_end_only(session, acme_policy, people, now) -> None:
    start = now + timedelta(hours=1)
    takeovers.sync_rota(session, _with_rota(acme_policy, _shift(PETER, start)), now)
    peter = people[PETER]

    def on(at: datetime, channel: str = "mastodon") -> bool:
        return takeovers.on_shift(session, peter.id, channel, at) is not None

    assert not on(start - timedelta(seconds=1))
    assert on(start) and on(start + timedelta(hours=2) - timedelta(seconds=1))
    assert not on(start + timedelta(hours=2))
    assert not on(start, "bluesky")
    assert takeovers.on_shift(session, people[BEN].id, "mastodon", start) is None
    [row] = _rows(session)
    assert [t.id for t in takeovers.current(session, start)] == [row.id]
    assert [t.id for t in takeovers.upcoming(session, now)] == [row.id]
    assert [t.id for t in takeovers.past(session, start + timedelta(hours=3))] == [row.id]


# -- the baton pass ----------------------------------------------------------------------------
def _outbox(session: Session) -> list[OutboxPost]:
    return list(session.scalars(select(OutboxPost).order_by(OutboxPost.id)).unique())


def test_the_announcement_is_written_once_when_the_shift_starts(
    session, acme_policy, people, now
) -> None:
    start = now + timedelta(minutes=10)
    policy = _with_rota(acme_policy, _shift(PETER, start))
    takeovers.sync_rota(session, policy, now)

    assert takeovers.hand_over(session, policy, start - timedelta(seconds=1)) == []
    [post] = takeovers.hand_over(session, policy, start)
    assert takeovers.hand_over(session, policy, start + timedelta(seconds=5)) == []

    assert _outbox(session) == [post]
    [row] = _rows(session)
    assert (
        post.text == "Today Peter Novak from Back office runs @acme@mastodon.example until 16:10!"
    )
    assert (post.kind, post.status, post.channel) == (
        OutboxKind.TAKEOVER, OutboxStatus.APPROVED, "mastodon"
    )  # fmt: skip
    assert post.author_id == people[PETER].id and post.department == "customer_service"
    assert post.key == f"takeover-{row.id}-start" and post.takeover_id == row.id
    assert row.announcement_id == post.id
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("takeover.%"))
    ).all()
    assert actions == ["takeover.added", "takeover.announced"]


def test_an_announcement_someone_else_created_first_is_not_written_again(
    session, acme_policy, people, now
) -> None:
    policy = _with_rota(acme_policy, _shift(PETER, now))
    takeovers.sync_rota(session, policy, now)
    [row] = _rows(session)
    raced = OutboxPost(
        channel="mastodon", kind=OutboxKind.TAKEOVER, text="raced", department="marketing",
        status=OutboxStatus.APPROVED, key=f"takeover-{row.id}-start", author_id=people[PETER].id,
        attempts=0, error="", decision_note="", created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(raced)
    session.flush()

    assert takeovers.hand_over(session, policy, now) == []
    assert _outbox(session) == [raced] and row.announcement_id == raced.id


def test_the_sign_off_follows_the_end_once(session, acme_policy, people, now) -> None:
    policy = _with_rota(acme_policy, _shift(PETER, now, hours=1))
    takeovers.sync_rota(session, policy, now)
    [announcement] = takeovers.hand_over(session, policy, now)

    end = now + timedelta(hours=1)
    assert takeovers.hand_over(session, policy, end - timedelta(seconds=1)) == []
    [sign_off] = takeovers.hand_over(session, policy, end + timedelta(minutes=5))
    assert takeovers.hand_over(session, policy, end + timedelta(minutes=6)) == []

    assert sign_off.text == "Thanks from Peter, signing off."
    assert sign_off.key.endswith("-end") and sign_off.status == OutboxStatus.APPROVED
    assert _outbox(session) == [announcement, sign_off]


def test_no_sign_off_without_a_template(session, acme_policy, people, now) -> None:
    policy = _with_rota(acme_policy, _shift(PETER, now, hours=1), sign_off="")
    takeovers.sync_rota(session, policy, now)
    takeovers.hand_over(session, policy, now)
    assert takeovers.hand_over(session, policy, now + timedelta(hours=1)) == []
    assert len(_outbox(session)) == 1


def test_a_late_sign_off_and_a_window_missed_while_down_are_recorded_not_posted(
    session, acme_policy, people, now
) -> None:
    early, late = _shift(PETER, now, hours=1), _shift(BEN, now + timedelta(hours=2), hours=1)
    policy = _with_rota(acme_policy, early, late)
    takeovers.sync_rota(session, policy, now)
    takeovers.hand_over(session, policy, now)  # Peter's announcement goes out

    # Townhall is down from now + 1 min until an hour after Ben's shift ended.
    back = now + timedelta(hours=4, minutes=1)
    assert takeovers.hand_over(session, policy, back) == []
    assert takeovers.hand_over(session, policy, back + timedelta(minutes=1)) == []

    announced, late_sign_off, missed = _outbox(session)
    assert announced.status == OutboxStatus.APPROVED
    assert late_sign_off.key.endswith("-end") and late_sign_off.status == OutboxStatus.MISSED
    assert "not posted late" in late_sign_off.error
    assert missed.key.endswith("-start") and missed.status == OutboxStatus.MISSED
    assert missed.author_id == people[BEN].id and "not announced" in missed.error
    # A shift that was never announced gets no sign-off either.
    assert takeovers.hand_over(session, policy, late.end + timedelta(minutes=2)) == []
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("takeover.%missed"))
    ).all()
    assert sorted(actions) == ["takeover.missed", "takeover.sign_off_missed"]


def test_a_cancelled_shift_is_not_announced(session, acme_policy, people, now) -> None:
    policy = _with_rota(acme_policy, _shift(PETER, now + timedelta(hours=1)))
    takeovers.sync_rota(session, policy, now)
    [row] = _rows(session)
    takeovers.cancel_shift(session, policy, row.id, actor=people[MAYA], now=now)
    assert takeovers.hand_over(session, policy, now + timedelta(hours=1)) == []
    assert _outbox(session) == []


# -- editing the rota --------------------------------------------------------------------------
def _add(session: Session, policy: Policy, actor: User, now: datetime, **fields: Any) -> Takeover:
    shift: dict[str, Any] = {
        "person_email": PETER,
        "channel": "mastodon",
        "start": now + timedelta(hours=1),
        "end": now + timedelta(hours=3),
    }
    shift.update(fields)
    return takeovers.add_shift(session, policy, actor=actor, now=now, **shift)


@pytest.mark.parametrize("editor", [MAYA, TOM, JONAS])
def test_marketing_and_admins_add_shifts(session, acme_policy, people, now, editor) -> None:
    added = _add(session, acme_policy, people[editor], now)
    assert (added.origin, added.created_by_id, added.user.email) == ("ui", people[editor].id, PETER)
    assert takeovers.on_shift(session, people[PETER].id, "mastodon", now + timedelta(hours=2))


@pytest.mark.parametrize("outsider", [SOFIA, PETER])
def test_others_may_not_edit_the_rota(session, acme_policy, people, now, outsider) -> None:
    with pytest.raises(PermissionDeniedError, match="social calendar"):
        _add(session, acme_policy, people[outsider], now)
    added = _add(session, acme_policy, people[MAYA], now)
    with pytest.raises(PermissionDeniedError):
        takeovers.cancel_shift(session, acme_policy, added.id, actor=people[outsider], now=now)
    assert added.cancelled_at is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"person_email": "nobody@acme.example"}, "person"),
        ({"channel": "myspace"}, "channel"),
        ({"end": datetime(2026, 11, 20, 14, 30, tzinfo=UTC)}, "end"),  # before its start
        ({"start": datetime(2026, 11, 20, 13, 0, tzinfo=UTC)}, "start"),  # in the past
        ({"end": datetime(2026, 12, 20, 14, 0, tzinfo=UTC)}, "end"),  # a month long
        ({"start": datetime(2026, 11, 21, 9, 0)}, "start"),  # no zone
    ],
)
def test_a_bad_shift_names_its_field(session, acme_policy, people, now, fields, field) -> None:
    with pytest.raises(InputError) as caught:
        _add(session, acme_policy, people[MAYA], now, **fields)
    assert caught.value.message.startswith(f"{field}: ")
    assert _rows(session) == []


def test_two_people_cannot_hold_one_account_at_once(session, acme_policy, people, now) -> None:
    _add(session, acme_policy, people[MAYA], now)
    with pytest.raises(InputError, match=r"^start: Peter Novak is on mastodon"):
        _add(session, acme_policy, people[MAYA], now, person_email=BEN,
             start=now + timedelta(hours=2), end=now + timedelta(hours=4))  # fmt: skip
    # Back to back is fine, and so is another account.
    _add(session, acme_policy, people[MAYA], now, person_email=BEN,
         start=now + timedelta(hours=3), end=now + timedelta(hours=4))  # fmt: skip
    _add(session, acme_policy, people[MAYA], now, person_email=BEN, channel="bluesky")
    assert len(_rows(session)) == 3


def test_cancelling_a_future_shift_then_adding_it_again(session, acme_policy, people, now) -> None:
    added = _add(session, acme_policy, people[TOM], now)
    takeovers.cancel_shift(session, acme_policy, added.id, actor=people[TOM], now=now)
    assert added.cancelled_at == now
    with pytest.raises(ConflictError, match="already cancelled"):
        takeovers.cancel_shift(session, acme_policy, added.id, actor=people[TOM], now=now)
    again = _add(session, acme_policy, people[MAYA], now)
    assert again.id == added.id and again.cancelled_at is None


def test_a_running_shift_ends_now_and_an_ended_one_stays(session, acme_policy, people, now) -> None:
    added = _add(session, acme_policy, people[TOM], now)
    during = now + timedelta(hours=2)
    takeovers.cancel_shift(session, acme_policy, added.id, actor=people[TOM], now=during)
    assert takeovers.on_shift(session, people[PETER].id, "mastodon", during) is None

    other = _add(session, acme_policy, people[TOM], now, person_email=BEN, channel="bluesky")
    with pytest.raises(ConflictError, match="has ended"):
        takeovers.cancel_shift(
            session, acme_policy, other.id, actor=people[TOM], now=now + timedelta(hours=5)
        )


# -- end to end: the publisher and the local Mastodon stand-in ---------------------------------
class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def standin() -> MastodonStandin:
    return MastodonStandin(domain="mastodon.example", username="acme", token="t0k3n")


@pytest.fixture
def world(
    tmp_path: Path,
    standin: MastodonStandin,
    make_database_url: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[sessionmaker[Session], Policy, Clock, Callable[[], OutboxPublisher]]]:
    """A database of its own file, ACME's policy with a live mastodon channel on the stand-in
    and Peter on it from ten minutes from now for two hours."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=10)
    shift = {"person": PETER, "channel": "mastodon", "start": start.isoformat(),
             "end": (start + timedelta(hours=2)).isoformat()}  # fmt: skip
    monkeypatch.setenv(TOKEN_ENV, "t0k3n")
    with LocalServer(standin.app) as server:
        rota = {
            "announcement": "Today {name} from {department} runs our account. Ask away!",
            "sign_off": "",
            "shifts": [shift],
        }
        policy = load_policy(policy_with(tmp_path, mastodon_channel(server.url), takeovers=rota))
        engine: Engine = make_engine(make_database_url())
        sessions = session_factory(engine)
        with sessions() as session, session.begin():
            for person in policy.people:
                upsert_user(session, email=person.email, name=person.name,
                            department=person.department, role=person.role,
                            password="not-used", now=start)  # fmt: skip
        clock = Clock(start - timedelta(minutes=10))
        settings = Settings(home=tmp_path, channel_timeout=5, publish_lease=60)
        made: list[OutboxPublisher] = []

        def publisher() -> OutboxPublisher:
            made.append(OutboxPublisher(sessions, lambda: policy, settings, clock))
            return made[-1]

        yield sessions, policy, clock, publisher
        for p in made:
            p.close()
        engine.dispose()


def _statuses(standin: MastodonStandin) -> list[str]:
    return [html_to_text(s["content"]) for s in standin.published]


def test_the_announcement_is_published_once_at_the_shifts_start(world, standin) -> None:
    sessions, policy, clock, publisher = world
    start = policy.takeovers.shifts[0].start

    publisher().run_once()  # before the shift: the rota is synced, nothing is said
    assert standin.published == []

    clock.now = start
    # Two passes at the same instant, from two sessions on the same database file.
    barrier = threading.Barrier(2)
    handed: list[int] = []
    errors: list[BaseException] = []

    def pass_() -> None:
        try:
            barrier.wait(timeout=10)
            with sessions() as session, session.begin():
                handed.append(len(takeovers.hand_over(session, policy, start)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=pass_) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == [] and sorted(handed) == [0, 1]

    first, again = publisher().run_once(), publisher().run_once()
    clock.now = start + timedelta(minutes=1)
    publisher().run_once()

    assert (first.published, again.published) == (1, 0)
    assert _statuses(standin) == ["Today Peter Novak from Back office runs our account. Ask away!"]
    with sessions() as session:
        announcements = select(OutboxPost).where(OutboxPost.recurring.is_(None))  # no tips
        post = session.scalars(announcements).unique().one()
        assert post.status == OutboxStatus.PUBLISHED
        assert post.remote_url == standin.published[0]["url"]
        assert session.scalar(select(func.count()).select_from(Takeover)) == 1


def test_the_person_drafts_during_the_shift_and_not_after(world) -> None:
    """Needs ``create_draft``'s takeover wiring (``takeovers.on_shift`` in drafts.py)."""
    sessions, policy, _, publisher = world
    start = policy.takeovers.shifts[0].start
    publisher().run_once()  # syncs the rota
    with sessions() as session, session.begin():
        peter = session.scalars(select(User).where(User.email == PETER)).one()
        with pytest.raises(PermissionDeniedError):
            drafts.create_draft(session, policy, channel="mastodon", text="Early hello!",
                                author=peter, now=start - timedelta(minutes=1))  # fmt: skip
        during = drafts.create_draft(
            session, policy, channel="mastodon", text="Ask me how invoices get paid!",
            author=peter, now=start + timedelta(minutes=30),
        )  # fmt: skip
        assert during.kind == OutboxKind.TAKEOVER and during.takeover_id is not None
        assert during.status == OutboxStatus.DRAFT  # marketing approves takeover posts
        assert during.chain == "takeover"
        with pytest.raises(PermissionDeniedError):
            drafts.create_draft(session, policy, channel="mastodon", text="One more thing",
                                author=peter, now=start + timedelta(hours=2))  # fmt: skip
