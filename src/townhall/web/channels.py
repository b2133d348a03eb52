"""Channels and the outbox in the web app: each channel's health (a nav badge when one is
unwell), connecting a channel (admins), and the outbox with what waits for approval."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from townhall.channels.health import BAD, ago
from townhall.channels.service import connect
from townhall.connectors.base import Capability
from townhall.connectors.registry import capabilities_of
from townhall.errors import ConfigError, NotFoundError, TownhallError
from townhall.models import ChannelHealth, ChannelState, OutboxPost, OutboxStatus
from townhall.org.permissions import Action
from townhall.publishing import drafts
from townhall.web.access import allow, the_channel
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.params import FieldError

router = APIRouter()


class SecretsUnavailableError(TownhallError):
    """Channel secrets cannot be stored: the server has no usable secrets key (503)."""

    status_code = 503


csrf = [Depends(require_csrf)]

HEALTH_LABELS = {
    ChannelHealth.NEW: "not fetched yet",
    ChannelHealth.OK: "working",
    ChannelHealth.QUIET: "quiet for too long",
    ChannelHealth.RATE_LIMITED: "rate limited",
    ChannelHealth.FAILING: "failing",
    ChannelHealth.AUTH_FAILED: "token refused",
    ChannelHealth.NOT_CONNECTED: "not connected",
}

CAPABILITY_LABELS = {
    Capability.FETCH: "listens",
    Capability.STREAM: "live stream",
    Capability.PUBLISH: "publishes",
    Capability.DIRECT: "private messages",
}
"""How each connector capability reads on the Channels page."""

RECENT = 100
"""Outbox posts shown on the outbox page."""


def _states(session: DbSession) -> dict[str, ChannelState]:
    return {s.channel: s for s in session.scalars(select(ChannelState))}


@router.get("/channels", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def channels_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Every channel of the policy with its health, last fetch, lag and last error."""
    web = state(request)
    states = _states(session)
    now = web.clock()
    rows: list[dict[str, Any]] = []
    for channel in web.policy.channels:
        st = states.get(channel.id)
        health = ChannelHealth(st.health) if st else None
        rows.append(
            {
                "channel": channel,
                "state": st,
                "health": health,
                "label": HEALTH_LABELS[health]
                if health
                else ("simulated or files" if not channel.live else "not fetched yet"),
                "bad": health in BAD if health else False,
                "capabilities": [
                    label for c, label in CAPABILITY_LABELS.items() if c in capabilities_of(channel)
                ],
                "lag": ago(st.last_post_at, now) if st else "—",
                "fetched": ago(st.last_fetch_at, now) if st else "never",
            }
        )
    context = {"user": user, "department_name": web.department_name, "rows": rows}
    return web.templates.TemplateResponse(request, "channels.html", context)


@router.get("/channels/badge", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def channels_badge(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """The nav link, with the number of unwell channels (htmx polls it)."""
    live = {c.id for c in state(request).policy.channels if c.live}
    bad = sum(1 for s in _states(session).values() if s.channel in live and s.health in BAD)
    return state(request).templates.TemplateResponse(request, "_channels_badge.html", {"bad": bad})


@router.post(
    "/channels/{channel_id}/connect", dependencies=[*csrf, allow(Action.CHANNELS, the_channel)]
)
def connect_channel(
    request: Request,
    channel_id: Annotated[str, Path(max_length=64)],
    session: DbSession,
    user: CurrentUser,
    secret: Annotated[str, Form(min_length=1, max_length=4000)],
) -> Response:
    """Store a channel's token or app password, encrypted (admins only)."""
    web = state(request)
    try:
        channel = web.policy.channel(channel_id)
    except KeyError:
        raise NotFoundError(f"There is no channel {channel_id!r}.") from None
    if not secret.strip():
        raise FieldError("secret", "cannot be empty.")
    try:
        connect(session, web.settings, channel, secret, actor=user.email, now=web.clock())
    except ConfigError as exc:  # no TOWNHALL_SECRETS_KEY: the server's setup, not the input
        raise SecretsUnavailableError(exc.message) from None
    return RedirectResponse("/channels", status_code=303)


@router.get("/outbox", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def outbox_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """What waits for this person's approval, and the latest outbox posts with their status."""
    web = state(request)
    waiting = [p for p in drafts.waiting_for(session, web.policy, user) if p.crisis_id is None]
    recent = list(
        session.scalars(select(OutboxPost).order_by(OutboxPost.id.desc()).limit(RECENT)).unique()
    )
    context = {
        "user": user,
        "department_name": web.department_name,
        "waiting": waiting,
        "recent": recent,
        "labels": drafts.STATUS_LABELS,
        "problems": sum(
            1 for p in recent if p.status in (OutboxStatus.FAILED, OutboxStatus.MISSED)
        ),
    }
    return web.templates.TemplateResponse(request, "outbox.html", context)
