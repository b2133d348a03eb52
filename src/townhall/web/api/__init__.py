"""The public REST API under ``/api/v1``: personal access tokens, the person's permissions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
