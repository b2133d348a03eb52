"""Communication plans (``/plans``) and the e-mail and search teams' planned entries
(``/planned``): lists, forms and the edits, each checked by the permission model.

Times are shown in the viewer's zone (named on the page) and typed times are read in it.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townhall.cases import crisis
from townhall.errors import NotFoundError
from townhall.models import (
    CommunicationPlan,
    CrisisRoom,
    PlannedEntry,
    PlannedKind,
    PlanPurpose,
    PlanStep,
    User,
)
from townhall.org.permissions import Action, Scope
from townhall.publishing import localtime, planned, plans
from townhall.web.access import MISSING, PermitDep, allow, the_room_lead
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import WebState, state
from townhall.web.csrf import require_csrf
from townhall.web.params import FieldError, IdNumber, parse_local_time

router = APIRouter()
"""Communication plans (/plans) and planned entries of other teams (/planned)."""

csrf = [Depends(require_csrf)]

SHOWN = "%a %d %b %Y %H:%M"
TYPED = "%Y-%m-%dT%H:%M"
"""How a time reads on a page, and how a form's ``datetime-local`` field holds it."""

Text = Annotated[str, Form(max_length=10_000)]
Short = Annotated[str, Form(max_length=200)]
Choice = Annotated[str, Form(max_length=64)]
When = Annotated[str, Form(max_length=32)]


# -- what a request is about -------------------------------------------------------------------
def the_plan(plan_id: IdNumber, session: DbSession) -> Scope:
    """The plan in the address belongs to its department."""
    plan = session.get(CommunicationPlan, plan_id)
    return MISSING if plan is None else Scope.of(plan.department)


def the_step(plan_id: IdNumber, step_id: IdNumber, session: DbSession, person: PermitDep) -> Scope:
    """A step is written or closed by its plan's department or its owner department: the
    scope is the owner's when the person may act for it, else the plan's."""
    step = session.get(PlanStep, step_id)
    if step is None or step.plan_id != plan_id:
        return MISSING
    owner = Scope.of(step.owner_department)
    return owner if person.can(Action.CALENDAR, owner) else Scope.of(step.plan.department)


def the_new_plan(request: Request, department: Choice = "") -> Scope:
    """A new plan belongs to the department typed in its form (default: who leads plans)."""
    policy = state(request).policy
    return Scope.of(department.strip() or policy.leads(plans.LEAD_ACTIVITY)[0])


def the_entry(entry_id: IdNumber, session: DbSession) -> Scope:
    """The planned entry in the address belongs to its department."""
    entry = session.get(PlannedEntry, entry_id)
    return MISSING if entry is None else Scope.of(entry.department)


def the_new_entry(user: CurrentUser, department: Choice = "") -> Scope:
    """A new planned entry belongs to the department in its form (default: the person's)."""
    return Scope.of(department.strip() or user.department)


# -- helpers -----------------------------------------------------------------------------------
def _zone(web: WebState, user: User) -> tuple[str, tzinfo]:
    name = web.policy.person_timezone(user.email)
    return name, localtime.zone(name)


def _when(moment: datetime | None, where: tzinfo, fmt: str = SHOWN) -> str:
    return moment.astimezone(where).strftime(fmt) if moment is not None else ""


def _optional_time(field: str, value: str, where: tzinfo) -> datetime | None:
    return parse_local_time(field, value, where) if value.strip() else None


def _owner(session: Session, email: str) -> User | None:
    email = email.strip().lower()
    if not email:
        return None
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None or not user.active:
        raise FieldError("owner", f"nobody with a login has the e-mail {email!r}.")
    return user


def _people(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))


def _departments(web: WebState, person: PermitDep) -> list[tuple[str, str]]:
    """The departments the person plans for (``calendar``)."""
    return [
        (dep, name) for dep, name in web.departments() if person.can(Action.CALENDAR, Scope.of(dep))
    ]


def _step_of(session: Session, plan_id: int, step_id: int) -> PlanStep:
    step = plans.get_step(session, step_id)
    if step.plan_id != plan_id:
        raise NotFoundError(f"Plan #{plan_id} has no step #{step_id}.")
    return step


def _to_step(step: PlanStep) -> Response:
    return RedirectResponse(f"/plans/{step.plan_id}#step-{step.id}", status_code=303)


# -- plans -------------------------------------------------------------------------------------
@router.get("/plans", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def plans_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Every plan, open ones first: purpose, department, next step due, progress."""
    web = state(request)
    zone_name, where = _zone(web, user)
    rows = []
    for plan in plans.list_plans(session):
        posts = plans.drafts_of(session, plan.steps)
        done = plans.progress(plan, posts)
        rows.append(
            {
                "plan": plan,
                "status": plans.status_of(plan, posts).value,
                "progress": done,
                "next_due": _when(done.next_step.due_at if done.next_step else None, where),
            }
        )
    context = {
        "user": user,
        "department_name": web.department_name,
        "rows": rows,
        "timezone": zone_name,
    }
    return web.templates.TemplateResponse(request, "plans.html", context)


@router.get("/plans/new", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def new_plan_page(request: Request, user: CurrentUser, person: PermitDep) -> Response:
    """The form of a new plan (for the departments the person plans for)."""
    web = state(request)
    context = {
        "user": user,
        "department_name": web.department_name,
        "departments": _departments(web, person),
        "lead": web.policy.leads(plans.LEAD_ACTIVITY)[0],
        "purposes": [p.value for p in PlanPurpose],
    }
    return web.templates.TemplateResponse(request, "plan_new.html", context)


@router.post("/plans", dependencies=[*csrf, allow(Action.CALENDAR, the_new_plan)])
def create_plan(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    name: Short,
    purpose: Choice,
    department: Choice = "",
    description: Text = "",
) -> Response:
    """Start a plan; then add its steps on its page."""
    web = state(request)
    plan = plans.create(
        session,
        web.policy,
        name=name,
        purpose=purpose,
        department=department.strip() or None,
        description=description,
        actor=user,
        now=web.clock(),
    )
    return RedirectResponse(f"/plans/{plan.id}", status_code=303)


@router.get("/plans/{plan_id}", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def plan_page(
    request: Request, plan_id: IdNumber, session: DbSession, user: CurrentUser, person: PermitDep
) -> Response:
    """A plan's ordered steps: owner, due time, channel and state, with their edits."""
    web = state(request)
    policy = web.policy
    plan = plans.get(session, plan_id)
    zone_name, where = _zone(web, user)
    posts = plans.drafts_of(session, plan.steps)
    editor = person.can(Action.CALENDAR, Scope.of(plan.department))
    steps = [
        {
            "step": step,
            "state": plans.step_state(step, posts),
            "due": _when(step.due_at, where),
            "due_typed": _when(step.due_at, where, TYPED),
            "may_write": editor or person.can(Action.CALENDAR, Scope.of(step.owner_department)),
        }
        for step in plan.steps
    ]
    room = session.get(CrisisRoom, plan.crisis_id) if plan.crisis_id else None
    context = {
        "user": user,
        "department_name": web.department_name,
        "plan": plan,
        "status": plans.status_of(plan, posts).value,
        "progress": plans.progress(plan, posts),
        "steps": steps,
        "room": room,
        "editor": editor and plan.status != "cancelled",
        "channels": policy.channels,
        "departments": web.departments(),
        "people": _people(session) if editor else [],
        "timezone": zone_name,
        "created": _when(plan.created_at, where),
    }
    return web.templates.TemplateResponse(request, "plan.html", context)


@router.post("/plans/{plan_id}/cancel", dependencies=[*csrf, allow(Action.CALENDAR, the_plan)])
def cancel_plan(
    request: Request, plan_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """Cancel a plan: its unwritten steps leave the calendar."""
    web = state(request)
    plan = plans.get(session, plan_id)
    plans.cancel(session, web.policy, plan, actor=user, now=web.clock())
    return RedirectResponse(f"/plans/{plan.id}", status_code=303)


@router.post("/plans/{plan_id}/steps", dependencies=[*csrf, allow(Action.CALENDAR, the_plan)])
def add_step(
    request: Request,
    plan_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    title: Short,
    due: When,
    text: Text = "",
    channel: Choice = "",
    owner_department: Choice = "",
    owner: Annotated[str, Form(max_length=320)] = "",
    statement: Annotated[bool, Form()] = False,
) -> Response:
    """Add a step at the end of the plan (``due`` local to the viewer's zone)."""
    web = state(request)
    _, where = _zone(web, user)
    plan = plans.get(session, plan_id)
    step = plans.add_step(
        session,
        web.policy,
        plan,
        title=title,
        text=text,
        channel=channel or None,
        owner_department=owner_department or None,
        owner=_owner(session, owner),
        due_at=parse_local_time("due", due, where),
        statement=statement,
        actor=user,
        now=web.clock(),
    )
    return _to_step(step)


@router.post(
    "/plans/{plan_id}/steps/{step_id}", dependencies=[*csrf, allow(Action.CALENDAR, the_plan)]
)
def edit_step(
    request: Request,
    plan_id: IdNumber,
    step_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    title: Short,
    due: When,
    text: Text = "",
    channel: Choice = "",
    owner_department: Choice = "",
    owner: Annotated[str, Form(max_length=320)] = "",
    statement: Annotated[bool, Form()] = False,
) -> Response:
    """Change a step that has no draft yet."""
    web = state(request)
    _, where = _zone(web, user)
    step = _step_of(session, plan_id, step_id)
    plans.update_step(
        session,
        web.policy,
        step,
        title=title,
        text=text,
        channel=channel or None,
        owner_department=owner_department or None,
        owner=_owner(session, owner),
        due_at=parse_local_time("due", due, where),
        statement=statement,
        actor=user,
        now=web.clock(),
    )
    return _to_step(step)


@router.post(
    "/plans/{plan_id}/steps/{step_id}/move",
    dependencies=[*csrf, allow(Action.CALENDAR, the_plan)],
)
def move_step(
    request: Request,
    plan_id: IdNumber,
    step_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    direction: Annotated[str, Form(max_length=8)],
) -> Response:
    """Move a step up or down one place."""
    if direction not in ("up", "down"):
        raise FieldError("direction", "up or down.")
    web = state(request)
    step = _step_of(session, plan_id, step_id)
    plans.move_step(session, web.policy, step, direction == "up", actor=user, now=web.clock())
    return _to_step(step)


@router.post(
    "/plans/{plan_id}/steps/{step_id}/write",
    dependencies=[*csrf, allow(Action.CALENDAR, the_step)],
)
def write_step(
    request: Request, plan_id: IdNumber, step_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """Write the step's draft: it goes down its approval chain."""
    web = state(request)
    step = _step_of(session, plan_id, step_id)
    plans.write_draft(session, web.policy, step, actor=user, now=web.clock())
    return _to_step(step)


@router.post(
    "/plans/{plan_id}/steps/{step_id}/done",
    dependencies=[*csrf, allow(Action.CALENDAR, the_step)],
)
def step_done(
    request: Request, plan_id: IdNumber, step_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """Mark a step said off Townhall as done."""
    web = state(request)
    step = _step_of(session, plan_id, step_id)
    plans.mark_done(session, web.policy, step, actor=user, now=web.clock())
    return _to_step(step)


@router.post(
    "/plans/from-crisis/{room_id}",
    dependencies=[*csrf, allow(Action.CALENDAR, the_room_lead)],
)
def plan_from_crisis(
    request: Request, room_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """Start a crisis plan from the room's holding statement."""
    web = state(request)
    room = crisis.get_room(session, room_id)
    plan = plans.from_crisis(session, web.policy, room, actor=user, now=web.clock())
    return RedirectResponse(f"/plans/{plan.id}", status_code=303)


# -- planned entries ---------------------------------------------------------------------------
def _entry_context(
    web: WebState, user: User, person: PermitDep, entry: PlannedEntry | None, at: str
) -> dict[str, Any]:
    zone_name, where = _zone(web, user)
    category = web.policy.planning.category(entry.category) if entry and entry.category else None
    return {
        "kind_label": planned.KIND_LABELS[PlannedKind(entry.kind)] if entry else "",
        "category_label": category.label if category else (entry.category if entry else None),
        "user": user,
        "department_name": web.department_name,
        "entry": entry,
        "kinds": [(k.value, planned.KIND_LABELS[k]) for k in PlannedKind],
        "categories": web.policy.planning.categories,
        "departments": _departments(web, person),
        "editor": entry is not None
        and entry.cancelled_at is None
        and person.can(Action.CALENDAR, Scope.of(entry.department)),
        "timezone": zone_name,
        "starts": _when(entry.starts_at, where, TYPED) if entry else at,
        "ends": _when(entry.ends_at, where, TYPED) if entry else "",
        "starts_shown": _when(entry.starts_at, where) if entry else "",
        "ends_shown": _when(entry.ends_at, where) if entry else "",
        "cancelled": _when(entry.cancelled_at, where) if entry else "",
    }


@router.get("/planned/new", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def new_entry_page(
    request: Request,
    user: CurrentUser,
    person: PermitDep,
    at: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The form of a new e-mail send or search content piece; ``at`` (YYYY-MM-DDTHH:MM, the
    viewer's zone) fills its start, as the calendar's day slots link here."""
    web = state(request)
    _, where = _zone(web, user)
    typed = ""
    if at.strip():
        typed = _when(parse_local_time("at", at, where), where, TYPED)
    context = _entry_context(web, user, person, None, typed)
    return web.templates.TemplateResponse(request, "planned_form.html", context)


@router.post("/planned", dependencies=[*csrf, allow(Action.CALENDAR, the_new_entry)])
def add_entry(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    kind: Choice,
    title: Short,
    start: When,
    end: When = "",
    department: Choice = "",
    category: Choice = "",
    notes: Text = "",
) -> Response:
    """Plan an entry; it shows on the calendar."""
    web = state(request)
    _, where = _zone(web, user)
    entry = planned.add(
        session,
        web.policy,
        kind=kind,
        title=title,
        department=department.strip() or None,
        category=category or None,
        starts_at=parse_local_time("start", start, where),
        ends_at=_optional_time("end", end, where),
        notes=notes,
        actor=user,
        now=web.clock(),
    )
    return RedirectResponse(f"/planned/{entry.id}", status_code=303)


@router.get("/planned/{entry_id}", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def entry_page(
    request: Request, entry_id: IdNumber, session: DbSession, user: CurrentUser, person: PermitDep
) -> Response:
    """A planned entry, with its edit and cancel forms for those who plan its department's."""
    web = state(request)
    entry = planned.get(session, entry_id)
    context = _entry_context(web, user, person, entry, "")
    return web.templates.TemplateResponse(request, "planned_form.html", context)


@router.post("/planned/{entry_id}", dependencies=[*csrf, allow(Action.CALENDAR, the_entry)])
def edit_entry(
    request: Request,
    entry_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    kind: Choice,
    title: Short,
    start: When,
    end: When = "",
    department: Choice = "",
    category: Choice = "",
    notes: Text = "",
) -> Response:
    """Change a planned entry."""
    web = state(request)
    _, where = _zone(web, user)
    entry = planned.get(session, entry_id)
    planned.update(
        session,
        web.policy,
        entry,
        kind=kind,
        title=title,
        department=department.strip() or None,
        category=category or None,
        starts_at=parse_local_time("start", start, where),
        ends_at=_optional_time("end", end, where),
        notes=notes,
        actor=user,
        now=web.clock(),
    )
    return RedirectResponse(f"/planned/{entry.id}", status_code=303)


@router.post("/planned/{entry_id}/cancel", dependencies=[*csrf, allow(Action.CALENDAR, the_entry)])
def cancel_entry(
    request: Request, entry_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """Cancel a planned entry."""
    web = state(request)
    entry = planned.get(session, entry_id)
    planned.cancel(session, web.policy, entry, actor=user, now=web.clock())
    return RedirectResponse(f"/planned/{entry.id}", status_code=303)
