"""``townhall backup`` and ``townhall restore``: the whole database to one file and back."""

from __future__ import annotations


def backup() -> None:
    """Write a backup of the database to a file."""
    raise NotImplementedError


def restore() -> None:
    """Restore the database from a backup file."""
    raise NotImplementedError
