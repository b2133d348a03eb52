"""``/api/v1/crises``: crisis rooms, their checklists, answers and status."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from townhall.cases import crisis
from townhall.errors import NotFoundError
from townhall.models import CrisisStatus
from townhall.org.permissions import Action, Scope
from townhall.web.access import the_room
from townhall.web.api.auth import ApiPermitDep, api_allow
from townhall.web.api.errors import ERRORS, ApiRoute
from townhall.web.api.idempotency import ApiWriteDep
from townhall.web.api.schemas import (
    AnswerIn,
    ChecklistOut,
    CrisisDetailOut,
    CrisisList,
    CrisisOut,
    CrisisStatusIn,
)
from townhall.web.auth import DbSession
from townhall.web.context import state
from townhall.web.params import IdNumber

router = APIRouter(prefix="/crises", tags=["crises"], route_class=ApiRoute, responses=ERRORS)


@router.get("", response_model=CrisisList, dependencies=[api_allow(Action.VIEW)])
def list_crises(session: DbSession, person: ApiPermitDep) -> CrisisList:
    """The crisis rooms the person may see (their departments lead or support them)."""
    rooms = [r for r in crisis.list_rooms(session) if person.sees(r.lead_department, r.departments)]
    return CrisisList(crises=[CrisisOut.of(room) for room in rooms])


@router.get(
    "/{room_id}", response_model=CrisisDetailOut, dependencies=[api_allow(Action.VIEW, the_room)]
)
def get_crisis(room_id: IdNumber, session: DbSession) -> CrisisDetailOut:
    """One crisis room with its assessment checklist."""
    return CrisisDetailOut.of(crisis.get_room(session, room_id))


@router.post(
    "/{room_id}/answers/{entry_id}",
    response_model=ChecklistOut,
    dependencies=[api_allow(Action.VIEW, the_room), api_allow(Action.CHECKLIST, in_handler=True)],
)
def answer(
    room_id: IdNumber, entry_id: IdNumber, body: AnswerIn, write: ApiWriteDep
) -> JSONResponse:
    """Answer (or correct) one checklist question: its owner department answers it."""
    session, person = write.session, write.person
    room = crisis.get_room(session, room_id)
    entry = next((e for e in room.checklist if e.id == entry_id), None)
    if entry is None:
        raise NotFoundError(f"Crisis room #{room.id} has no question #{entry_id}.")
    person.require(Action.CHECKLIST, Scope.of(entry.owner_department), "answer this question")
    done = crisis.answer_question(
        session, room_id, entry_id, body.answer, actor=person.user, now=state(write.request).clock()
    )
    session.flush()
    return write.done(200, ChecklistOut.of(done), what=f"answered {done.key} in room #{room_id}")


@router.post(
    "/{room_id}/status",
    response_model=CrisisDetailOut,
    dependencies=[api_allow(Action.CRISIS, the_room)],
)
def change_status(room_id: IdNumber, body: CrisisStatusIn, write: ApiWriteDep) -> JSONResponse:
    """Move the room on (watching → active → resolved); resolving needs the post-mortem and
    where the author stands now (detractor, neutral or advocate)."""
    room = crisis.set_room_status(
        write.session,
        room_id,
        CrisisStatus(body.status),
        actor=write.person.user,
        now=state(write.request).clock(),
        postmortem=body.postmortem,
        outcome=body.outcome,
    )
    write.session.flush()
    return write.done(200, CrisisDetailOut.of(room), what=f"room #{room_id} to {body.status}")
