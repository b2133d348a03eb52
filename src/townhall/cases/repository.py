"""Every query of the cases domain: items, notes, threads, users, audit history."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from townhall.cases.schemas import PAGE_SIZE, InboxFilter, Thread
from townhall.errors import NotFoundError
from townhall.models import AuditEvent, Item, ItemStatus, Note, PostRecord, User

MAX_REPLIES = 50
"""Replies shown under a post on its detail page."""


def _filtered(query: Select[Item], flt: InboxFilter) -> Select[Item]:
    query = query.join(Item.post)
    if flt.department:
        query = query.where(Item.department == flt.department)
    if flt.channel:
        query = query.where(PostRecord.channel == flt.channel)
    if flt.statuses:
        query = query.where(Item.status.in_(flt.statuses))
    if flt.intent:
        query = query.where(PostRecord.intent == flt.intent)
    if flt.sentiment:
        query = query.where(PostRecord.sentiment_label == flt.sentiment)
    if flt.text:
        needle = flt.text.lower()
        # autoescape makes % and _ in the search literal characters on every backend.
        query = query.where(
            func.lower(PostRecord.text).contains(needle, autoescape=True)
            | func.lower(PostRecord.author_handle).contains(needle, autoescape=True)
        )
    return query


def list_items(
    session: Session,
    flt: InboxFilter,
    *,
    limit: int = PAGE_SIZE,
    before_id: int | None = None,
) -> list[Item]:
    """Matching items, newest first; ``before_id`` pages to older ones."""
    query = _filtered(select(Item), flt)
    if before_id is not None:
        query = query.where(Item.id < before_id)
    return list(session.scalars(query.order_by(Item.id.desc()).limit(limit)).unique())


def items_after(
    session: Session, flt: InboxFilter, after_id: int, *, limit: int = 50
) -> list[Item]:
    """Matching items with an id above ``after_id``, oldest first (at most ``limit``)."""
    query = _filtered(select(Item), flt).where(Item.id > after_id)
    return list(session.scalars(query.order_by(Item.id.asc()).limit(limit)).unique())


def matching_ids_above(session: Session, flt: InboxFilter, low_id: int, *, limit: int) -> list[int]:
    """Ids of matching items above ``low_id``, ascending (at most ``limit``)."""
    query = _filtered(select(Item.id), flt).where(Item.id > low_id)
    return list(session.scalars(query.order_by(Item.id.asc()).limit(limit)))


def items_by_ids(session: Session, ids: Sequence[int]) -> list[Item]:
    """The items with these ids, ascending by id."""
    if not ids:
        return []
    query = select(Item).where(Item.id.in_(ids)).order_by(Item.id)
    return list(session.scalars(query).unique())


def count_items(session: Session, flt: InboxFilter) -> int:
    """How many items match ``flt``."""
    query = _filtered(select(Item), flt).with_only_columns(func.count(Item.id))
    return int(session.scalar(query) or 0)


def latest_item_id(session: Session) -> int:
    """The highest item id, 0 when there is none."""
    return int(session.scalar(select(func.max(Item.id))) or 0)


def get_item(session: Session, item_id: int, *, for_update: bool = False) -> Item:
    """The item with ``item_id``; raises ``NotFoundError``."""
    query = select(Item).where(Item.id == item_id)
    if for_update:
        query = query.with_for_update(of=Item)
    item = session.scalars(query).unique().one_or_none()
    if item is None:
        raise NotFoundError(f"There is no item #{item_id}.")
    return item


def thread_of(session: Session, post: PostRecord) -> Thread:
    """The post ``post`` replies to, the replies to it and how often it was reshared."""
    parent = None
    if post.reply_to:
        parent = session.scalar(select(PostRecord).where(PostRecord.post_id == post.reply_to))
    replies = session.scalars(
        select(PostRecord)
        .where(PostRecord.reply_to == post.post_id)
        .order_by(PostRecord.created_at)
        .limit(MAX_REPLIES)
    )
    reshares = session.scalar(
        select(func.count(PostRecord.id)).where(PostRecord.reshare_of == post.post_id)
    )
    return Thread(parent=parent, replies=list(replies), reshares=int(reshares or 0))


def notes_of(session: Session, item_id: int) -> list[Note]:
    """The item's internal notes, oldest first."""
    query = select(Note).where(Note.item_id == item_id).order_by(Note.id)
    return list(session.scalars(query).unique())


def history_of(session: Session, item_id: int) -> list[AuditEvent]:
    """The item's audit events, oldest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == "item", AuditEvent.subject_id == str(item_id))
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(query))


def get_user(session: Session, user_id: int) -> User:
    """The user with ``user_id``; raises ``NotFoundError``."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"There is no user #{user_id}.")
    return user


def active_users(session: Session, first_department: str | None = None) -> list[User]:
    """Active users by name, those of ``first_department`` first."""
    users = list(session.scalars(select(User).where(User.active).order_by(User.name)))
    return sorted(users, key=lambda user: user.department != first_department)


def channels(session: Session) -> Sequence[str]:
    """The channels that have stored posts, alphabetically."""
    query = select(PostRecord.channel).distinct().order_by(PostRecord.channel)
    return list(session.scalars(query))


def count_posts(session: Session) -> int:
    """How many posts are stored."""
    return int(session.scalar(select(func.count(PostRecord.id))) or 0)


def count_open_items(session: Session) -> int:
    """How many items are not done."""
    query = select(func.count(Item.id)).where(Item.status != ItemStatus.DONE)
    return int(session.scalar(query) or 0)
