"""Drafts in the web app: the Drafts page (tabs for a person and their department), one
draft with its findings, chain and thread, approving it, the composer for new posts, and the
live code of conduct check the composers call as people type."""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from townhall.cases import repository
from townhall.db import begin_read
from townhall.errors import CapBlockedError, ConductBlockedError, ConflictError, InputError
from townhall.models import (
    Campaign,
    Decision,
    Item,
    OutboxKind,
    OutboxPost,
    OutboxStatus,
    PostRecord,
    User,
)
from townhall.org import permissions as perm
from townhall.org.conduct import Level
from townhall.org.permissions import Action
from townhall.org.policy import ChannelKind, Policy
from townhall.publishing import approvals, conduct, drafts, lists, schedule
from townhall.publishing.lists import Scope, Tab
from townhall.web import campaigns as campaign_pages
from townhall.web.access import Permit, PermitDep, allow, refusal, the_draft
from townhall.web.auth import CurrentUser, DbSession, current_user
from townhall.web.context import state
from townhall.web.csrf import require_csrf
from townhall.web.params import FieldError, IdNumber, as_id, parse_local_time

router = APIRouter()
csrf = [Depends(require_csrf)]

TEXT = Annotated[str, Form(max_length=drafts.MAX_TEXT + 1000)]
NOTE = Annotated[str, Form(max_length=drafts.MAX_NOTE + 1000)]
FLAG = Annotated[str, Form(max_length=8)]

LEVEL_LABELS = {
    Level.BLOCK.value: "Stops it",
    Level.NEEDS_APPROVAL.value: "Needs approval",
    Level.WARN.value: "Worth a look",
}
"""How each finding level reads next to a finding."""

_SEVERITY = {Level.WARN.value: 1, Level.NEEDS_APPROVAL.value: 2, Level.BLOCK.value: 3}

DECISIONS = {
    "approve": Decision.APPROVED,
    "reject": Decision.REJECTED,
    "changes": Decision.CHANGES,
}
"""The decide form's buttons and what each one decides."""

DECISION_WORDS = {
    Decision.APPROVED.value: "approved",
    Decision.REJECTED.value: "rejected",
    Decision.CHANGES.value: "asked for changes",
    Decision.NOTE.value: "added a note",
}

KIND_WORDS = {
    OutboxKind.POST.value: "post",
    OutboxKind.REPLY.value: "public reply",
    OutboxKind.PRIVATE.value: "private message",
    OutboxKind.TAKEOVER.value: "takeover post",
}


# -- findings, highlighted in place -----------------------------------------------------------
@dataclass(frozen=True)
class Segment:
    """A run of the text: plain, or inside one or more findings (``level`` is the most
    severe of them, ``refs`` their numbers in the list below the text)."""

    text: str
    level: str | None = None
    refs: tuple[int, ...] = ()
    title: str = ""


@dataclass(frozen=True)
class FindingView:
    """One finding as the page lists it."""

    number: int
    rule: str
    level: str
    level_label: str
    why: str
    message: str
    excerpt: str


def _as_dicts(findings: Sequence[conduct.Finding | Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [f.as_json() if isinstance(f, conduct.Finding) else f for f in findings]


def _span(finding: Mapping[str, Any], size: int) -> tuple[int, int]:
    """The finding's span clamped into the text (stored findings may predate an edit)."""
    start, end = finding.get("start"), finding.get("end")
    start = start if isinstance(start, int) else 0
    end = end if isinstance(end, int) else size
    start = min(max(start, 0), size)
    return start, min(max(end, start), size)


def highlight(text: str, findings: Sequence[Mapping[str, Any]]) -> list[Segment]:
    """``text`` cut into runs at every finding's start and end. The template escapes each run,
    so the marks never let the (attacker-controlled) text write HTML."""
    spans = [_span(f, len(text)) for f in findings]
    real = [(s, e) for s, e in spans if s < e]
    cuts = sorted({0, len(text), *(s for s, _ in real), *(e for _, e in real)})
    segments: list[Segment] = []
    for a, b in itertools.pairwise(cuts):
        inside = [i for i, (s, e) in enumerate(spans) if s <= a and b <= e and s < e]
        if not inside:
            segments.append(Segment(text[a:b]))
            continue
        level = max((str(findings[i].get("level", "")) for i in inside), key=_severity)
        title = "; ".join(str(findings[i].get("why", "")) for i in inside)
        segments.append(Segment(text[a:b], level, tuple(i + 1 for i in inside), title))
    return segments


def _severity(level: str) -> int:
    return _SEVERITY.get(level, 0)


def finding_views(text: str, findings: Sequence[Mapping[str, Any]]) -> list[FindingView]:
    """The findings in text order, numbered as the marks in the text refer to them."""
    views = []
    for number, f in enumerate(findings, start=1):
        start, end = _span(f, len(text))
        level = str(f.get("level", ""))
        views.append(
            FindingView(
                number=number,
                rule=str(f.get("rule", "")),
                level=level,
                level_label=LEVEL_LABELS.get(level, level),
                why=str(f.get("why", "")),
                message=str(f.get("message", "")),
                excerpt=text[start:end],
            )
        )
    return views


def findings_context(
    text: str,
    findings: Sequence[conduct.Finding | Mapping[str, Any]],
    *,
    length: tuple[int, int, str] | None = None,
    checked: bool = True,
) -> dict[str, Any]:
    """What ``_findings.html`` shows: the highlighted text, the list, what they mean."""
    found = _as_dicts(findings)
    levels = {str(f.get("level")) for f in found}
    return {
        "checked": checked and bool(text.strip()),
        "segments": highlight(text, found),
        "findings": finding_views(text, found),
        "blocking": Level.BLOCK.value in levels,
        "approval": Level.NEEDS_APPROVAL.value in levels,
        "length": length,
    }


LIMITS = {
    ChannelKind.MASTODON: (conduct.MASTODON_LIMIT, "Mastodon"),
    ChannelKind.BLUESKY: (conduct.BLUESKY_LIMIT, "Bluesky"),
}
"""Networks whose length limit the composer counts down, and their names."""


def length_of(policy: Policy, channel: str, text: str) -> tuple[int, int, str] | None:
    """(characters as the channel's network counts them, its limit, the network's name), for
    the networks with a limit; None elsewhere."""
    try:
        kind = policy.channel(channel).kind
    except KeyError:
        return None
    if kind not in LIMITS:
        return None
    limit, name = LIMITS[kind]
    return conduct.length_of(kind, text), limit, name


def _check(
    session: Session,
    policy: Policy,
    text: str,
    *,
    channel: str,
    author: User,
    kind: OutboxKind,
    item: Item | None,
    paid: bool,
) -> dict[str, Any]:
    """The live check of a text being written: its findings, ready for ``_findings.html``."""
    if not text.strip():
        return findings_context(text, [], checked=False)
    context = drafts.context_for(
        session, policy, channel=channel, author=author, kind=kind, item=item, paid=paid
    )
    text = text[: drafts.MAX_TEXT]
    found = conduct.check(policy, text, context)
    return findings_context(text, found, length=length_of(policy, channel, text))


def _read_session(request: Request) -> Iterator[Session]:
    """A read-only session for a POST that only reads (the live check): every keystroke must
    not take the database's write lock."""
    session = begin_read(state(request).read_sessions)
    with session:
        yield session


ReadSession = Annotated[Session, Depends(_read_session, scope="function")]


@router.post(
    "/conduct/check", response_class=HTMLResponse, dependencies=[*csrf, allow(Action.VIEW)]
)
def conduct_check(
    request: Request,
    session: ReadSession,
    text: TEXT = "",
    channel: Annotated[str, Form(max_length=64)] = "",
    item_id: Annotated[str, Form(max_length=20)] = "",
    outbox_id: Annotated[str, Form(max_length=20)] = "",
    kind: Annotated[str, Form(max_length=8)] = "public",
    paid: FLAG = "",
) -> Response:
    """The findings partial for a text being written (htmx posts it as people type): for a
    reply on an item (``item_id``, ``kind`` public or private), a revision of a draft
    (``outbox_id``) or a new post on ``channel``."""
    web = state(request)
    user = current_user(request, session)
    policy = web.policy
    item: Item | None = None
    if outbox_id:
        post = drafts.get_post(session, _id_field("outbox_id", outbox_id))
        channel, post_kind, is_paid = post.channel, OutboxKind(post.kind), post.paid
        item = session.get(Item, post.item_id) if post.item_id else None
    elif item_id:
        item = repository.get_item(session, _id_field("item_id", item_id))
        channel, post_kind, is_paid = item.post.channel, _reply_kind(kind), False
    else:
        _known_channel(policy, channel)
        post_kind, is_paid = OutboxKind.POST, bool(paid)
    context = _check(
        session,
        policy,
        text,
        channel=channel,
        author=user,
        kind=post_kind,
        item=item,
        paid=is_paid,
    )
    return web.templates.TemplateResponse(request, "_findings.html", context)


def _id_field(field: str, value: str) -> int:
    number = as_id(value)
    if number is None:
        raise FieldError(field, "must be a whole number from 1 up.")
    return number


def _reply_kind(kind: str) -> OutboxKind:
    kinds = {"public": OutboxKind.REPLY, "private": OutboxKind.PRIVATE}
    if kind not in kinds:
        raise FieldError("kind", f"unknown reply kind {kind!r} (public or private).")
    return kinds[kind]


def _known_channel(policy: Policy, channel: str) -> None:
    try:
        policy.channel(channel)
    except KeyError:
        known = ", ".join(c.id for c in policy.channels)
        raise FieldError("channel", f"choose one of {known}.") from None


# -- the Drafts page --------------------------------------------------------------------------
def _parse_tab(tab: str) -> Tab:
    try:
        return Tab(tab)
    except ValueError:
        raise FieldError("tab", f"must be one of {', '.join(t.value for t in Tab)}.") from None


def _parse_scope(scope: str) -> Scope:
    try:
        return Scope(scope)
    except ValueError:
        raise FieldError("scope", "must be me or department.") from None


def waits_for(session: Session, policy: Policy, post: OutboxPost) -> str:
    """Who the post waits for, in words ("Sofia Rossi", "all of: …"), or empty."""
    if post.status == OutboxStatus.CHANGES:
        return f"{post.author.name} (changes asked)"
    if post.status != OutboxStatus.DRAFT:
        return ""
    for step in approvals.progress(session, policy, post):
        if step.state != "current":
            continue
        left = [name for name in step.deciders if name not in step.approved_by]
        if not left:
            return step.label
        if step.need == "all":
            return f"{step.label}: all of {', '.join(left)}"
        return f"{step.label} ({', '.join(left)})"
    return "an admin"


def _when(post: OutboxPost, tab: Tab) -> tuple[str, datetime | None]:
    if tab is Tab.SCHEDULED:
        if post.scheduled_at:
            return "goes out", post.scheduled_at
        return "approved", post.decided_at or post.updated_at
    if tab is Tab.PUBLISHED:
        return "published", post.published_at or post.updated_at
    if tab is Tab.WAITING:
        return "written", post.created_at
    return "changed", post.updated_at


def _row(session: Session, policy: Policy, post: OutboxPost, tab: Tab) -> dict[str, Any]:
    label, at = _when(post, tab)
    return {
        "post": post,
        "kind": KIND_WORDS.get(post.kind, post.kind),
        "status": drafts.STATUS_LABELS.get(OutboxStatus(post.status), post.status),
        "chain": approvals.chain_label(policy, post),
        "waits_for": waits_for(session, policy, post),
        "when_label": label,
        "when": at,
    }


@router.get("/drafts", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def drafts_page(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    tab: Annotated[str, Query(max_length=16)] = "",
    scope: Annotated[str, Query(max_length=16)] = "me",
) -> Response:
    """The Drafts page: one tab of posts, for me or my department, with every tab's count."""
    web = state(request)
    policy = web.policy
    view_scope = _parse_scope(scope)
    counts = lists.counts(session, policy, user, view_scope)
    # The first look: what waits for me, else my own drafts.
    first = Tab.WAITING if counts[Tab.WAITING] else Tab.MINE
    view_tab = _parse_tab(tab) if tab else first
    posts = lists.posts_in(session, policy, user, view_tab, view_scope)
    labels = lists.DEPARTMENT_TAB_LABELS if view_scope is Scope.DEPARTMENT else lists.TAB_LABELS
    context = {
        "user": user,
        "department_name": web.department_name,
        "tab": view_tab,
        "scope": view_scope,
        "tabs": [(t, labels[t], counts[t]) for t in Tab],
        "rows": [_row(session, policy, p, view_tab) for p in posts],
        "limit": lists.LIMIT,
    }
    return web.templates.TemplateResponse(request, "drafts.html", context)


@router.get("/drafts/badge", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def drafts_badge(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """The nav link with what waits for me (htmx polls it)."""
    waiting, changes = lists.to_do(session, state(request).policy, user)
    parts = []
    if waiting:
        parts.append(f"{waiting} waiting for your approval")
    if changes:
        parts.append(f"{changes} of yours with changes asked")
    context = {"count": waiting + changes, "title": "; ".join(parts)}
    return state(request).templates.TemplateResponse(request, "_drafts_badge.html", context)


# -- one draft --------------------------------------------------------------------------------
def _target_of(session: Session, post: OutboxPost, item: Item | None) -> PostRecord | None:
    if item is not None:
        return item.post
    if post.reply_to:
        return session.scalar(select(PostRecord).where(PostRecord.post_id == post.reply_to))
    return None


def draft_page(
    request: Request,
    session: Session,
    user: User,
    outbox_id: int,
    *,
    status_code: int = 200,
    refusal: str = "",
    revision_text: str | None = None,
    revision_findings: Sequence[Mapping[str, Any]] | None = None,
) -> Response:
    """One draft: its text with findings highlighted, its chain's progress, the post it
    answers and its thread, the decisions, and what this person may do with it.

    ``refusal`` shows why an action was refused, in place (e.g. the crisis cool-down);
    ``revision_text`` and ``revision_findings`` refill the author's revision form."""
    web = state(request)
    policy = web.policy
    post = drafts.get_post(session, outbox_id)
    item = session.get(Item, post.item_id) if post.item_id else None
    target = _target_of(session, post, item)
    reviewer = approvals.may_review(session, policy, post, user)
    decisions = [
        d
        for d in approvals.decisions_of(session, post.id)
        if reviewer or d.decision != Decision.NOTE
    ]
    may_revise = post.author_id == user.id and post.status in (
        OutboxStatus.DRAFT,
        OutboxStatus.CHANGES,
    )
    now = web.clock()
    campaign = session.get(Campaign, post.campaign_id) if post.campaign_id else None
    category = policy.planning.category(post.category) if post.category else None
    text = post.text if revision_text is None else revision_text
    revision = findings_context(
        text,
        post.findings if revision_findings is None else revision_findings,
        length=length_of(policy, post.channel, text),
    )
    context = {
        "user": user,
        "department_name": web.department_name,
        "post": post,
        "kind": KIND_WORDS.get(post.kind, post.kind),
        "status": drafts.STATUS_LABELS.get(OutboxStatus(post.status), post.status),
        "chain": approvals.chain_label(policy, post),
        "steps": approvals.progress(session, policy, post),
        "waits_for": waits_for(session, policy, post),
        "item": item,
        "target": target,
        "thread": repository.thread_of(session, target) if target is not None else None,
        "decisions": decisions,
        "decision_words": DECISION_WORDS,
        "reviewer": reviewer,
        "may_decide": approvals.may_decide(session, policy, post, user),
        "cooldown_until": post.not_before if post.not_before and post.not_before > now else None,
        "may_revise": may_revise,
        "revision_text": text,
        "refusal": refusal,
        "campaign": campaign,
        "objective": policy.objectives.objective(post.objective_id) if post.objective_id else None,
        "category_label": category.label if category is not None else "",
        "max_text": drafts.MAX_TEXT,
        "max_note": drafts.MAX_NOTE,
        **findings_context(
            post.text, post.findings, length=length_of(policy, post.channel, post.text)
        ),
        "revision": revision,
    }
    return web.templates.TemplateResponse(request, "draft.html", context, status_code=status_code)


@router.get("/drafts/{outbox_id}", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def draft_view(
    request: Request,
    outbox_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    person: PermitDep,
    scope: Annotated[perm.Scope, Depends(the_draft)],
) -> Response:
    """One draft (see ``draft_page``): for those who see its department, and its deciders."""
    post = drafts.get_post(session, outbox_id)
    if not person.can(Action.VIEW, scope) and not approvals.may_review(
        session, state(request).policy, post, user
    ):
        person.require(Action.VIEW, scope, "see drafts")
    return draft_page(request, session, user, outbox_id)


def safe_back(back: str, default: str) -> str:
    """``back`` when it is one of the app's pages a decision starts from, else ``default``."""
    if back.startswith(("/drafts", "/items/", "/crises/", "/outbox")) and "//" not in back:
        return back
    return default


@router.post("/drafts/{outbox_id}/decide", dependencies=[*csrf, allow(Action.APPROVE)])
def decide(
    request: Request,
    outbox_id: IdNumber,
    session: DbSession,
    user: CurrentUser,
    decision: Annotated[str, Form(max_length=8)],
    comment: NOTE = "",
    note: NOTE = "",
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Approve, reject or ask for changes (with a comment for the author and a private note).

    A refusal the person can act on (the cool-down, a missing comment, a draft decided
    meanwhile) is shown on the draft's page, not as an error page."""
    decided = decide_or_refuse(request, session, user, outbox_id, decision, comment, note)
    if isinstance(decided, Response):
        return decided
    return RedirectResponse(safe_back(back, f"/drafts/{outbox_id}"), status_code=303)


def decide_or_refuse(
    request: Request,
    session: Session,
    user: User,
    outbox_id: int,
    decision: str,
    comment: str,
    note: str,
) -> OutboxPost | Response:
    """The decision taken (the draft), or the draft's page with the refusal the person can act
    on (the cool-down, a missing comment, a draft decided meanwhile); the decide routes of the
    Drafts and crisis pages share it."""
    if decision not in DECISIONS:
        raise FieldError("decision", "choose approve, reject or changes.")
    web = state(request)
    try:
        return drafts.decide(
            session,
            web.policy,
            outbox_id,
            DECISIONS[decision],
            actor=user,
            now=web.clock(),
            comment=comment,
            note=note,
        )
    except (ConflictError, InputError) as refused:
        session.rollback()
        return draft_page(
            request,
            session,
            user,
            outbox_id,
            status_code=refused.status_code,
            refusal=refused.message,
        )


@router.post("/drafts/{outbox_id}/notes", dependencies=[*csrf, allow(Action.APPROVE)])
def add_note(
    request: Request, outbox_id: IdNumber, session: DbSession, user: CurrentUser, note: NOTE
) -> Response:
    """A private reviewer note on the draft."""
    web = state(request)
    drafts.add_note(session, web.policy, outbox_id, note, actor=user, now=web.clock())
    return RedirectResponse(f"/drafts/{outbox_id}#decisions", status_code=303)


@router.post("/drafts/{outbox_id}/revise", dependencies=[*csrf, allow(Action.REPLY, the_draft)])
def revise(
    request: Request, outbox_id: IdNumber, session: DbSession, user: CurrentUser, text: TEXT
) -> Response:
    """The author rewrites the draft: checked again, and its chain starts over. A text the
    code of conduct stops comes back in the form with its findings (422)."""
    web = state(request)
    try:
        drafts.revise(session, web.policy, outbox_id, text, actor=user, now=web.clock())
    except ConductBlockedError as blocked:
        session.rollback()
        return draft_page(
            request,
            session,
            user,
            outbox_id,
            status_code=422,
            refusal=blocked.message,
            revision_text=text,
            revision_findings=blocked.findings,
        )
    except InputError as refused:
        session.rollback()
        return draft_page(
            request,
            session,
            user,
            outbox_id,
            status_code=422,
            refusal=refused.message,
            revision_text=text,
        )
    return RedirectResponse(f"/drafts/{outbox_id}", status_code=303)


# -- the composer for new posts ---------------------------------------------------------------
def _channels_for(person: Permit) -> list[str]:
    """The channels this person may write new posts on."""
    department = person.user.department
    return [
        c.id
        for c in person.policy.channels
        if person.can(Action.REPLY, perm.Scope.of(department, channel=c.id))
    ]


def _compose_page(
    request: Request,
    user: User,
    person: Permit,
    *,
    session: Session,
    values: Mapping[str, Any] | None = None,
    findings: Sequence[Mapping[str, Any]] = (),
    error: str = "",
    next_free: datetime | None = None,
    saved: OutboxPost | None = None,
    cap_warnings: Sequence[str] = (),
    status_code: int = 200,
) -> Response:
    """The composer; ``next_free`` offers the first slot no blocking cap refuses, ``saved``
    and ``cap_warnings`` say a post was saved despite the caps' warnings."""
    web = state(request)
    policy = web.policy
    form: dict[str, Any] = {"channel": "", "text": "", "at": "", "paid": False}
    form.update({"statement": False, "category": "", "campaign": "", "objective": ""})
    form.update(values or {})
    channels = _channels_for(person)
    mine = [
        c.id for c in policy.channels if c.default_owner == user.department and c.id in channels
    ]
    if not form["channel"] or form["channel"] not in channels:
        form["channel"] = mine[0] if mine else channels[0]
    text = str(form["text"])
    zone_name = policy.person_timezone(user.email)
    now = web.clock()
    chosen = None
    if str(form["campaign"]).strip():
        number = as_id(str(form["campaign"]).strip())
        chosen = session.get(Campaign, number) if number is not None else None
    context = {
        "user": user,
        "department_name": web.department_name,
        "channels": channels,
        "form": form,
        "error": error,
        "timezone": zone_name,
        "max_text": drafts.MAX_TEXT,
        "categories": policy.planning.categories,
        "objectives": policy.objectives.objectives,
        "campaigns": campaign_pages.composer_options(session, now, str(form["channel"])),
        "chosen": str(form["campaign"]),
        "chosen_campaign": chosen,
        "links": campaign_pages.tagged_links(text, chosen, str(form["channel"])),
        "next_free": _local_input(next_free, zone_name) if next_free else "",
        "next_free_words": _local_words(next_free, zone_name) if next_free else "",
        "saved": saved,
        "cap_warnings": list(cap_warnings),
        **findings_context(
            text, findings, length=length_of(policy, str(form["channel"]), text), checked=False
        ),
    }
    if findings:
        context["checked"] = True
    return web.templates.TemplateResponse(request, "compose.html", context, status_code=status_code)


def _local_input(moment: datetime, zone_name: str) -> str:
    """``moment`` as a datetime-local value in ``zone_name``."""
    return f"{moment.astimezone(zoneinfo.ZoneInfo(zone_name)):%Y-%m-%dT%H:%M}"


def _local_words(moment: datetime, zone_name: str) -> str:
    """``moment`` as a person reads it in ``zone_name``: "Tue 24 Nov, 13:00"."""
    return f"{moment.astimezone(zoneinfo.ZoneInfo(zone_name)):%a %d %b, %H:%M}"


def _cap_words(policy: Policy, warnings: Sequence[Mapping[str, Any]]) -> list[str]:
    """What each cap warning says, in words: the cap's name and why."""
    labels = {cap.id: cap.label for cap in policy.planning.caps}
    words = []
    for warning in warnings:
        label = labels.get(str(warning.get("cap", "")), "A frequency cap")
        why = str(warning.get("why") or "").strip()
        words.append(f"{label}: {why}" if why else label)
    return words


def _prefill(request: Request, person: Permit) -> tuple[dict[str, Any], str]:
    """The composer's fields from the query string (``at``, ``channel``, ``category``,
    ``campaign``: the calendar's "new post in this slot" links), and what was wrong with
    them."""
    policy = person.policy
    query = request.query_params
    values: dict[str, Any] = {}
    problems: list[str] = []
    channel = query.get("channel", "")[:64]
    if channel:
        if channel in _channels_for(person):
            values["channel"] = channel
        else:
            problems.append(f"channel: you may not write posts on {channel!r}.")
    category = query.get("category", "")[:64]
    if category:
        if policy.planning.category(category) is not None:
            values["category"] = category
        else:
            problems.append(f"category: there is no category {category!r}.")
    campaign = query.get("campaign", "")[:20]
    if campaign:
        if as_id(campaign) is not None:
            values["campaign"] = campaign
        else:
            problems.append("campaign: not a campaign number.")
    at = query.get("at", "")[:32]
    if at:
        zone = zoneinfo.ZoneInfo(policy.person_timezone(person.user.email))
        try:
            parse_local_time("at", at, zone)
            values["at"] = at[:16]
        except FieldError as bad:
            problems.append(bad.message)
    return values, " ".join(problems)


@router.get("/compose", response_class=HTMLResponse, dependencies=[allow(Action.VIEW)])
def compose_form(
    request: Request, session: DbSession, user: CurrentUser, person: PermitDep
) -> Response:
    """A new post: channel, text, when, category, campaign, paid or sponsored, official
    statement; prefilled from ``?at=YYYY-MM-DDTHH:MM&channel=…&category=…&campaign=…``."""
    if not _channels_for(person):
        raise refusal(person.policy, Action.REPLY, None, "write posts")
    values, problems = _prefill(request, person)
    if "campaign" in values and "category" not in values:
        number = as_id(values["campaign"])
        joined = session.get(Campaign, number) if number is not None else None
        if joined is not None and joined.category:
            values["category"] = joined.category
        if joined is not None and joined.channels and "channel" not in values:
            mine = [c for c in joined.channels if c in _channels_for(person)]
            if mine:
                values["channel"] = mine[0]
    return _compose_page(request, user, person, session=session, values=values, error=problems)


@router.post("/compose", dependencies=[*csrf, allow(Action.VIEW)])
def compose(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    person: PermitDep,
    channel: Annotated[str, Form(max_length=64)],
    text: TEXT,
    at: Annotated[str, Form(max_length=32)] = "",
    paid: FLAG = "",
    statement: FLAG = "",
    category: Annotated[str, Form(max_length=64)] = "",
    campaign: Annotated[str, Form(max_length=20)] = "",
    objective: Annotated[str, Form(max_length=64)] = "",
    next_free: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Write a new post: it goes to its approval chain (or out, if its author may publish
    directly). Findings that stop it come back in the form, with the text kept (422); a slot
    a frequency cap refuses comes back with the next free slot offered (409); a slot a cap
    warns about is saved, and the warning shown."""
    web = state(request)
    person.require(Action.REPLY, perm.Scope.of(user.department, channel=channel), "write posts")
    if next_free.strip():
        at = next_free  # the "Schedule at the next free slot" button
    values = {"channel": channel, "text": text, "at": at, "paid": bool(paid)}
    values.update({"statement": bool(statement), "category": category, "campaign": campaign})
    values["objective"] = objective
    zone = zoneinfo.ZoneInfo(web.policy.person_timezone(user.email))
    now = web.clock()
    try:
        _known_channel(web.policy, channel)
        when = parse_local_time("at", at, zone) if at.strip() else None
        joined = campaign_pages.composer_campaign(session, now, campaign, channel)
        post = drafts.create_draft(
            session,
            web.policy,
            channel=channel,
            text=text,
            author=user,
            now=now,
            kind=OutboxKind.POST,
            at=when,
            paid=bool(paid),
            statement=bool(statement),
            category=category or None,
            campaign_id=joined.id if joined is not None else None,
            objective_id=objective.strip() or None,
        )
        warnings = []
        if post.scheduled_at is not None:
            warnings = schedule.check_slot(
                session,
                web.policy,
                channel=post.channel,
                category=post.category,
                at=post.scheduled_at,
                ignore_outbox_id=post.id,
            )
    except CapBlockedError as refused:
        session.rollback()
        return _compose_page(
            request,
            user,
            person,
            session=session,
            values=values,
            error=refused.message,
            next_free=refused.next_free,
            status_code=refused.status_code,
        )
    except ConductBlockedError as blocked:
        session.rollback()
        return _compose_page(
            request,
            user,
            person,
            session=session,
            values=values,
            findings=blocked.findings,
            error=blocked.message,
            status_code=422,
        )
    except InputError as refused:
        session.rollback()
        return _compose_page(
            request,
            user,
            person,
            session=session,
            values=values,
            error=refused.message,
            status_code=422,
        )
    if warnings:
        return _compose_page(
            request,
            user,
            person,
            session=session,
            saved=post,
            cap_warnings=_cap_words(web.policy, warnings),
        )
    return RedirectResponse(f"/drafts/{post.id}", status_code=303)
