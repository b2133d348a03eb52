"""A person's own account: change the password, see and end their sessions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/account")
