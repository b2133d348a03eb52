"""The Influencers pages: the voices Townhall hears (tracked, all, new), one voice's profile,
and tracking them, their relationship stage, notes and campaigns.

Everyone may view (the list's figures are counts over posts, company-wide, and name no item).
A profile shows a post's text and its item only when the viewer may see that item. Editing is
for people with campaigns or notes on a department leading ``influencer_relationships`` in the
ownership matrix (marketing and PR in ACME), and admins.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from townhall.cases.crisis import name_topics, topic_name
from townhall.errors import InputError, NotFoundError
from townhall.insights import influence, trend_charts
from townhall.insights import influencer_profile as profiles
from townhall.insights import influencers as service
from townhall.insights.charts import Chart
from townhall.models import Influencer, RelationshipStage, User
from townhall.org.permissions import Action
from townhall.publishing import campaigns
from townhall.web.access import NotAllowed, Permit, PermitDep, allow
from townhall.web.auth import CurrentUser, DbSession
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.insights import VEGA_BUNDLE
from townhall.web.params import IdNumber, as_id

router = APIRouter(prefix="/influencers")
csrf = [Depends(require_csrf)]
view = [allow(Action.VIEW)]

PERIODS = {7: "7 days", 30: "30 days", 90: "90 days", 365: "a year"}
TAB_WORDS = {
    service.Tab.TRACKED: "Tracked",
    service.Tab.VOICES: "All voices",
    service.Tab.NEW: "New voices",
}
SORT_WORDS = {
    service.Sort.REACH: "Reach",
    service.Sort.ENGAGEMENT: "Engagement",
    service.Sort.SENTIMENT: "Sentiment",
}
STAGE_WORDS = {
    RelationshipStage.SPOTTED: "Spotted",
    RelationshipStage.CONTACTED: "Contacted",
    RelationshipStage.ENGAGED: "Engaged",
    RelationshipStage.PARTNER: "Partner",
    RelationshipStage.PAUSED: "Paused",
}

Handle = Annotated[str, Query(min_length=1, max_length=320)]
Text = Annotated[str, Form(max_length=6_000)]


def _editor(person: Permit) -> bool:
    return service.may_edit(person.policy, person.can, str(person.user.role))


def require_editor(person: PermitDep) -> None:
    """A route dependency: the person may edit influencers, else 403 naming who may."""
    if _editor(person):
        return
    policy = person.policy
    try:
        leads = [policy.department(d).name for d in policy.leads(service.ACTIVITY)]
    except KeyError:
        leads = []
    who = [f"people who manage campaigns or add notes in {name}" for name in leads]
    raise NotAllowed("You may not edit influencer relationships.", [*who, "admins"])


edit = [*csrf, allow(Action.VIEW), Depends(require_editor)]


def _sentiment(value: float | None) -> str:
    return "–" if value is None else f"{value:+.2f}"


def sentiment_chart(weeks: list[influence.WeekSentiment]) -> Chart:
    """The profile's weekly sentiment as a chart and table, oldest week first."""
    ordered = sorted(weeks, key=lambda w: w.starts)
    return trend_charts.sentiment_weeks([(f"{w.starts:%d %b}", w.posts, w.mean) for w in ordered])


def _context(request: Request, user: User, person: Permit, **more: Any) -> dict[str, Any]:
    web = state(request)
    return {
        "user": user,
        "department_name": web.department_name,
        "may_edit": _editor(person),
        "stage_words": STAGE_WORDS,
        "sentiment": _sentiment,
        **more,
    }


@router.get("", response_class=HTMLResponse, dependencies=view)
def influencers_page(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    person: PermitDep,
    tab: service.Tab = service.Tab.VOICES,
    sort: service.Sort = service.Sort.REACH,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    channel: Annotated[str, Query(max_length=64)] = "",
    stage: RelationshipStage | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The voices Townhall hears over the period, sorted, filtered and paged."""
    web = state(request)
    now = web.clock()
    query = service.VoiceQuery(
        start=now - timedelta(days=days),
        end=now,
        tab=tab,
        sort=sort,
        ascending=order == "asc",
        channel=channel or None,
        stage=stage,
        page=page,
    )
    result = service.list_voices(session, query)
    filters = {"tab": tab.value, "days": days, "channel": channel, "stage": stage or ""}

    def link(**change: Any) -> str:
        values = {**filters, "sort": sort.value, "order": order, **change}
        return "/influencers?" + urlencode({k: v for k, v in values.items() if v not in ("", None)})

    context = _context(
        request,
        user,
        person,
        result=result,
        query=query,
        days=days,
        periods=PERIODS,
        tab=tab,
        tabs=TAB_WORDS,
        sort=sort,
        sorts=SORT_WORDS,
        order=order,
        channel=channel,
        channels=[c.id for c in web.policy.channels],
        stage=stage.value if stage else "",
        link=link,
        rule=influence.explanation(),
        min_reach=influence.MIN_REACH,
    )
    return web.templates.TemplateResponse(request, "influencers.html", context)


def _profile_page(
    request: Request,
    session: Session,
    user: User,
    person: Permit,
    handle: str,
    who: Influencer | None,
) -> Response:
    web = state(request)
    policy, now = web.policy, web.clock()
    heard = profiles.profile(session, handle, now)
    if heard is None and who is None:
        raise NotFoundError("Townhall has heard no post by that author.")
    posts = []
    items = []
    for one in heard.posts if heard else []:
        visible = one.item_id is None or person.sees(one.department or "", one.supporting)
        posts.append({"heard": one, "visible": visible})
        if one.item_id is not None and visible:
            items.append(one)
    replies = [r for r in (heard.replies if heard else []) if person.sees(r.department)]
    crises = [
        c for c in (heard.crises if heard else []) if person.sees(c.lead_department, c.departments)
    ]
    linked = []
    choices = []
    if who is not None:
        every = campaigns.list_campaigns(session)
        linked = [c for c in every if c.id in (who.campaign_ids or [])]
        choices = every
    context = _context(
        request,
        user,
        person,
        handle=handle,
        who=who,
        heard=heard,
        posts=posts,
        items=items,
        replies=replies,
        crises=crises,
        topics=[(topic_name(policy, t), n) for t, n in (heard.topics if heard else [])],
        notes=profiles.notes_of(session, who) if who else [],
        linked=linked,
        choices=choices,
        stages=list(RelationshipStage),
        weeks=profiles.PROFILE_WEEKS,
        chart=sentiment_chart(heard.weeks) if heard else None,
        bundle=VEGA_BUNDLE,
        readable=lambda text: name_topics(policy, str(text)),
    )
    return web.templates.TemplateResponse(request, "influencer.html", context)


@router.get("/voice", response_class=HTMLResponse, dependencies=view)
def voice_page(
    request: Request, handle: Handle, session: DbSession, user: CurrentUser, person: PermitDep
) -> Response:
    """An author Townhall heard (the tracked one's page when they are tracked)."""
    who = service.by_handle(session, handle)
    if who is not None:
        return RedirectResponse(f"/influencers/{who.id}", status_code=303)
    return _profile_page(request, session, user, person, handle, None)


@router.post("/track", dependencies=edit)
def track(
    request: Request,
    handle: Annotated[str, Form(min_length=1, max_length=320)],
    session: DbSession,
    user: CurrentUser,
) -> Response:
    """Start tracking an author: they become an influencer at stage Spotted."""
    web = state(request)
    who = service.track(session, web.policy, handle, user, web.clock())
    return RedirectResponse(f"/influencers/{who.id}", status_code=303)


@router.get("/{influencer_id}", response_class=HTMLResponse, dependencies=view)
def influencer_page(
    request: Request,
    influencer_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    person: PermitDep,
) -> Response:
    """A tracked influencer: the profile, their stage, notes and linked campaigns."""
    who = service.get(session, influencer_id)
    return _profile_page(request, session, user, person, who.handle, who)


@router.post("/{influencer_id}/stage", dependencies=edit)
def set_stage(
    request: Request,
    influencer_id: IdNumber,
    stage: Annotated[RelationshipStage, Form()],
    session: DbSession,
    user: CurrentUser,
) -> Response:
    """Move the relationship on (or pause it)."""
    who = service.get(session, influencer_id)
    service.set_stage(session, who, stage, user, state(request).clock())
    return RedirectResponse(f"/influencers/{influencer_id}", status_code=303)


@router.post("/{influencer_id}/notes", dependencies=edit)
def add_note(
    request: Request, influencer_id: IdNumber, text: Text, session: DbSession, user: CurrentUser
) -> Response:
    """Write a note about the influencer."""
    who = service.get(session, influencer_id)
    service.add_note(session, who, text, user, state(request).clock())
    return RedirectResponse(f"/influencers/{influencer_id}#notes", status_code=303)


async def _campaign_ids(request: Request) -> list[int]:
    """The campaigns ticked in the form (a list of checkboxes named ``campaign``)."""
    form = await request.form()
    ids = []
    for raw in form.getlist("campaign")[:200]:
        number = as_id(raw)
        if number is None:
            raise InputError("Choose campaigns from the list.")
        ids.append(number)
    return ids


@router.post("/{influencer_id}/campaigns", dependencies=edit)
def set_campaigns(
    request: Request,
    influencer_id: IdNumber,
    ids: Annotated[list[int], Depends(_campaign_ids)],
    session: DbSession,
    user: CurrentUser,
) -> Response:
    """Link the influencer to the campaigns ticked in the form."""
    who = service.get(session, influencer_id)
    service.set_campaigns(session, who, ids, user, state(request).clock())
    return RedirectResponse(f"/influencers/{influencer_id}#campaigns", status_code=303)


@router.post("/{influencer_id}/untrack", dependencies=edit)
def untrack(
    request: Request, influencer_id: IdNumber, session: DbSession, user: CurrentUser
) -> Response:
    """Stop tracking the influencer (back to their voice page)."""
    who = service.get(session, influencer_id)
    handle = who.handle
    service.untrack(session, who, user, state(request).clock())
    return RedirectResponse("/influencers/voice?" + urlencode({"handle": handle}), status_code=303)
