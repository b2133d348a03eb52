"""Two SQL expressions the dashboards need that SQLite and PostgreSQL spell differently.

``elapsed_seconds`` is compiled per dialect; ``bucket_of`` is a plain CASE over UTC bounds
computed in Python (``periods.Period.buckets``), so a day follows the viewer's zone, DST
included, on every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Float, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class elapsed_seconds(FunctionElement[float]):
    """``end - start`` in seconds (a float), for two timestamp columns."""

    type = Float()
    inherit_cache = True
    name = "elapsed_seconds"


@compiles(elapsed_seconds)
def _elapsed_default(element: elapsed_seconds, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


@compiles(elapsed_seconds, "sqlite")
def _elapsed_sqlite(element: elapsed_seconds, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"((julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)})) * 86400.0)"
    )


def bucket_of(column: Any, starts: Sequence[datetime]) -> ColumnElement[int]:
    """The index of the bucket ``column`` falls in, given the buckets' UTC starts in order
    (rows before the first start or after the last bucket are filtered by the caller).

    A CASE nested as a binary search (about log2(buckets) comparisons a row, not half the
    buckets): over a year of weeks a flat CASE spent most of a panel's time comparing."""
    if len(starts) <= 1:
        return case((column.is_not(None), 0), else_=0)

    def within(low: int, high: int) -> Any:
        # The bucket among low..high; the caller knows column >= starts[low] (or low == 0).
        if low == high:
            return literal(low)
        middle = (low + high + 1) // 2
        return case((column < starts[middle], within(low, middle - 1)), else_=within(middle, high))

    found: ColumnElement[int] = within(0, len(starts) - 1)
    return found
