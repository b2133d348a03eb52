"""The Campaigns pages: the list, one campaign (its posts on a timeline, budget against spend,
the replies its posts drew), and creating, editing, archiving and recording spend.

Everyone who may see items sees campaigns; managing one is ``Action.CAMPAIGNS`` on its
department. Times are shown and typed in the viewer's own zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from townhall.errors import InputError
from townhall.models import Campaign, OutboxPost, OutboxStatus, User
from townhall.org.permissions import Action, Scope
from townhall.org.policy import Policy
from townhall.publishing import campaigns, drafts, localtime, utm
from townhall.web.access import MISSING, PermitDep, allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.params import FieldError, IdNumber, as_id, parse_local_time

router = APIRouter(prefix="/campaigns")
csrf = [Depends(require_csrf)]

Short = Annotated[str, Form(max_length=300)]
Long = Annotated[str, Form(max_length=6_000)]
Flag = Annotated[str, Form(max_length=8)]

STATE_WORDS = {
    campaigns.CampaignState.UPCOMING: "Upcoming",
    campaigns.CampaignState.RUNNING: "Running",
    campaigns.CampaignState.ENDED: "Ended",
    campaigns.CampaignState.ARCHIVED: "Archived",
}


def the_campaign(campaign_id: IdNumber, session: DbSession) -> Scope:
    """A campaign belongs to its department."""
    campaign = session.get(Campaign, campaign_id)
    return MISSING if campaign is None else Scope.of(campaign.department)


def _zone(policy: Policy, user: User) -> str:
    return policy.person_timezone(user.email)


def _local(policy: Policy, user: User, moment: datetime | None) -> str:
    if moment is None:
        return ""
    where = localtime.zone(_zone(policy, user))
    return f"{localtime.local(campaigns.aware(moment), where):%a %d %b %Y, %H:%M}"


def _typed(policy: Policy, user: User, moment: datetime) -> str:
    """``moment`` as a datetime-local input's value in the viewer's zone."""
    where = localtime.zone(_zone(policy, user))
    return f"{localtime.local(campaigns.aware(moment), where):%Y-%m-%dT%H:%M}"


def _money(cents: int, currency: str) -> str:
    return campaigns.format_money(cents, currency)


def _row(session: Session, policy: Policy, user: User, campaign: Campaign, now: datetime) -> Any:
    got = campaigns.summary(session, policy, campaign, now)
    return {
        "campaign": campaign,
        "state": STATE_WORDS[got.state],
        "state_id": str(got.state),
        "starts": _local(policy, user, campaign.starts_at),
        "ends": _local(policy, user, campaign.ends_at),
        "summary": got,
        "budget": _money(got.budget_cents, campaign.currency),
        "spent": _money(got.spent_cents, campaign.currency),
        "remaining": _money(got.remaining_cents, campaign.currency),
        "percent": round(got.spent_share * 100),
    }


@router.get("", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def campaigns_page(
    request: Request, session: DbSession, user: CurrentUser, person: PermitDep
) -> Response:
    """Every campaign: department, dates, state, posts and budget against spend."""
    web = state(request)
    policy, now = web.policy, web.clock()
    rows = [_row(session, policy, user, c, now) for c in campaigns.list_campaigns(session)]
    context = {
        "user": user,
        "department_name": web.department_name,
        "rows": rows,
        "timezone": _zone(policy, user),
        "may_create": person.can(Action.CAMPAIGNS, Scope.of(campaigns.default_department(policy))),
    }
    return web.templates.TemplateResponse(request, "campaigns.html", context)


# -- the form ---------------------------------------------------------------------------------
def _form_page(
    request: Request,
    user: User,
    *,
    values: Mapping[str, Any],
    campaign: Campaign | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    web = state(request)
    policy = web.policy
    context = {
        "user": user,
        "department_name": web.department_name,
        "campaign": campaign,
        "form": values,
        "error": error,
        "timezone": _zone(policy, user),
        "departments": web.departments(),
        "channels": [c.id for c in policy.channels],
        "categories": policy.planning.categories,
        "objectives": policy.objectives.goals,
    }
    return web.templates.TemplateResponse(
        request, "campaign_form.html", context, status_code=status_code
    )


def _values_of(policy: Policy, user: User, campaign: Campaign) -> dict[str, Any]:
    return {
        "name": campaign.name,
        "slug": campaign.slug,
        "department": campaign.department,
        "objective": campaign.objective,
        "target_metric": campaign.target_metric,
        "target": "" if campaign.target is None else f"{campaign.target:g}",
        "channels": list(campaign.channels),
        "start": _typed(policy, user, campaign.starts_at),
        "end": _typed(policy, user, campaign.ends_at),
        "budget": f"{campaign.budget_cents / 100:.2f}" if campaign.budget_cents else "",
        "currency": campaign.currency,
        "paid": campaign.paid,
        "category": campaign.category or "",
        "objective_id": campaign.objective_id or "",
    }


async def _form_values(request: Request) -> dict[str, Any]:
    """The campaign form as typed (channels is a list of checkboxes)."""
    form = await request.form()
    values: dict[str, Any] = {}
    for key in (
        "name",
        "slug",
        "department",
        "objective",
        "target_metric",
        "target",
        "start",
        "end",
        "budget",
        "currency",
        "category",
        "objective_id",
    ):
        raw = form.get(key, "")
        values[key] = raw[:6_000] if isinstance(raw, str) else ""
    values["channels"] = [c for c in form.getlist("channels") if isinstance(c, str)][:50]
    values["paid"] = form.get("paid") == "on"
    return values


FormValues = Annotated[dict[str, Any], Depends(_form_values)]


def _fields(policy: Policy, user: User, values: Mapping[str, Any]) -> campaigns.CampaignFields:
    """The typed form as campaign fields; raises ``FieldError`` naming the field."""
    where = localtime.zone(_zone(policy, user))
    if not str(values["start"]).strip():
        raise FieldError("start", "when does the campaign start?")
    if not str(values["end"]).strip():
        raise FieldError("end", "when does the campaign end?")
    target: float | None = None
    if str(values["target"]).strip():
        try:
            target = float(str(values["target"]).replace(",", ""))
        except ValueError:
            raise FieldError("target", f"not a number: {values['target'][:40]!r}") from None
    budget = str(values["budget"]).strip()
    return campaigns.CampaignFields(
        name=str(values["name"]),
        slug=str(values["slug"]).strip() or None,
        department=str(values["department"]) or None,
        objective=str(values["objective"]),
        target_metric=str(values["target_metric"]),
        target=target,
        channels=tuple(values["channels"]),
        starts_at=parse_local_time("start", str(values["start"]), where),
        ends_at=parse_local_time("end", str(values["end"]), where),
        budget_cents=campaigns.parse_money("budget", budget) if budget else 0,
        currency=str(values["currency"]) or "EUR",
        paid=bool(values["paid"]),
        category=str(values["category"]) or None,
        objective_id=str(values.get("objective_id", "")) or None,
    )


@router.get("/new", response_class=HTMLResponse, dependencies=[allow(Action.CAMPAIGNS)])
def new_form(request: Request, user: CurrentUser) -> Response:
    """The form for a new campaign."""
    policy = state(request).policy
    values = {
        "name": "",
        "slug": "",
        "department": campaigns.default_department(policy),
        "objective": "",
        "target_metric": "",
        "target": "",
        "channels": [],
        "start": "",
        "end": "",
        "budget": "",
        "currency": "EUR",
        "paid": False,
        "category": "",
        "objective_id": "",
    }
    return _form_page(request, user, values=values)


@router.post("/new", dependencies=[*csrf, allow(Action.CAMPAIGNS)])
def create(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    person: PermitDep,
    values: FormValues,
) -> Response:
    """Create a campaign; a value that will not do comes back in the form (422)."""
    web = state(request)
    try:
        fields = _fields(web.policy, user, values)
        department = fields.department or campaigns.default_department(web.policy)
        person.require(Action.CAMPAIGNS, Scope.of(department), "manage campaigns")
        campaign = campaigns.create(
            session,
            web.policy,
            name=fields.name,
            slug=fields.slug,
            department=department,
            objective=fields.objective,
            target_metric=fields.target_metric,
            target=fields.target,
            channels=fields.channels,
            starts_at=fields.starts_at,
            ends_at=fields.ends_at,
            budget_cents=fields.budget_cents,
            currency=fields.currency,
            paid=fields.paid,
            category=fields.category,
            objective_id=fields.objective_id,
            actor=user,
            now=web.clock(),
        )
    except InputError as refused:
        session.rollback()
        return _form_page(request, user, values=values, error=refused.message, status_code=422)
    return RedirectResponse(f"/campaigns/{campaign.id}", status_code=303)


@router.get(
    "/{campaign_id}/edit",
    response_class=HTMLResponse,
    dependencies=[allow(Action.CAMPAIGNS, the_campaign)],
)
def edit_form(
    request: Request, campaign_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """The form to change a campaign."""
    campaign = campaigns.get(session, campaign_id)
    values = _values_of(state(request).policy, user, campaign)
    return _form_page(request, user, values=values, campaign=campaign)


@router.post("/{campaign_id}/edit", dependencies=[*csrf, allow(Action.CAMPAIGNS, the_campaign)])
def edit(
    request: Request,
    campaign_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    person: PermitDep,
    values: FormValues,
) -> Response:
    """Save a campaign's changes (moving it needs the right on the new department too)."""
    web = state(request)
    campaign = campaigns.get(session, campaign_id)
    try:
        fields = _fields(web.policy, user, values)
        if fields.department:
            person.require(Action.CAMPAIGNS, Scope.of(fields.department), "manage campaigns")
        campaigns.update(session, web.policy, campaign, fields, actor=user, now=web.clock())
    except InputError as refused:
        session.rollback()
        campaign = campaigns.get(session, campaign_id)
        return _form_page(
            request,
            user,
            values=values,
            campaign=campaign,
            error=refused.message,
            status_code=422,
        )
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post("/{campaign_id}/archive", dependencies=[*csrf, allow(Action.CAMPAIGNS, the_campaign)])
def archive(
    request: Request, campaign_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """Archive a campaign (its posts stay; it leaves the list and the composer)."""
    web = state(request)
    campaign = campaigns.get(session, campaign_id)
    campaigns.archive(session, web.policy, campaign, actor=user, now=web.clock())
    return RedirectResponse("/campaigns", status_code=303)


# -- the composer's campaign parts (compose.html uses them through htmx) -----------------------
def composer_options(session: Session, now: datetime, channel: str | None) -> list[Campaign]:
    """The campaigns a new post on ``channel`` may join: running or upcoming, on it."""
    return campaigns.open_for(session, now, channel or None)


def composer_campaign(
    session: Session, now: datetime, campaign_id: str, channel: str
) -> Campaign | None:
    """The campaign chosen in the composer (None for none); raises ``FieldError`` for one a
    post on ``channel`` cannot join now."""
    if not campaign_id.strip():
        return None
    number = as_id(campaign_id.strip())
    campaign = session.get(Campaign, number) if number is not None else None
    if campaign is None:
        raise FieldError("campaign", "choose one of the campaigns in the list.")
    if campaign.archived_at is not None or campaigns.aware(campaign.ends_at) <= now:
        raise FieldError("campaign", f"{campaign.name} has ended: choose a running one.")
    if campaign.channels and channel not in campaign.channels:
        raise FieldError(
            "campaign", f"{campaign.name} runs on {', '.join(campaign.channels)}, not {channel}."
        )
    return campaign


def tagged_links(text: str, campaign: Campaign | None, channel: str) -> list[str]:
    """The links of ``text`` as a post in ``campaign`` on ``channel`` will carry them."""
    if campaign is None or not channel:
        return []
    tagged = campaigns.tag_links(text, campaign, channel)
    return [tagged[start:end] for start, end in utm.links(tagged)]


@router.get("/options", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def options(
    request: Request,
    session: DbSession,
    channel: Annotated[str, Query(max_length=64)] = "",
    campaign: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The composer's campaign choices for a channel (htmx swaps them in when the channel
    changes)."""
    web = state(request)
    context = {
        "campaigns": composer_options(session, web.clock(), channel),
        "chosen": campaign,
    }
    return web.templates.TemplateResponse(request, "_campaign_options.html", context)


@router.post("/links", response_class=HTMLResponse, dependencies=[*csrf, allow(Action.VIEW)])
def links_preview(
    request: Request,
    session: DbSession,
    text: Annotated[str, Form(max_length=drafts.MAX_TEXT + 1000)] = "",
    channel: Annotated[str, Form(max_length=64)] = "",
    campaign: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The line "Links will be tagged: …" for a text being written in a campaign."""
    web = state(request)
    number = as_id(campaign.strip()) if campaign.strip() else None
    chosen = session.get(Campaign, number) if number is not None else None
    context = {"links": tagged_links(text, chosen, channel)}
    return web.templates.TemplateResponse(request, "_tagged_links.html", context)


# -- one campaign -----------------------------------------------------------------------------
def _timeline(policy: Policy, user: User, posts: list[OutboxPost]) -> list[dict[str, Any]]:
    rows = []
    for post in posts:
        when = post.published_at or post.scheduled_at
        rows.append(
            {
                "post": post,
                "when": _local(policy, user, when) if when else "when approved",
                "iso": campaigns.aware(when).isoformat() if when else "",
                "status": drafts.STATUS_LABELS.get(OutboxStatus(post.status), post.status),
            }
        )
    return rows


def campaign_page(
    request: Request,
    session: Session,
    user: User,
    campaign_id: int,
    *,
    may_manage: bool,
    error: str = "",
    spend_values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """One campaign: what it is for, its posts on a timeline, budget against spend and the
    spend list, the replies its posts drew and their sentiment."""
    web = state(request)
    policy, now = web.policy, web.clock()
    campaign = campaigns.get(session, campaign_id)
    row = _row(session, policy, user, campaign, now)
    company = localtime.zone(policy.timezone)
    spend = [
        {
            "entry": entry,
            "day": f"{localtime.local(campaigns.aware(entry.spent_on), company):%Y-%m-%d}",
            "amount": _money(entry.amount_cents, campaign.currency),
        }
        for entry in campaigns.spend_of(session, campaign)
    ]
    category = policy.planning.category(campaign.category) if campaign.category else None
    today = localtime.local(now, company).date()
    context = {
        "user": user,
        "department_name": web.department_name,
        "row": row,
        "campaign": campaign,
        "summary": row["summary"],
        "category": category.label if category else "",
        "objective": web.policy.objectives.objective(campaign.objective_id)
        if campaign.objective_id
        else None,
        "timeline": _timeline(policy, user, campaigns.posts_of(session, campaign)),
        "spend": spend,
        "timezone": _zone(policy, user),
        "may_manage": may_manage,
        "error": error,
        "spend_form": spend_values or {"amount": "", "on": today.isoformat(), "note": ""},
        "replies": [
            {"reply": r, "when": _local(policy, user, r.created_at)}
            for r in row["summary"].latest_replies
        ],
    }
    return web.templates.TemplateResponse(
        request, "campaign.html", context, status_code=status_code
    )


@router.get("/{campaign_id}", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def campaign_view(
    request: Request,
    campaign_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    person: PermitDep,
    scope: Annotated[Scope, Depends(the_campaign)],
) -> Response:
    """One campaign (see ``campaign_page``)."""
    return campaign_page(
        request, session, user, campaign_id, may_manage=person.can(Action.CAMPAIGNS, scope)
    )


@router.post("/{campaign_id}/spend", dependencies=[*csrf, allow(Action.CAMPAIGNS, the_campaign)])
def record_spend(
    request: Request,
    campaign_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    amount: Short,
    on: Annotated[str, Form(max_length=32)],
    note: Long = "",
) -> Response:
    """Record money spent; a value that will not do comes back on the page (422)."""
    web = state(request)
    campaign = campaigns.get(session, campaign_id)
    try:
        try:
            day = localtime.parse_day(on)
        except ValueError as exc:
            raise FieldError("on", str(exc)) from None
        campaigns.record_spend(
            session,
            web.policy,
            campaign,
            amount_cents=campaigns.parse_money("amount", amount),
            spent_on=day,
            note=note,
            actor=user,
            now=web.clock(),
        )
    except InputError as refused:
        session.rollback()
        return campaign_page(
            request,
            session,
            user,
            campaign_id,
            may_manage=True,
            error=refused.message,
            spend_values={"amount": amount, "on": on, "note": note},
            status_code=422,
        )
    return RedirectResponse(f"/campaigns/{campaign_id}#spend", status_code=303)
