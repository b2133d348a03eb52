"""The delivery loop as a background task of the web server (``townhall.web.worker``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

import anyio
from sqlalchemy.orm import Session, sessionmaker

from townhall.config import Settings
from townhall.webhooks.delivery import BATCH, DeliveryPass, WebhookSender

log = logging.getLogger(__name__)

MAX_IDLE = 2.0
"""Most seconds between passes when nothing was due (a busy pass is followed at once)."""


async def run_sender(
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: Callable[[], datetime],
    stopping: threading.Event,
    interval: float,
) -> None:
    """Send due deliveries until ``stopping`` is set (or the task is cancelled), waiting up to
    ``interval`` seconds (at most ``MAX_IDLE``) between passes that found nothing."""
    sender = WebhookSender(sessions, settings, clock)
    try:
        while not stopping.is_set():
            result = DeliveryPass()
            try:
                result = await anyio.to_thread.run_sync(sender.run_once, BATCH, stopping)
            except Exception:  # a bad pass must not stop the next one
                log.exception("webhook delivery pass failed")
            if not result.sent:
                await anyio.sleep(min(interval, MAX_IDLE))
    finally:
        sender.close()
