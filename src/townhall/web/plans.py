"""Placeholder router (filled in by the planning work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
"""Communication plans (/plans) and planned entries of other teams (/planned)."""
