"""The web's parameter types: ids, policy ids, local times and text without NUL, each
checked so that a bad value is a 422 naming the field, never a 500.

Python's ``str.isdigit`` and ``int`` accept ``"²"``, ``"١٢"`` or ``"1_0"``; a database id is
ASCII digits only, within what every id column holds on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Annotated

from fastapi import Request
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from townhall.errors import InputError

MAX_ID = 2**31 - 1
"""The largest id the id columns hold: they are ``INTEGER`` (int4 on PostgreSQL; SQLite's hold
2^63-1). Raise it to 2^63-1 with a migration to ``BIGINT`` (tests/web/test_params.py checks)."""

_DIGITS = re.compile(r"[0-9]{1,19}")
_POLICY_ID = re.compile(r"[a-z][a-z0-9_-]{0,63}")
"""A department or channel id (channels may also hold ``-``: see ``posts._CHANNEL``)."""

ID_RULE = f"must be a whole number from 1 to {MAX_ID}"


class FieldError(InputError):
    """A request parameter with a bad value (422); the message starts with the field's name."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def as_id(value: object, *, minimum: int = 1) -> int | None:
    """``value`` (ASCII decimal digits) as a number in ``minimum`` .. ``MAX_ID``, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):  # 19 digits: int() stays cheap
        number = int(value)
    else:
        return None
    return number if minimum <= number <= MAX_ID else None


def _id(value: object) -> int:
    number = as_id(value)
    if number is None:
        raise PydanticCustomError("id", ID_RULE)
    return number


def _position(value: object) -> int:
    number = as_id(value, minimum=0)
    if number is None:
        raise PydanticCustomError("position", f"must be a whole number from 0 to {MAX_ID}")
    return number


IdNumber = Annotated[int, BeforeValidator(_id)]
"""A path or query parameter holding a row's id (1 .. ``MAX_ID``)."""

Position = Annotated[int, BeforeValidator(_position)]
"""A path or query parameter holding "after this id" (0 .. ``MAX_ID``)."""


def is_policy_id(value: str) -> bool:
    """Whether ``value`` looks like a department's or a channel's id (not whether it exists:
    items keep the ids of departments and channels a newer policy may have dropped)."""
    return _POLICY_ID.fullmatch(value) is not None


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Bounds of any time a person types: far from the ends of ``datetime`` (year 1 and 9999),
so that converting zones or adding a day never overflows."""


def parse_local_time(field: str, value: str, zone: tzinfo) -> datetime:
    """``value`` (ISO 8601, local to ``zone`` unless it names an offset) in UTC;
    raises ``FieldError`` for anything else or a time outside ``EARLIEST`` .. ``LATEST``."""
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FieldError(
            field, f"Not a date and time: {value!r} (expected YYYY-MM-DDTHH:MM)."
        ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    try:
        utc = local.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise FieldError(field, f"{value!r} is not a date between 1970 and 9000.")
    return utc


async def no_nul_characters(request: Request) -> None:
    """App-wide dependency: refuse NUL characters in query and form values (PostgreSQL text
    cannot hold them, and no person types one)."""
    for name, value in request.query_params.multi_items():
        if "\x00" in value or "\x00" in name:
            raise FieldError(name.replace("\x00", "\\x00"), "must not contain NUL characters.")
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        for name, item in form.multi_items():
            if "\x00" in name or (isinstance(item, str) and "\x00" in item):
                raise FieldError(name.replace("\x00", "\\x00"), "must not contain NUL characters.")
