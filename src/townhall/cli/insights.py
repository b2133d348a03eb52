"""Placeholder commands `townhall digest` and `townhall agenda` (filled in by the insights work)."""

from __future__ import annotations


def digest() -> None:
    """A department's weekly digest."""


def agenda() -> None:
    """The agenda of the cross-team social meeting."""
