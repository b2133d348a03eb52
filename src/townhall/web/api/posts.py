"""``/api/v1/posts``: push posts in (the same checks and pipeline as ``townhall ingest``), and
read one back.

Pushing posts in is what a channel does, so it needs the ``channels`` action (admins, in
ACME's policy): a token that may push posts could otherwise fill any department's queue.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from townhall.db import is_locked
from townhall.errors import ConfigError, DatabaseBusyError, NotFoundError, PostFormatError
from townhall.models import Item, PostRecord
from townhall.org.permissions import Action, Scope
from townhall.pipeline.runner import BatchResult
from townhall.posts import Post, check_time, parse_post
from townhall.web.api.auth import ApiPermitDep, api_allow
from townhall.web.api.errors import ERRORS, ApiRoute, FieldProblem
from townhall.web.api.idempotency import ApiWriteDep
from townhall.web.api.schemas import PostBatchIn, PostBatchOut, PostOut
from townhall.web.auth import DbSession
from townhall.web.context import state

router = APIRouter(prefix="/posts", tags=["posts"], route_class=ApiRoute, responses=ERRORS)

PostId = Annotated[
    str,
    Path(
        min_length=3,
        max_length=512,
        pattern=r"^[a-z][a-z0-9_-]{0,31}:.+$",
        description="A post's id: <channel>:<native id>.",
    ),
]


def _problem(index: int, exc: PostFormatError) -> FieldProblem:
    field, _, message = exc.reason.partition(": ")
    if not message or " " in field:
        field, message = "post", exc.reason
    return FieldProblem(index=index, field=field, message=message)


def _store(request: Request, posts: list[Post]) -> BatchResult:
    from townhall.web.webhooks import shared_pipeline

    web = state(request)
    return shared_pipeline(request).process_batch(posts, web.clock(), source="api")


@router.post(
    "",
    response_model=PostBatchOut,
    responses={207: {"model": PostBatchOut, "description": "Some objects were refused."}},
    dependencies=[api_allow(Action.CHANNELS)],
)
async def ingest(request: Request, body: PostBatchIn, write: ApiWriteDep) -> JSONResponse:
    """Store a batch of Post JSON objects (docs/formats.md): each is checked on its own, the
    valid ones are stored and routed, and each refused one is named by index and field.
    200 when every object was taken, 207 when some were not, 422 when none was."""
    web = state(request)
    now = web.clock()
    posts: list[Post] = []
    problems: list[FieldProblem] = []
    for index, raw in enumerate(body.posts):
        try:
            post = parse_post(raw)
        except PostFormatError as exc:
            problems.append(_problem(index, exc))
            continue
        late = check_time(post, now, web.settings.max_future_seconds)
        if late is not None:
            problems.append(_problem(index, PostFormatError(late)))
            continue
        posts.append(post)
    result = BatchResult(0, 0, 0, 0)
    if posts:
        # The pipeline writes in transactions of its own: let go of the request's first.
        await anyio.to_thread.run_sync(write.commit_first)
        try:
            result = await anyio.to_thread.run_sync(_store, request, posts)
        except ConfigError as exc:  # the intent model is missing: the server's set-up
            await anyio.to_thread.run_sync(write.abandon)
            raise DatabaseBusyError(
                "Townhall cannot understand posts right now (see its log); nothing was "
                f"stored. ({exc.message[:200]})"
            ) from None
        except OperationalError as exc:
            await anyio.to_thread.run_sync(write.abandon)
            if not is_locked(exc):
                raise
            raise DatabaseBusyError() from None
        except BaseException:
            await anyio.to_thread.run_sync(write.abandon)
            raise
    status = 200 if not problems else (207 if posts else 422)
    detail = (
        f"Stored {result.stored} of {len(body.posts)} posts "
        f"({result.duplicates} already known, {len(problems)} refused)."
    )
    answer = PostBatchOut(
        detail=detail,
        received=len(body.posts),
        accepted=len(posts),
        stored=result.stored,
        duplicates=result.duplicates,
        items=result.items,
        dead_letters=result.dead,
        rejected=len(problems),
        errors=problems,
    )
    return await anyio.to_thread.run_sync(lambda: write.done(status, answer, what=detail))


@router.get("/{post_id}", response_model=PostOut, dependencies=[api_allow(Action.VIEW, None)])
def get_post(post_id: PostId, session: DbSession, person: ApiPermitDep) -> PostOut:
    """One stored post, for those who may see its item (or, without an item, the items of
    its channel's default owner)."""
    post = session.scalar(select(PostRecord).where(PostRecord.post_id == post_id))
    item = None
    if post is not None:
        item = session.scalar(select(Item).where(Item.post_pk == post.id))
        if item is not None:
            scope = Scope.of(item.department, item.supporting or (), post.channel)
        else:
            scope = Scope.of(person.policy.default_owner(post.channel), (), post.channel)
        if not person.can(Action.VIEW, scope):
            post = None  # what the person may not see does not exist for them
    if post is None:
        raise NotFoundError(f"There is no post {post_id[:80]!r} that you may see.")
    return PostOut.of(post, item.id if item is not None else None)
