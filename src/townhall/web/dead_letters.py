"""The admins' Dead letters page: posts that failed inside the pipeline, with their error and
their text, and a button to run them through again once the cause is fixed."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from townhall.audit import record
from townhall.db import transaction
from townhall.org.permissions import Action
from townhall.pipeline import dead_letters
from townhall.web.access import allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.params import IdNumber
from townhall.web.webhooks import shared_pipeline

router = APIRouter(prefix="/admin/dead-letters")


@router.get("", response_class=HTMLResponse, dependencies=[allow(Action.CHANNELS)])
def dead_letters_page(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    replayed: int | None = None,
    failed: int | None = None,
    show: str = "pending",
) -> Response:
    """The dead letters waiting for a replay (or all of them), oldest first."""
    web = state(request)
    everything = show == "all"
    rows = dead_letters.pending(session, include_replayed=everything)
    context = {
        "user": user,
        "department_name": web.department_name,
        "rows": rows,
        "waiting": dead_letters.count_pending(session),
        "everything": everything,
        "replayed": replayed,
        "failed": failed,
    }
    return web.templates.TemplateResponse(request, "dead_letters.html", context)


@router.post("/replay", dependencies=[Depends(require_csrf), allow(Action.CHANNELS)])
async def replay(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    dead_letter: Annotated[list[IdNumber] | None, Form()] = None,
) -> Response:
    """Run one dead letter (or every pending one) through the pipeline again."""
    web = state(request)
    email, name = user.email, user.name
    # The pipeline writes in sessions of its own: the request's (which may hold SQLite's write
    # lock after refreshing the login) must not be open meanwhile.
    await anyio.to_thread.run_sync(session.commit)
    pipeline = await anyio.to_thread.run_sync(shared_pipeline, request)
    now = web.clock()
    outcome = await anyio.to_thread.run_sync(
        dead_letters.replay, web.sessions, pipeline, dead_letter, now
    )
    with transaction(web.sessions) as session:
        record(
            session,
            at=now,
            actor=email,
            action="dead_letters.replay",
            subject_type="dead_letter",
            subject_id=dead_letter[0] if dead_letter and len(dead_letter) == 1 else "pending",
            why=f"{name} replayed dead letters: {outcome.replayed} went through, "
            f"{outcome.failed} failed again",
            details={"ids": dead_letter or "all pending"},
        )
    return RedirectResponse(
        f"/admin/dead-letters?replayed={outcome.replayed}&failed={outcome.failed}",
        status_code=303,
    )
