"""Placeholder router (filled in by the insights work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/insights")
