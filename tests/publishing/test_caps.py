"""Frequency caps as pure functions: examples of each kind with their exact reasons, and
properties checked against brute-force checkers written here (not with ``caps.check``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import combinations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from townhall.org.planning import Cap, CapLevel, CapScope, Period
from townhall.publishing import localtime
from townhall.publishing.caps import Names, Slot, blocking, check, next_free

LONDON = localtime.zone("Europe/London")
NAMES = Names(
    categories={
        "promotional": "Promotional",
        "press_release": "Press release",
        "newsletter": "Newsletter",
    }
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def slot(key: str, at: datetime, channel: str | None = "mastodon", category: str | None = None):
    return Slot(key, at, channel, category)


# -- examples -----------------------------------------------------------------------------

PRESS_WEEKLY = Cap(id="press", categories=["press_release"], max=2, per=Period.WEEK)
PROMO_GAP = Cap(id="promo_gap", categories=["promotional"], min_gap_hours=3)
NEWSLETTER_QUIET = Cap(
    id="quiet", categories=["promotional"], against=["newsletter"], min_gap_hours=2,
    level=CapLevel.WARN,
)  # fmt: skip
DAILY = Cap(id="daily", max=2, per=Period.DAY)
BURST = Cap(id="burst", max=2, within_hours=4, scope=CapScope.COMPANY)


def whys(caps, schedule, candidate) -> list[str]:
    return [b.why for b in check(caps, schedule, candidate, LONDON, NAMES)]


def test_a_weekly_cap_counts_the_local_week_of_the_channel() -> None:
    schedule = [
        slot("a", utc(2026, 12, 7, 9), category="press_release"),
        slot("b", utc(2026, 12, 9, 11), category="press_release"),
        slot("c", utc(2026, 12, 9, 12), channel="bluesky", category="press_release"),
        slot("d", utc(2026, 12, 6, 23, 59), category="press_release"),  # the Sunday before
    ]
    third = slot("new", utc(2026, 12, 10, 12), category="press_release")
    [breach] = check([PRESS_WEEKLY], schedule, third, LONDON, NAMES)
    assert breach.why == (
        "Press release posts on mastodon: this would be the 3rd in the week of Mon 7 Dec "
        "(at most 2: Mon 7 Dec 09:00 and Wed 9 Dec 11:00)"
    )
    assert breach.as_json() == {
        "cap": "press",
        "level": "block",
        "why": breach.why,
        "with": ["a", "b"],
    }
    # Another category, or the week after, is free; a post moved within its week is not
    # counted against itself.
    assert check([PRESS_WEEKLY], schedule, slot("new", third.at), LONDON) == []
    assert check([PRESS_WEEKLY], schedule, slot("x", utc(2026, 12, 14), None, "x"), LONDON) == []
    moved = slot("b", utc(2026, 12, 11, 9), category="press_release")
    assert check([PRESS_WEEKLY], schedule, moved, LONDON) == []


def test_a_daily_cap_lists_the_times_of_that_day() -> None:
    schedule = [slot("a", utc(2026, 12, 8, 9)), slot("b", utc(2026, 12, 8, 11, 30))]
    assert whys([DAILY], schedule, slot("new", utc(2026, 12, 8, 23, 59))) == [
        "Posts on mastodon: this would be the 3rd on Tue 8 Dec (at most 2: 09:00 and 11:30)"
    ]
    assert whys([DAILY], schedule, slot("new", utc(2026, 12, 9, 0))) == []


def test_a_sliding_window_across_the_company() -> None:
    schedule = [
        slot("a", utc(2026, 12, 8, 9)),
        slot("b", utc(2026, 12, 8, 11), channel="bluesky"),
        slot("c", utc(2026, 12, 8, 15)),
    ]
    assert whys([BURST], schedule, slot("new", utc(2026, 12, 8, 12))) == [
        "Posts across all channels: this would be the 3rd within 4 h (at most 2: Tue 8 Dec "
        "09:00 and Tue 8 Dec 11:00)"
    ]
    # 11:00, 13:00 and 15:00 span exactly 4 h: two windows, so 13:00 is free.
    assert whys([BURST], schedule, slot("new", utc(2026, 12, 8, 13))) == []
    assert len(whys([BURST], schedule, slot("new", utc(2026, 12, 8, 12, 59)))) == 1


def test_a_gap_names_the_nearest_post_on_either_side() -> None:
    schedule = [
        slot("a", utc(2026, 12, 10, 10, 40), category="promotional"),
        slot("b", utc(2026, 12, 10, 14), category="promotional"),
        slot("c", utc(2026, 12, 10, 12), channel="bluesky", category="promotional"),
    ]

    def promo(*parts: int, cap: Cap = PROMO_GAP) -> list[str]:
        return whys([cap], schedule, slot("n", utc(*parts), category="promotional"))

    assert promo(2026, 12, 10, 12) == [
        "Only 1 h 20 min after the promotional post at 10:40 (at least 3 h apart)"
    ]
    assert promo(2026, 12, 10, 13, 20) == [
        "Only 40 min before the promotional post at 14:00 (at least 3 h apart)"
    ]
    assert promo(2026, 12, 10, 14) == [
        "At the same time as the promotional post at 14:00 (at least 3 h apart)"
    ]
    # Exactly 3 h apart is fine; another day is spelled out.
    assert promo(2026, 12, 10, 17) == []
    long_gap = PROMO_GAP.model_copy(update={"min_gap_hours": 12})
    assert promo(2026, 12, 9, 23, cap=long_gap) == [
        "Only 11 h 40 min before the promotional post at Thu 10 Dec 10:40 (at least 12 h apart)"
    ]


def test_a_gap_against_a_planned_newsletter_warns_from_both_sides() -> None:
    newsletter = slot("planned-1", utc(2026, 12, 10, 13), channel=None, category="newsletter")
    promo = slot("post-1", utc(2026, 12, 10, 12), category="promotional")
    [breach] = check([NEWSLETTER_QUIET, PROMO_GAP], [newsletter], promo, LONDON, NAMES)
    assert (breach.level, breach.blocks) == (CapLevel.WARN, False)
    assert breach.why == "Only 1 h before the newsletter at 13:00 (at least 2 h apart)"
    # Planning the newsletter next to the post warns too; two newsletters do not clash.
    assert whys([NEWSLETTER_QUIET], [promo], newsletter) == [
        "Only 1 h after the promotional post at 12:00 (at least 2 h apart)"
    ]
    other = slot("planned-2", utc(2026, 12, 10, 13), channel=None, category="newsletter")
    assert whys([NEWSLETTER_QUIET, DAILY], [newsletter], other) == []


def test_long_lists_are_cut_and_blocking_breaches_come_first() -> None:
    cap = Cap(id="few", max=1, per=Period.DAY, channels=["mastodon", "bluesky"], scope="company")
    schedule = [slot(f"s{i}", utc(2026, 12, 8, 8 + i)) for i in range(7)]
    warn = NEWSLETTER_QUIET.model_copy(update={"against": []})
    candidate = slot("new", utc(2026, 12, 8, 16, 30), category="promotional")
    schedule.append(slot("p", utc(2026, 12, 8, 16), category="promotional"))
    found = check([warn, cap], schedule, candidate, LONDON, NAMES)
    assert [b.cap.id for b in found] == ["few", "quiet"]
    assert found[0].why == (
        "Posts on mastodon and bluesky together: this would be the 9th on Tue 8 Dec (at most 1: "
        "08:00, 09:00, 10:00, 11:00, 12:00 and 3 more)"
    )
    assert len(found[0].clashes) == 8


def test_next_free_jumps_past_what_blocks() -> None:
    schedule = [
        slot("a", utc(2026, 12, 7, 9), category="press_release"),
        slot("b", utc(2026, 12, 9, 11), category="press_release"),
        slot("c", utc(2026, 12, 14, 0, 10), category="promotional"),
    ]
    candidate = slot("new", utc(2026, 12, 10, 12, 5), category="press_release")
    caps = [PRESS_WEEKLY, Cap(id="gap", min_gap_hours=1)]
    # Next week starts at midnight; the post at 00:10 keeps it off until 01:10, so the first
    # time on the 15-minute grid from 12:05 is 01:20.
    assert next_free(caps, schedule, candidate, LONDON) == utc(2026, 12, 14, 1, 20)
    assert next_free(caps, schedule, candidate, LONDON, horizon=timedelta(days=3)) is None
    free = slot("new", utc(2026, 12, 16, 12), category="press_release")
    assert next_free(caps, schedule, free, LONDON) == free.at
    # A window is clear once its first post is a window's length behind.
    burst = [slot("a", utc(2026, 12, 8, 9)), slot("b", utc(2026, 12, 8, 12))]
    late = slot("new", utc(2026, 12, 8, 11))
    assert next_free([BURST], burst, late, LONDON) == utc(2026, 12, 8, 13)


def test_next_free_on_a_crowded_calendar_is_found_without_trying_every_step() -> None:
    # A post every 30 minutes for 50 days with a 1-hour gap: every step is blocked until the
    # end, so stepping would be 4,800 tries; jumping is one per post at most.
    start = utc(2027, 1, 1)
    schedule = [slot(f"s{i}", start + timedelta(minutes=30 * i)) for i in range(2400)]
    candidate = slot("new", start)
    found = next_free([Cap(id="gap", min_gap_hours=1)], schedule, candidate, LONDON)
    assert found == schedule[-1].at + timedelta(hours=1)


# -- brute-force checkers (independent of caps.py) ----------------------------------------


def counted(cap: Cap, s: Slot) -> bool:
    channel_ok = s.channel is not None and (not cap.channels or s.channel in cap.channels)
    return channel_ok and (not cap.categories or s.category in cap.categories)


def kept(cap: Cap, s: Slot) -> bool:
    return s.category in cap.against if cap.against else counted(cap, s)


def together(cap: Cap, a: Slot, b: Slot) -> bool:
    if cap.scope == CapScope.COMPANY or None in (a.channel, b.channel):
        return True
    return a.channel == b.channel


def related(cap: Cap, a: Slot, b: Slot) -> bool:
    """Whether a gap cap keeps ``a`` and ``b`` apart."""
    pair = (counted(cap, a) and kept(cap, b)) or (counted(cap, b) and kept(cap, a))
    return pair and together(cap, a, b)


def period_key(at: datetime, per: Period) -> tuple[int, int]:
    day = at.astimezone(LONDON).date()
    if per is Period.DAY:
        return (day.toordinal(), 0)
    iso = day.isocalendar()
    return (iso.year, iso.week)


def broken(cap: Cap, schedule: list[Slot]) -> bool:
    """Whether anything in ``schedule`` breaks ``cap``."""
    if cap.min_gap_hours is not None:
        gap = timedelta(hours=cap.min_gap_hours)
        return any(
            related(cap, a, b) and abs(a.at - b.at) < gap for a, b in combinations(schedule, 2)
        )
    mine = [s for s in schedule if counted(cap, s)]
    groups: dict[object, list[Slot]] = {}
    for s in mine:
        groups.setdefault(s.channel if cap.scope == CapScope.CHANNEL else "all", []).append(s)
    assert cap.max is not None
    for members in groups.values():
        if cap.per is not None:
            tally: dict[tuple[int, int], int] = {}
            for s in members:
                key = period_key(s.at, cap.per)
                tally[key] = tally.get(key, 0) + 1
            if any(n > cap.max for n in tally.values()):
                return True
        else:
            length = timedelta(hours=cap.within_hours or 0)
            for a in members:
                if sum(1 for b in members if timedelta(0) <= b.at - a.at < length) > cap.max:
                    return True
    return False


def breaks(cap: Cap, others: list[Slot], candidate: Slot) -> bool:
    """Whether ``candidate`` breaks ``cap`` against ``others`` (which may already break it)."""
    others = [o for o in others if o.key != candidate.key]
    if cap.min_gap_hours is not None:
        gap = timedelta(hours=cap.min_gap_hours)
        return any(related(cap, candidate, o) and abs(o.at - candidate.at) < gap for o in others)
    if not counted(cap, candidate):
        return False
    near = [o for o in others if counted(cap, o) and together(cap, o, candidate)]
    assert cap.max is not None
    if cap.per is not None:
        mine = period_key(candidate.at, cap.per)
        return sum(1 for o in near if period_key(o.at, cap.per) == mine) >= cap.max
    length = timedelta(hours=cap.within_hours or 0)
    starts = [o.at for o in near if timedelta(0) <= candidate.at - o.at < length]
    return any(
        sum(1 for o in near if timedelta(0) <= o.at - s < length) + 1 > cap.max
        for s in [candidate.at, *starts]
    )


# -- strategies ---------------------------------------------------------------------------

# Three weeks around London's clocks going forward (28 Mar 2027), on a 5-minute grid so
# posts collide often.
BASE = utc(2027, 3, 20)
CHANNELS = ["mastodon", "bluesky", None]
CATEGORIES = ["promotional", "press_release", "newsletter", None]

times = st.integers(0, 21 * 24 * 12).map(lambda n: BASE + timedelta(minutes=5 * n))
entries = st.tuples(times, st.sampled_from(CHANNELS), st.sampled_from(CATEGORIES))
levels = st.sampled_from([CapLevel.BLOCK, CapLevel.BLOCK, CapLevel.WARN])
subsets = st.lists(st.sampled_from(["promotional", "press_release", "newsletter"]), unique=True)
channel_sets = st.lists(st.sampled_from(["mastodon", "bluesky"]), unique=True, max_size=1)
scopes = st.sampled_from([CapScope.CHANNEL, CapScope.COMPANY])


@st.composite
def a_cap(draw: st.DrawFn) -> Cap:
    kind = draw(st.sampled_from(["day", "week", "window", "gap"]))
    common = {
        "id": "c",
        "categories": draw(subsets),
        "channels": draw(channel_sets),
        "scope": draw(scopes),
        "level": draw(levels),
    }
    if kind == "gap":
        hours = draw(st.sampled_from([0.5, 1, 2.5, 6, 30]))
        return Cap(min_gap_hours=hours, against=draw(subsets), **common)
    most = draw(st.integers(1, 3))
    if kind == "window":
        hours = draw(st.sampled_from([1, 3, 24, 50]))
        return Cap(max=most, within_hours=hours, **common)
    return Cap(max=most, per=Period(kind), **common)


cap_lists = st.lists(a_cap(), min_size=1, max_size=3).map(
    lambda caps: [c.model_copy(update={"id": f"c{i}"}) for i, c in enumerate(caps)]
)


def slots_of(raw: list[tuple[datetime, str | None, str | None]]) -> list[Slot]:
    return [Slot(f"k{i}", at, channel, category) for i, (at, channel, category) in enumerate(raw)]


PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(cap_lists, st.lists(entries, max_size=30))
def test_a_schedule_built_through_check_never_breaks_a_blocking_cap(caps, raw) -> None:
    accepted: list[Slot] = []
    hard = [c for c in caps if c.level is CapLevel.BLOCK]
    for candidate in slots_of(raw):
        refused = bool(blocking(check(caps, accepted, candidate, LONDON)))
        # ``check`` refuses exactly what the brute-force checker says would break a cap.
        assert refused == any(broken(c, [*accepted, candidate]) for c in hard)
        if not refused:
            accepted.append(candidate)
    assert not any(broken(c, accepted) for c in hard)


@PROPS
@given(cap_lists, st.lists(entries, max_size=25), entries)
def test_next_free_is_the_first_free_time_on_the_grid(caps, raw, wanted) -> None:
    schedule = slots_of(raw)
    candidate = Slot("new", *wanted)
    step, horizon = timedelta(minutes=15), timedelta(days=4)
    found = next_free(caps, schedule, candidate, LONDON, step=step, horizon=horizon)
    hard = [c for c in caps if c.level is CapLevel.BLOCK]
    expected = None
    for k in range(horizon // step + 1):
        at = candidate.at + k * step
        moved = Slot("new", at, candidate.channel, candidate.category)
        if not any(breaks(c, schedule, moved) for c in hard):
            expected = at
            break
    assert found == expected
    if found is not None:
        moved = Slot("new", found, candidate.channel, candidate.category)
        assert not blocking(check(caps, schedule, moved, LONDON))


@PROPS
@given(cap_lists, st.lists(entries, max_size=25), entries)
def test_warn_caps_never_block(caps, raw, wanted) -> None:
    warn = [c.model_copy(update={"level": CapLevel.WARN}) for c in caps]
    schedule, candidate = slots_of(raw), Slot("new", *wanted)
    found = check(warn, schedule, candidate, LONDON)
    assert not blocking(found) and all(b.level is CapLevel.WARN for b in found)
    assert next_free(warn, schedule, candidate, LONDON) == candidate.at
    # The same caps as warnings report the same reasons.
    hard = [c.model_copy(update={"level": CapLevel.BLOCK}) for c in caps]
    assert [b.why for b in found] == [b.why for b in check(hard, schedule, candidate, LONDON)]


# Days around both of London's clock changes in 2027 (28 March: 23 h; 31 October: 25 h).
DST_DAYS = [date(2027, 3, d) for d in (27, 28, 29)] + [
    date(2027, 10, 30),
    date(2027, 10, 31),
    date(2027, 11, 1),
]
wall_times = st.tuples(st.sampled_from(DST_DAYS), st.integers(0, 23), st.integers(0, 59)).map(
    lambda t: localtime.at_local(t[0], time(t[1], t[2]), LONDON)
)


@PROPS
@given(wall_times, wall_times)
def test_a_daily_cap_counts_local_days_across_clock_changes(first, second) -> None:
    cap = Cap(id="one", max=1, per=Period.DAY)
    refused = bool(check([cap], [slot("a", first)], slot("b", second), LONDON))
    same_day = first.astimezone(LONDON).date() == second.astimezone(LONDON).date()
    assert refused == same_day


def test_a_post_at_half_past_eleven_on_the_long_day_is_on_that_day() -> None:
    cap = Cap(id="one", max=1, per=Period.DAY)
    early = localtime.at_local(date(2027, 10, 31), time(0, 30), LONDON)  # BST
    late = localtime.at_local(date(2027, 10, 31), time(23, 30), LONDON)  # GMT
    assert (early, late) == (utc(2027, 10, 30, 23, 30), utc(2027, 10, 31, 23, 30))
    assert whys([cap], [slot("a", early)], slot("b", late)) == [
        "Posts on mastodon: this would be the 2nd on Sun 31 Oct (at most 1: 00:30)"
    ]
    spring = localtime.at_local(date(2027, 3, 28), time(23, 30), LONDON)
    before = localtime.at_local(date(2027, 3, 28), time(0, 15), LONDON)
    assert whys([cap], [slot("a", before)], slot("b", spring)) != []
    assert next_free([cap], [slot("a", before)], slot("b", spring), LONDON) == utc(
        2027, 3, 28, 23, 0
    )
