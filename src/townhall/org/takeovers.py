"""The ``takeovers:`` section of the policy: the rota of staff who take turns on an account,
and the templates of the hand-over announcement and sign-off.

A shift names a person (by e-mail), a channel, and when it starts and ends, both with a time
zone. The templates may use the placeholders in ``PLACEHOLDERS``; anything else in braces is a
policy error, caught when the policy loads rather than when the announcement is due.

Pure: no I/O.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, field_validator, model_validator

from townhall.org.fields import Email, Loc, PolicyModel, items_of

PLACEHOLDERS: dict[str, str] = {
    "name": "the person's full name",
    "first_name": "the person's first name",
    "department": "the name of the person's department",
    "channel": "the channel's id",
    "account": "the account's handle on the network",
    "start": "when the shift starts (HH:MM in the policy's time zone)",
    "end": "when the shift ends (HH:MM in the policy's time zone)",
}
"""The placeholders a takeover template may use, and what each becomes."""

MAX_SHIFT = timedelta(days=14)
"""The longest shift the rota accepts: anything longer is almost always a typo in a date."""

MAX_TEMPLATE = 1_000
"""Longest template, in characters (the network's own limit is checked on publishing)."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{value.isoformat()} needs a time zone, e.g. {value.isoformat()}+00:00 or "
            f"{value.isoformat()}Z"
        )
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


def template_problem(template: str, placeholders: Iterable[str] = PLACEHOLDERS) -> str | None:
    """Why ``template`` cannot be filled in (an unknown placeholder, a format spec, a stray
    brace), or None when it can."""
    allowed = list(placeholders)
    known = ", ".join("{" + name + "}" for name in allowed)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:  # a single "{" or "}": write "{{" or "}}" for a literal brace
        return f"{exc} (write {{{{ or }}}} for a literal brace)"
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in allowed:
            shown = "{" + field + "}" if field else "{}"
            return f"unknown placeholder {shown} (known: {known})"
        if spec or conversion:
            return f"placeholder {{{field}}} takes no format or conversion (write just {{{field}}})"
    return None


def _check_template(value: str) -> str:
    if len(value) > MAX_TEMPLATE:
        raise ValueError(f"a template has at most {MAX_TEMPLATE:,} characters")
    problem = template_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class Shift(PolicyModel):
    """One person on one account from ``start`` to ``end`` (both with a time zone)."""

    person: Email
    channel: str
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Shift:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > MAX_SHIFT:
            raise ValueError(f"a shift lasts at most {MAX_SHIFT.days} days (check the dates)")
        return self


class TakeoverPolicy(PolicyModel):
    """The rota and the templates; an empty ``sign_off`` means no sign-off is posted."""

    announcement: str = "Today {name} from {department} runs our account. Ask them anything!"
    sign_off: str = ""
    shifts: list[Shift] = []

    @field_validator("announcement")
    @classmethod
    def _announcement(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the announcement cannot be empty")
        return _check_template(value)

    @field_validator("sign_off")
    @classmethod
    def _sign_off(cls, value: str) -> str:
        return _check_template(value)


def fill(template: str, values: Mapping[str, str]) -> str:
    """The template with its placeholders filled in from ``values`` (every known placeholder
    must be given; the template is assumed valid, see ``template_problem``)."""
    return template.format_map({name: values[name] for name in PLACEHOLDERS})


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None and moment.utcoffset() is not None else None


def takeover_problems(
    data: Mapping[str, Any], emails: set[str], channels: set[str]
) -> list[tuple[Loc, str]]:
    """Cross-field problems of the ``takeovers:`` section: a person not among the people, an
    unknown channel, two shifts at the same time on the same channel."""
    section = data.get("takeovers")
    if not isinstance(section, Mapping):
        return []
    problems: list[tuple[Loc, str]] = []
    spans: list[tuple[int, str, datetime, datetime]] = []
    for i, shift in items_of(section, "shifts"):
        loc: Loc = ("takeovers", "shifts", i)
        person, channel = shift.get("person"), shift.get("channel")
        if isinstance(person, str) and person.lower() not in emails:
            problems.append(((*loc, "person"), f"{person!r} is not among the people of the policy"))
        if isinstance(channel, str) and channel not in channels:
            valid = ", ".join(sorted(channels))
            problems.append(((*loc, "channel"), f"unknown channel {channel!r} (valid: {valid})"))
        start, end = _as_datetime(shift.get("start")), _as_datetime(shift.get("end"))
        if isinstance(channel, str) and start is not None and end is not None and start < end:
            for j, other_channel, other_start, other_end in spans:
                if other_channel == channel and start < other_end and other_start < end:
                    problems.append(
                        (
                            (*loc, "start"),
                            f"overlaps takeovers.shifts[{j}] on {channel} (one person at a "
                            "time runs an account)",
                        )
                    )
                    break
            spans.append((i, channel, start, end))
    return problems
