"""Admins manage outgoing webhook endpoints, read each one's delivery log and replay failures;
other tools push posts in through incoming webhooks."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
