"""Assignment inside a department: least-loaded among people available now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from townhall.models.user import Role
from townhall.routing.assignment import (
    Candidate,
    Login,
    candidates_for,
    choose_approver,
    choose_assignee,
    unavailable_because,
)

FRIDAY_2PM = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 14:00 in London too
SATURDAY = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)


def person(user_id: int, open_items: int = 0, **kw: object) -> Candidate:
    fields: dict[str, object] = {
        "name": f"P{user_id}",
        "role": Role.MEMBER,
        "working_hours": "08:00-18:00",
        "timezone": "Europe/London",
    }
    fields.update(kw)
    fields.setdefault("approves", fields["role"] in (Role.APPROVER, Role.ADMIN))
    return Candidate(user_id=user_id, open_items=open_items, **fields)  # type: ignore[arg-type]


def test_the_least_loaded_available_person_takes_the_item() -> None:
    people = [person(1, 4), person(2, 1), person(3, 2)]

    choice = choose_assignee(people, FRIDAY_2PM, department="customer_service")

    assert choice.user_id == 2
    assert choice.why == "P2 has the fewest open items (1) of the 3 available in customer_service"


def test_ties_go_to_the_lowest_user_id() -> None:
    assert choose_assignee([person(7, 1), person(3, 1)], FRIDAY_2PM, department="d").user_id == 3


def test_out_of_office_off_shift_and_full_people_are_passed_by() -> None:
    away = person(1, 0, out_of_office_until=FRIDAY_2PM + timedelta(days=3))
    night = person(2, 0, working_hours="22:00-06:00")
    full = person(3, 5, capacity=5)
    free = person(4, 9)

    assert choose_assignee([away, night, full, free], FRIDAY_2PM, department="d").user_id == 4
    assert unavailable_because(away, FRIDAY_2PM) == "out of office until Mon 23 Nov 14:00"
    assert unavailable_because(night, FRIDAY_2PM) == (
        "off shift (mon–fri 22:00-06:00 Europe/London)"
    )
    assert unavailable_because(full, FRIDAY_2PM) == "at capacity (5/5 open items)"
    assert unavailable_because(free, FRIDAY_2PM) is None


def test_out_of_office_ends_at_its_time() -> None:
    back = person(1, out_of_office_until=FRIDAY_2PM)
    assert unavailable_because(back, FRIDAY_2PM) is None


def test_working_days_and_the_time_zone_decide_the_shift() -> None:
    assert unavailable_because(person(1), SATURDAY) is not None
    weekend = person(1, working_days=("sat", "sun"))
    assert unavailable_because(weekend, SATURDAY) is None
    # 14:00 UTC is 23:00 in Tokyo: off a 09:00-18:00 shift there.
    tokyo = person(1, timezone="Asia/Tokyo", working_hours="09:00-18:00")
    assert unavailable_because(tokyo, FRIDAY_2PM) is not None


def test_nobody_available_leaves_the_item_in_the_queue_and_says_why() -> None:
    people = [person(2, 3, capacity=3, name="Bea"), person(1, name="Al", working_hours=None)]

    choice = choose_assignee(people, SATURDAY, department="sales")

    assert choice.user_id is None
    assert choice.why == (
        "nobody in sales is available now (Al off shift (mon–fri all day Europe/London); "
        "Bea off shift (mon–fri 08:00-18:00 Europe/London))"
    )
    assert choose_assignee([], FRIDAY_2PM, department="sales").why == (
        "nobody in sales has a login; it waits in the queue"
    )


def test_escalations_go_to_an_approver_even_off_shift_but_not_out_of_office() -> None:
    member = person(1)
    approver_away = person(2, role=Role.APPROVER, out_of_office_until=SATURDAY + timedelta(1))
    approver_off = person(3, role=Role.APPROVER)

    assert choose_approver([member, approver_off], FRIDAY_2PM, department="d").user_id == 3
    off = choose_approver([member, approver_away, approver_off], SATURDAY, department="d")
    assert (off.user_id, off.why) == (3, "P3 approves for d (off shift, but it is overdue)")
    none = choose_approver([member, approver_away], SATURDAY, department="d")
    assert (none.user_id, none.why) == (None, "d has no approver in office")


def test_candidates_take_hours_days_and_capacity_from_the_policy(acme_policy) -> None:
    logins = [
        Login(1, "Sofia.Rossi@acme.example", "Sofia Rossi", "customer_service", Role.APPROVER),
        Login(2, "new.hire@acme.example", "New Hire", "customer_service", Role.MEMBER),
        Login(3, "ben.carter@acme.example", "Ben Carter", "sales", Role.MEMBER),
    ]

    found = candidates_for(acme_policy, "customer_service", logins, {1: 4})

    assert [(c.user_id, c.open_items, c.working_hours, c.timezone) for c in found] == [
        (1, 4, "08:00-18:00", "Europe/London"),
        (2, 0, "08:00-18:00", "Europe/London"),
    ]
    assert found[0].working_days == ("mon", "tue", "wed", "thu", "fri")
    assert candidates_for(acme_policy, "no_such_department", logins, {}) == []


@given(
    loads=st.lists(st.integers(0, 30), min_size=1, max_size=8),
    capacities=st.lists(st.integers(1, 30), min_size=8, max_size=8),
    away=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_the_choice_is_always_available_and_least_loaded(
    loads: list[int], capacities: list[int], away: list[bool]
) -> None:
    later = FRIDAY_2PM + timedelta(hours=1)
    people = [
        person(n, load, capacity=capacities[n], out_of_office_until=later if away[n] else None)
        for n, load in enumerate(loads)
    ]
    available = [p for p in people if unavailable_because(p, FRIDAY_2PM) is None]

    choice = choose_assignee(people, FRIDAY_2PM, department="d")

    if not available:
        assert choice.user_id is None
    else:
        chosen = next(p for p in people if p.user_id == choice.user_id)
        assert chosen in available
        assert chosen.open_items == min(p.open_items for p in available)
