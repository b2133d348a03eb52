"""Placeholder router (filled in by the planning work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
"""The feed pages (/calendar/feeds) and the feeds themselves (/feeds/{token}.ics)."""
