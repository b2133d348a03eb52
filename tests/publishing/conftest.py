"""Factories for the publishing tests: users, and posts with their inbox items."""

from factories import make_item, make_user

__all__ = ["make_item", "make_user"]
