"""``GET /healthz``: liveness plus two numbers, without login."""

from __future__ import annotations

from fastapi import APIRouter

from townhall.cases import repository
from townhall.web.auth import DbSession

router = APIRouter()


@router.get("/healthz")
def healthz(session: DbSession) -> dict[str, str | int]:
    """``{"status": "ok", "posts": stored posts, "items": open items}``."""
    return {
        "status": "ok",
        "posts": repository.count_posts(session),
        "items": repository.count_open_items(session),
    }
