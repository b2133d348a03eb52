"""The ``planning:`` section of the policy: the categories posts are planned under, the
frequency caps that keep the company from annoying its customers, and recurring slots.

```yaml
planning:
  categories:
    - {id: promotional, name: Promotional, colour: "#b45309"}
    - {id: press_release, name: Press release}
    - {id: newsletter, name: Newsletter}        # an e-mail send planned by the e-mail team
  caps:
    - id: press_releases_weekly
      name: At most 2 press releases a week on a channel
      categories: [press_release]
      max: 2
      per: week                                 # a calendar week in the company's time zone
    - id: promo_gap
      categories: [promotional]
      min_gap_hours: 3                          # between two promotional posts on a channel
    - id: newsletter_quiet
      categories: [promotional]
      against: [newsletter]                     # ... and any newsletter, on no channel
      min_gap_hours: 2
      level: warn
  recurring:
    - id: tip_of_the_week
      name: Tip of the week
      channel: acme_mastodon
      category: tip
      weekdays: [tue]
      time: "10:00"
      text: "Tip of the week: ..."
      author: maya.marketing@acme.example
```

A cap counts the entries of its ``categories`` (all posts when empty) on each channel of its
``channels`` (every channel when empty) separately, or across channels with
``scope: company``. ``max`` with ``per`` (day or week, calendar periods in the company's time
zone) or ``within_hours`` (any sliding window that long) limits how many; ``min_gap_hours``
keeps entries apart; ``against`` names the categories a gap is kept from (default: the cap's
own), planned entries of the e-mail and search teams included. ``level: block`` refuses a
slot, ``warn`` lets it through with the reason.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, PositiveInt, model_validator

from townhall.org.fields import (
    Email,
    Id,
    Loc,
    PolicyModel,
    Timezone,
    WeekdayList,
    items_of,
    strings_of,
    unique_ids,
)

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")

MAX_AHEAD_DAYS = 90
"""The furthest ahead a recurring slot writes drafts, in days."""


def _check_clock(value: str) -> str:
    if not _CLOCK.match(value):
        raise ValueError(f"invalid time {value!r} (expected HH:MM, e.g. 10:00)")
    return value


def _check_colour(value: str) -> str:
    if not _COLOUR.match(value):
        raise ValueError(f"invalid colour {value!r} (expected #rrggbb, e.g. #1d4ed8)")
    return value


Clock = Annotated[str, AfterValidator(_check_clock)]
Colour = Annotated[str, AfterValidator(_check_colour)]


class Category(PolicyModel):
    """What a planned post or send is: promotional, a press release, a newsletter..."""

    id: Id
    name: str = ""
    colour: Colour | None = None
    description: str = ""

    @property
    def label(self) -> str:
        """How the category reads on a page."""
        return self.name or self.id.replace("_", " ").capitalize()


class CapLevel(StrEnum):
    """What breaking a cap does to a slot."""

    BLOCK = "block"  # refused, with the next free slot offered
    WARN = "warn"  # allowed, with the reason shown


class Period(StrEnum):
    """A calendar period a ``max`` counts in (company time zone)."""

    DAY = "day"
    WEEK = "week"  # Monday to Sunday


class CapScope(StrEnum):
    """Whether a cap counts each channel on its own or all channels together."""

    CHANNEL = "channel"
    COMPANY = "company"


class Cap(PolicyModel):
    """A frequency cap: ``max`` entries ``per`` period or ``within_hours``, or at least
    ``min_gap_hours`` between entries (exactly one of the two kinds)."""

    id: Id
    name: str = ""
    categories: list[str] = []
    """Categories counted (empty: every post)."""
    channels: list[str] = []
    """Channels it applies to (empty: every channel)."""
    scope: CapScope = CapScope.CHANNEL
    max: PositiveInt | None = None
    per: Period | None = None
    within_hours: Annotated[float, Field(gt=0, le=24 * 31)] | None = None
    min_gap_hours: Annotated[float, Field(gt=0, le=24 * 31)] | None = None
    against: list[str] = []
    """Categories a gap is kept from (empty: the cap's own categories)."""
    level: CapLevel = CapLevel.BLOCK

    @model_validator(mode="after")
    def _one_kind(self) -> Cap:
        if self.max is not None:
            if self.min_gap_hours is not None:
                raise ValueError("a cap has either max (with per or within_hours) or min_gap_hours")
            if (self.per is None) == (self.within_hours is None):
                raise ValueError("max needs exactly one of per (day, week) or within_hours")
        elif self.min_gap_hours is None:
            raise ValueError("a cap needs max (with per or within_hours) or min_gap_hours")
        elif self.per is not None or self.within_hours is not None:
            raise ValueError("per and within_hours go with max, not with min_gap_hours")
        if self.against and self.min_gap_hours is None:
            raise ValueError("against goes with min_gap_hours")
        return self

    @property
    def label(self) -> str:
        """How the cap reads on a page."""
        return self.name or self.id.replace("_", " ").capitalize()


class Recurring(PolicyModel):
    """A recurring slot: a draft on ``channel`` at ``time`` (local to ``timezone``, else the
    company's) on each of ``weekdays``, written ``ahead_days`` ahead in ``author``'s name."""

    id: Id
    name: str = ""
    channel: str
    category: str | None = None
    weekdays: WeekdayList
    time: Clock
    timezone: Timezone | None = None
    text: Annotated[str, Field(min_length=1, max_length=10_000)]
    author: Email
    ahead_days: Annotated[int, Field(ge=1, le=MAX_AHEAD_DAYS)] = 14
    starts: str | None = None
    """First date (YYYY-MM-DD) it writes drafts for (default: from today)."""
    ends: str | None = None
    """Last date (YYYY-MM-DD) it writes drafts for (default: no end)."""

    @property
    def label(self) -> str:
        """How the slot reads on a page."""
        return self.name or self.id.replace("_", " ").capitalize()


class Planning(PolicyModel):
    """Categories, frequency caps and recurring slots."""

    categories: list[Category] = []
    caps: list[Cap] = []
    recurring: list[Recurring] = []

    def category(self, category_id: str) -> Category | None:
        """The category with this id, or None."""
        for category in self.categories:
            if category.id == category_id:
                return category
        return None


def planning_problems(
    data: Mapping[str, Any], emails: set[str], channels: set[str]
) -> list[tuple[Loc, str]]:
    """Cross-field problems of ``planning:``: repeated ids, unknown categories, channels and
    people."""
    section = data.get("planning")
    if not isinstance(section, Mapping):
        return []
    problems: list[tuple[Loc, str]] = []
    categories = items_of(section, "categories")
    caps = items_of(section, "caps")
    recurring = items_of(section, "recurring")
    for key, entries in (("categories", categories), ("caps", caps), ("recurring", recurring)):
        problems += [(("planning", *loc), msg) for loc, msg in unique_ids(key, entries)]
    known = {c["id"] for _, c in categories if isinstance(c.get("id"), str)}
    valid = ", ".join(sorted(known)) or "none: add them under planning.categories"
    valid_channels = ", ".join(sorted(channels))

    def category(loc: Loc, value: str) -> None:
        if value not in known:
            problems.append((loc, f"unknown category {value!r} (valid: {valid})"))

    def channel(loc: Loc, value: str) -> None:
        if value not in channels:
            problems.append((loc, f"unknown channel {value!r} (valid: {valid_channels})"))

    for i, cap in caps:
        loc: Loc = ("planning", "caps", i)
        for key in ("categories", "against"):
            for j, value in strings_of(cap.get(key)):
                category((*loc, key, j), value)
        for j, value in strings_of(cap.get("channels")):
            channel((*loc, "channels", j), value)
    for i, slot in recurring:
        loc = ("planning", "recurring", i)
        if isinstance(slot.get("channel"), str):
            channel((*loc, "channel"), slot["channel"])
        if isinstance(slot.get("category"), str):
            category((*loc, "category"), slot["category"])
        author = slot.get("author")
        if isinstance(author, str) and author.lower() not in emails:
            problems.append(((*loc, "author"), f"{author!r} is not among the people of the policy"))
        for key in ("starts", "ends"):
            day = slot.get(key)
            if day is not None and not (
                isinstance(day, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day)
            ):
                problems.append(((*loc, key), f"{day!r} is not a date (expected YYYY-MM-DD)"))
    return problems
