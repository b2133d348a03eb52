"""Admins manage outgoing webhook endpoints, read each one's delivery log and replay failures;
other tools push posts in through incoming webhooks."""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError

from townhall.db import is_locked
from townhall.errors import RETRY_AFTER, ConfigError, TownhallError
from townhall.models import DeliveryStatus, User
from townhall.org.permissions import Action
from townhall.pipeline.runner import BatchResult, Pipeline
from townhall.posts import Post
from townhall.web.access import allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import WebState, state
from townhall.web.csrf import require_csrf
from townhall.webhooks import incoming, service
from townhall.webhooks.events import EVENTS
from townhall.webhooks.signing import HUB_SIGNATURE_HEADER, verify_hub_signature

log = logging.getLogger(__name__)

router = APIRouter()
csrf = [Depends(require_csrf)]

STATUS_CLASSES = {
    DeliveryStatus.PENDING: "outbox-approved",
    DeliveryStatus.DELIVERED: "outbox-published",
    DeliveryStatus.FAILED: "outbox-failed",
}
"""The outbox's status colours, reused for deliveries."""


class SecretsUnavailableError(TownhallError):
    """Endpoint secrets cannot be sealed: the server has no usable secrets key (503)."""

    status_code = 503


def _context(request: Request, user: User, **more: Any) -> dict[str, Any]:
    web = state(request)
    return {
        "user": user,
        "department_name": web.department_name,
        "events": EVENTS,
        "status_classes": STATUS_CLASSES,
        **more,
    }


def _list_page(
    request: Request,
    session: DbSession,
    user: User,
    *,
    created: service.Created | None = None,
    problem: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    web = state(request)
    context = _context(
        request,
        user,
        rows=service.endpoints(session),
        created=created,
        problem=problem,
        form=form or {"name": "", "url": "", "events": []},
    )
    response = web.templates.TemplateResponse(request, "webhooks.html", context, status_code=status)
    if created is not None:  # the secret is in this page: keep it out of every cache
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/webhooks", response_class=HTMLResponse, dependencies=[allow(Action.CHANNELS)])
def webhooks_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Every endpoint with its events and how its newest delivery went; a form to add one."""
    return _list_page(request, session, user)


@router.post("/admin/webhooks", dependencies=[*csrf, allow(Action.CHANNELS)])
def add_webhook(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    name: Annotated[str, Form(max_length=100)],
    url: Annotated[str, Form(max_length=2048)],
    events: Annotated[list[str] | None, Form(max_length=len(EVENTS))] = None,
) -> Response:
    """Add an endpoint; the page shows its secret this once."""
    web = state(request)
    chosen = list(events or [])
    try:
        created = service.add_endpoint(
            session,
            web.settings,
            name=name,
            url=url,
            events=chosen,
            actor=user.email,
            now=web.clock(),
        )
    except ConfigError as exc:
        raise SecretsUnavailableError(exc.message) from None
    except TownhallError as exc:
        if exc.status_code not in (409, 422):
            raise
        form = {"name": name, "url": url, "events": chosen}
        return _list_page(
            request, session, user, problem=exc.message, form=form, status=exc.status_code
        )
    return _list_page(request, session, user, created=created)


@router.get(
    "/admin/webhooks/{endpoint_id}",
    response_class=HTMLResponse,
    dependencies=[allow(Action.CHANNELS)],
)
def endpoint_page(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    endpoint_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """An endpoint's delivery log, newest first, a page at a time."""
    endpoint = service.get_endpoint(session, endpoint_id)
    rows, total = service.deliveries(session, endpoint_id, page)
    pages = max(1, -(-total // service.PAGE))
    context = _context(
        request,
        user,
        endpoint=endpoint,
        deliveries=rows,
        total=total,
        page=page,
        pages=pages,
        replayed=request.query_params.get("replayed"),
    )
    return state(request).templates.TemplateResponse(request, "webhooks_endpoint.html", context)


@router.post("/admin/webhooks/{endpoint_id}/active", dependencies=[*csrf, allow(Action.CHANNELS)])
def switch_endpoint(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    endpoint_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    active: Annotated[bool, Form()],
) -> Response:
    """Switch an endpoint on or off."""
    service.set_active(session, endpoint_id, active, actor=user.email, now=state(request).clock())
    return RedirectResponse(f"/admin/webhooks/{endpoint_id}", status_code=303)


@router.post(
    "/admin/webhooks/deliveries/{delivery_id}/replay", dependencies=[*csrf, allow(Action.CHANNELS)]
)
def replay_delivery(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    delivery_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    """Send a failed delivery again (at the delivery loop's next pass)."""
    delivery = service.replay(session, delivery_id, actor=user.email, now=state(request).clock())
    return RedirectResponse(
        f"/admin/webhooks/{delivery.endpoint_id}?replayed={delivery.id}", status_code=303
    )


# -- incoming: other tools push posts ---------------------------------------------------------
class _HookPipeline:
    """The pipeline incoming webhooks feed (built on first use: loading the models takes a
    moment), following the policy when it changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pipeline: Pipeline | None = None
        self._version = -1

    def get(self, web: WebState) -> Pipeline:
        from townhall.radar.replay import Radar, RadarSettings
        from townhall.routing.rules import router_for
        from townhall.understand.enrich import Understander

        with self._lock:
            policy = web.policy
            if self._pipeline is None:
                self._understander = Understander.from_policy(policy)
                radar = Radar(policy, RadarSettings(viral_threshold=policy.crisis.viral_threshold))
                self._pipeline = Pipeline(
                    web.sessions, policy, self._understander, router_for(policy), radar
                )
            elif self._version != web.source.version:
                self._understander = self._understander.with_policy(policy)
                self._pipeline.use_policy(policy, self._understander, router_for(policy))
            self._version = web.source.version
            return self._pipeline


def shared_pipeline(request: Request) -> Pipeline:
    app_state = request.app.state
    holder = getattr(app_state, "hook_pipeline", None)
    if holder is None:
        holder = _HookPipeline()
        app_state.hook_pipeline = holder
    pipeline: Pipeline = holder.get(state(request))
    return pipeline


def _answer(status: int, detail: str, **more: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **more}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The raw body, or None once it passes ``limit`` bytes (the rest is not read)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/hooks/{channel_id}")
async def receive_hook(
    request: Request, channel_id: Annotated[str, Path(max_length=64)]
) -> Response:
    """Posts pushed by another tool to a webhook channel: signed with the channel's shared
    secret (``X-Hub-Signature-256``), one JSON object or an array of them, mapped to Posts by
    the channel's ``mapping``. Answers 200 when every object was taken, 207 when some were
    not (each named by index and field), 422 when none was."""
    web = state(request)
    channel = incoming.webhook_channel(web.policy, channel_id)
    if channel is None:
        return _answer(404, f"There is no webhook channel {channel_id[:64]!r}.")
    body = await _read_body(request, incoming.MAX_BODY_BYTES)
    if body is None:
        return _answer(413, f"The body is over {incoming.MAX_BODY_BYTES:,} bytes.")
    secret = web.settings.channel_secret(channel.token_env) if channel.token_env else None
    if secret is None:
        log.warning("webhook channel %s: its token_env is not set: refusing pushes", channel.id)
        return _answer(503, "This webhook channel has no secret configured on the server.")
    if not verify_hub_signature(secret, request.headers.get(HUB_SIGNATURE_HEADER), body):
        return _answer(
            401, f"Missing or wrong {HUB_SIGNATURE_HEADER} (HMAC-SHA256 of the raw body)."
        )
    try:
        objects = incoming.read_body(body)
    except incoming.BodyError as exc:
        status = 413 if "at most" in str(exc) else 422
        return _answer(status, f"Nothing was stored: {exc}.")
    now = web.clock()
    posts, rejected = incoming.to_posts(channel, objects, now, web.settings.max_future_seconds)
    result = BatchResult(0, 0, 0, 0)
    if posts:
        try:
            result = await anyio.to_thread.run_sync(_store, request, posts, channel.id)
        except ConfigError as exc:  # the intent model is missing: the server's set-up
            log.error("webhook channel %s: %s", channel.id, exc.message)
            return _answer(503, "Townhall cannot understand posts right now (see its log).")
        except OperationalError as exc:
            if not is_locked(exc):
                raise
            response = _answer(503, "Townhall is busy writing; nothing was stored. Retry.")
            response.headers["Retry-After"] = str(RETRY_AFTER)
            return response
    status = 200 if not rejected else (207 if posts else 422)
    bad = len({r.index for r in rejected})
    return JSONResponse(
        {
            "received": len(objects),
            "accepted": len(posts),
            "stored": result.stored,
            "duplicates": result.duplicates,
            "items": result.items,
            "dead_letters": result.dead,
            "rejected": bad,
            "problems": [r.to_json() for r in rejected],
        },
        status_code=status,
    )


def _store(request: Request, posts: list[Post], channel_id: str) -> BatchResult:
    web = state(request)
    return shared_pipeline(request).process_batch(
        posts, web.clock(), source=f"webhook:{channel_id}"
    )
