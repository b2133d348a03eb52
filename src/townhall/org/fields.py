"""Shared field types and helpers of the policy models: ids, e-mail, hours, time zones,
weekdays, locations of problems, and how keywords and time windows compare.

Pure: no I/O.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    model_validator,
)

from townhall.understand.labels import Intent, SentimentLabel
from townhall.understand.reach import ReachTier

Loc = tuple[str | int, ...]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOURS = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"invalid id {value!r} (use lowercase letters, digits and _)")
    return value


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"not an e-mail address: {value!r} (expected name@domain.example)")
    return value


def _check_hours(value: str) -> str:
    if not _HOURS.match(value):
        raise ValueError(
            f"invalid working hours {value!r} (expected HH:MM-HH:MM, e.g. 08:00-18:00)"
        )
    start, end = value.split("-")
    if start >= end:
        raise ValueError(f"working hours {value!r} end before they start")
    return value


def _check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r} (expected an IANA name such as Europe/London)"
        ) from None
    return value


def _check_window(value: str) -> str:
    if not _HOURS.match(value):
        raise ValueError(f"invalid hours {value!r} (expected HH:MM-HH:MM, e.g. 09:00-17:00)")
    start, end = value.split("-")
    if start == end:
        raise ValueError(f"hours {value!r} start and end at the same time")
    return value


def one_or_many(value: Any) -> Any:
    # `intent: press_inquiry` reads as `intent: [press_inquiry]`.
    return [value] if isinstance(value, str) else value


Id = Annotated[str, AfterValidator(_check_id)]
Email = Annotated[str, AfterValidator(_check_email)]
WorkingHours = Annotated[str, AfterValidator(_check_hours)]
Timezone = Annotated[str, AfterValidator(_check_timezone)]
#: Local time window of a routing rule; may wrap past midnight (``22:00-06:00``).
TimeWindow = Annotated[str, AfterValidator(_check_window)]

Priority = Literal["low", "normal", "high", "urgent"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
"""Weekday names in ``datetime.weekday()`` order (Monday is 0)."""

# Condition values: one value or a non-empty list of them ("any of").
_AnyOf = (BeforeValidator(one_or_many), Field(min_length=1))
IntentList = Annotated[list[Intent], *_AnyOf]
SentimentList = Annotated[list[SentimentLabel], *_AnyOf]
ReachList = Annotated[list[ReachTier], *_AnyOf]
WeekdayList = Annotated[list[Weekday], *_AnyOf]
StrList = Annotated[list[str], *_AnyOf]


class PolicyModel(BaseModel):
    """Base of every policy model: unknown fields are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Sla(PolicyModel):
    """Service-level targets in minutes."""

    first_response: PositiveInt
    resolution: PositiveInt

    @model_validator(mode="after")
    def _ordered(self) -> Sla:
        if self.resolution < self.first_response:
            raise ValueError("resolution must not be shorter than first_response")
        return self


def format_loc(loc: Loc) -> str:
    """``('people', 0, 'email')`` → ``people[0].email``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def items_of(data: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    """The mappings of a list section with their indexes (other shapes are skipped)."""
    value = data.get(key)
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, Mapping)]


def strings_of(value: Any) -> list[tuple[int, str]]:
    """The strings of a list with their indexes (other shapes are skipped)."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)]


def unique_ids(
    section: str, items: list[tuple[int, Mapping[str, Any]]], key: str = "id"
) -> list[tuple[Loc, str]]:
    """A problem for each repeated ``key`` value in a section (e-mails compare case-folded)."""
    seen: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for i, item in items:
        value = item.get(key)
        if not isinstance(value, str):
            continue
        folded = value.casefold() if key == "email" else value
        if folded in seen:
            what = "e-mail (case-insensitive)" if key == "email" else "id"
            problems.append(
                (
                    (section, i, key),
                    f"duplicate {what} {value!r} (first at {section}[{seen[folded]}])",
                )
            )
        else:
            seen[folded] = i
    return problems


def window_minutes(hours: str) -> tuple[int, int]:
    """``"09:00-17:30"`` → ``(540, 1050)``: start and end in minutes after midnight."""
    start, end = (int(t[:2]) * 60 + int(t[3:]) for t in hours.split("-"))
    return start, end


def in_window(minute: int, window: tuple[int, int]) -> bool:
    """Whether a minute of the day falls in ``[start, end)``; windows may wrap past midnight."""
    start, end = window
    return start <= minute < end if start < end else (minute >= start or minute < end)


def fold_keyword(keyword: str) -> str:
    """How keywords compare: case-folded, one space between words, straight apostrophes."""
    return " ".join(keyword.replace("\u2019", "'").casefold().split())
