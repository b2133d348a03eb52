"""``/api/v1/drafts`` and ``/api/v1/conduct/check``: write posts and replies through the code
of conduct and the approval chains, and decide on them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from townhall.cases import repository
from townhall.models import Item, OutboxKind
from townhall.org.permissions import Action, Scope
from townhall.publishing import approvals, conduct, drafts
from townhall.web.access import draft_scope, item_scope, the_draft
from townhall.web.api.auth import ApiPermitDep, api_allow
from townhall.web.api.errors import ERRORS, ApiRoute
from townhall.web.api.idempotency import ApiWriteDep
from townhall.web.api.schemas import (
    ConductIn,
    ConductOut,
    DecideIn,
    DraftIn,
    DraftOut,
    FindingOut,
)
from townhall.web.auth import DbSession
from townhall.web.context import state
from townhall.web.drafts import DECISIONS
from townhall.web.params import FieldError, IdNumber

router = APIRouter(tags=["drafts"], route_class=ApiRoute, responses=ERRORS)

KINDS = {"public": OutboxKind.REPLY, "private": OutboxKind.PRIVATE}


def _known_channel(person: ApiPermitDep, channel: str | None) -> str:
    if not channel:
        raise FieldError("channel", "give the channel of a new post (or item_id for a reply).")
    try:
        person.policy.channel(channel)
    except KeyError:
        known = ", ".join(c.id for c in person.policy.channels)
        raise FieldError("channel", f"unknown channel; choose one of {known}.") from None
    return channel


@router.post(
    "/conduct/check",
    response_model=ConductOut,
    dependencies=[api_allow(Action.VIEW)],
)
def check_conduct(body: ConductIn, session: DbSession, person: ApiPermitDep) -> ConductOut:
    """The code of conduct's findings on a text: a reply on an item (``item_id``), a
    revision of a draft (``outbox_id``) or a new post on ``channel``. Stores nothing."""
    policy = person.policy
    item: Item | None = None
    if body.outbox_id is not None:
        post = drafts.get_post(session, body.outbox_id)
        person.require(Action.VIEW, draft_scope(post), "see this draft")
        channel, kind, paid = post.channel, OutboxKind(post.kind), post.paid
        item = session.get(Item, post.item_id) if post.item_id else None
    elif body.item_id is not None:
        person.require(Action.VIEW, item_scope(session, body.item_id))
        item = repository.get_item(session, body.item_id)
        channel, kind, paid = item.post.channel, KINDS[body.kind], False
    else:
        channel, kind, paid = _known_channel(person, body.channel), OutboxKind.POST, body.paid
    context = drafts.context_for(
        session, policy, channel=channel, author=person.user, kind=kind, item=item, paid=paid
    )
    found = conduct.check(policy, body.text, context)
    return ConductOut(
        findings=[FindingOut.model_validate(f.as_json()) for f in found],
        blocked=conduct.blocks(found),
        needs_approval=conduct.needs_approval(found),
    )


@router.post(
    "/drafts",
    response_model=DraftOut,
    status_code=201,
    dependencies=[api_allow(Action.REPLY, in_handler=True)],
)
def create_draft(body: DraftIn, write: ApiWriteDep) -> JSONResponse:
    """A new post on ``channel``, or a reply on ``item_id`` (public, or private contact): the
    code of conduct checks it (a ``block`` finding refuses it, 422, with the findings) and its
    approval chain decides who lets it out (it goes out at once when its author may publish
    directly)."""
    session, person = write.session, write.person
    web = state(write.request)
    if body.item_id is not None:
        person.require(Action.REPLY, item_scope(session, body.item_id))
        post = drafts.write_reply(
            session,
            web.policy,
            body.item_id,
            KINDS[body.kind],
            body.text,
            actor=person.user,
            now=web.clock(),
        )
    else:
        channel = _known_channel(person, body.channel)
        person.require(
            Action.REPLY, Scope.of(person.user.department, channel=channel), "write posts"
        )
        post = drafts.create_draft(
            session,
            web.policy,
            channel=channel,
            text=body.text,
            author=person.user,
            now=web.clock(),
            kind=OutboxKind.POST,
            at=body.at,
            paid=body.paid,
            statement=body.statement,
        )
    session.flush()
    return write.done(201, DraftOut.of(post), what=f"{post.kind} #{post.id} on {post.channel}")


def _visible_draft(
    outbox_id: IdNumber,
    session: DbSession,
    person: ApiPermitDep,
    scope: Annotated[Scope, Depends(the_draft)],
) -> None:
    """Those who see the draft's department, and its deciders, may read it."""
    post = drafts.get_post(session, outbox_id)
    if not person.can(Action.VIEW, scope) and not approvals.may_review(
        session, person.policy, post, person.user
    ):
        person.require(Action.VIEW, scope, "see drafts")


@router.get(
    "/drafts/{outbox_id}",
    response_model=DraftOut,
    dependencies=[api_allow(Action.VIEW, in_handler=True), Depends(_visible_draft)],
)
def get_draft(outbox_id: IdNumber, session: DbSession) -> DraftOut:
    """One draft (or any outbox post) with its findings and decisions (never reviewer notes)."""
    post = drafts.get_post(session, outbox_id)
    return DraftOut.of(post, approvals.decisions_of(session, post.id))


@router.post(
    "/drafts/{outbox_id}/decisions",
    response_model=DraftOut,
    dependencies=[api_allow(Action.APPROVE), Depends(_visible_draft)],
)
def decide(outbox_id: IdNumber, body: DecideIn, write: ApiWriteDep) -> JSONResponse:
    """Approve, reject or ask for changes (``changes`` needs a comment) at the draft's
    current step; its approval chain says who may (409 during a crisis cool-down)."""
    session, person = write.session, write.person
    web = state(write.request)
    post = drafts.decide(
        session,
        web.policy,
        outbox_id,
        DECISIONS[body.decision],
        actor=person.user,
        now=web.clock(),
        comment=body.comment,
        note=body.note,
    )
    session.flush()
    answer = DraftOut.of(post, approvals.decisions_of(session, post.id))
    return write.done(200, answer, what=f"{body.decision} on draft #{outbox_id}")
