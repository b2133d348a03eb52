"""SLA clocks and the escalation chain, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from townhall.routing.sla import (
    Clock,
    EscalationStep,
    SlaState,
    SlaTimes,
    SlaView,
    due_at,
    escalation_chain,
    overdue_clocks,
    sla_view,
)

OPENED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def times(first: int | None = 60, resolution: int | None = 480, **kw: datetime) -> SlaTimes:
    return SlaTimes(
        opened_at=OPENED,
        first_response_due_at=due_at(OPENED, first),
        resolution_due_at=due_at(OPENED, resolution),
        **kw,
    )


def at(minutes: float) -> datetime:
    return OPENED + timedelta(minutes=minutes)


def test_the_most_urgent_running_clock_decides_the_state() -> None:
    assert sla_view(times(), at(10)) == SlaView(SlaState.OK, Clock.FIRST_RESPONSE, 50)
    assert sla_view(times(), at(46)) == SlaView(SlaState.DUE_SOON, Clock.FIRST_RESPONSE, 14)
    assert sla_view(times(), at(75)) == SlaView(SlaState.BREACHED, Clock.FIRST_RESPONSE, -15)
    responded = times(first_responded_at=at(20))
    assert sla_view(responded, at(75)) == SlaView(SlaState.OK, Clock.RESOLUTION, 405)
    done = times(first_responded_at=at(20), resolved_at=at(100))
    assert sla_view(done, at(9999)) == SlaView(SlaState.MET)
    assert sla_view(times(None, None), at(5)) == SlaView(SlaState.NONE)


def test_labels_say_what_is_due_and_when() -> None:
    assert sla_view(times(), at(10)).label == "first response due in 50 min"
    assert sla_view(times(), at(75.5)).label == "first response overdue by 16 min"
    assert sla_view(times(first_responded_at=at(1)), at(0)).label == "resolution due in 8 h"
    assert sla_view(times(2000, 3000), at(0)).label == "first response due in 1 d 9 h 20 min"
    assert sla_view(times(), at(60)).label == "first response overdue by 0 min"
    assert SlaView(SlaState.NONE).label == "no SLA"


def test_a_clock_is_overdue_once_and_stops_when_answered() -> None:
    assert overdue_clocks(times(), at(59), frozenset()) == []
    assert overdue_clocks(times(), at(60), frozenset()) == [Clock.FIRST_RESPONSE]
    assert overdue_clocks(times(), at(500), frozenset()) == [
        Clock.FIRST_RESPONSE,
        Clock.RESOLUTION,
    ]
    assert overdue_clocks(times(), at(500), frozenset({Clock.FIRST_RESPONSE})) == [Clock.RESOLUTION]
    assert overdue_clocks(times(first_responded_at=at(59)), at(100), frozenset()) == []


def test_the_chain_is_the_approver_then_the_activity_lead(acme_policy) -> None:
    assert escalation_chain(acme_policy, "customer_service", None) == [
        EscalationStep("customer_service", "the approver of customer_service")
    ]
    # The activity is led by the same department: no second step.
    assert len(escalation_chain(acme_policy, "customer_service", "customer_issues")) == 1
    assert escalation_chain(acme_policy, "marketing", "influencer_relationships") == [
        EscalationStep("marketing", "the approver of marketing"),
        EscalationStep("pr", "pr leads influencer_relationships in the ownership matrix"),
    ]
    assert escalation_chain(acme_policy, "customer_service", "crisis_management")[1] == (
        EscalationStep("pr", "pr leads crisis_management in the ownership matrix")
    )
    assert len(escalation_chain(acme_policy, "sales", "no_such_activity")) == 1


@given(
    first=st.integers(1, 600),
    extra=st.integers(0, 3000),
    responded=st.one_of(st.none(), st.integers(0, 4000)),
    resolved=st.one_of(st.none(), st.integers(0, 4000)),
    steps=st.lists(st.integers(0, 600), min_size=1, max_size=20),
)
def test_with_an_injected_clock_each_clock_breaches_once_exactly_when_due(
    first: int, extra: int, responded: int | None, resolved: int | None, steps: list[int]
) -> None:
    """Drive the clock forward in random steps, recording breaches as the queue worker does."""
    stop_first = at(responded) if responded is not None else None
    stop_resolution = at(resolved) if resolved is not None else None
    item = SlaTimes(OPENED, at(first), at(first + extra), stop_first, stop_resolution)
    breached: dict[Clock, datetime] = {}
    now = OPENED
    for step in steps:
        now += timedelta(minutes=step)
        current = SlaTimes(
            item.opened_at,
            item.first_response_due_at,
            item.resolution_due_at,
            stop_first if stop_first and stop_first <= now else None,
            stop_resolution if stop_resolution and stop_resolution <= now else None,
        )
        for clock in overdue_clocks(current, now, frozenset(breached)):
            assert clock not in breached
            breached[clock] = now
        state = sla_view(current, now).state
        assert (state is SlaState.BREACHED) == any(
            due <= now and stop is None
            for due, stop in (
                (current.first_response_due_at, current.first_responded_at),
                (current.resolution_due_at, current.resolved_at),
            )
            if due is not None
        )
    for clock, when in breached.items():
        due = (
            item.first_response_due_at if clock is Clock.FIRST_RESPONSE else item.resolution_due_at
        )
        stop = stop_first if clock is Clock.FIRST_RESPONSE else stop_resolution
        assert due is not None and due <= when
        assert stop is None or stop > due  # a clock stopped in time never breaches
