"""Placeholder router (filled in by the planning work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/calendar")
