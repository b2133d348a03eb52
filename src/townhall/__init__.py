"""Townhall: a self-hosted social media command center for the whole company."""

__version__ = "0.1.0"
