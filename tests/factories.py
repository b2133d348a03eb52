"""Factories of users, and posts with their inbox items inserted directly (cases and publishing
tests import these fixtures into their conftest)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from townhall.models import Item, ItemStatus, PostRecord, Role, User
from townhall.org.accounts import upsert_user

_serial = itertools.count(1)


@pytest.fixture
def make_user(session: Session, now: datetime) -> Callable[..., User]:
    """A factory of users (password ``secret``)."""

    def make(
        email: str,
        department: str = "customer_service",
        name: str | None = None,
        role: Role = Role.MEMBER,
        active: bool = True,
    ) -> User:
        user = upsert_user(
            session,
            email=email,
            name=name or email.split("@")[0].title(),
            department=department,
            role=role,
            password="secret",
            now=now,
        )
        user.active = active
        session.flush()
        return user

    return make


@pytest.fixture
def make_item(session: Session, now: datetime) -> Callable[..., Item]:
    """A factory of stored posts with one inbox item each."""

    def make(
        text: str = "My KettleOne stopped working",
        *,
        channel: str = "mastodon",
        department: str = "customer_service",
        handle: str | None = None,
        status: ItemStatus = ItemStatus.NEW,
        reply_to: str | None = None,
        reshare_of: str | None = None,
        **post: Any,
    ) -> Item:
        n = next(_serial)
        record = PostRecord(
            post_id=post.pop("post_id", f"{channel}:c{n}"),
            channel=channel,
            external_id=f"c{n}",
            created_at=now - timedelta(minutes=n),
            ingested_at=now,
            text=text,
            author_handle=handle or f"@user{n}@example.social",
            author_name=post.pop("author_name", f"User {n}"),
            author_followers=post.pop("author_followers", 10 * n),
            reply_to=reply_to,
            reshare_of=reshare_of,
            media=[],
            extra={},
            **post,
        )
        session.add(record)
        session.flush()
        item = Item(
            post_pk=record.id,
            department=department,
            status=status,
            rule="channel_default",
            why="test item",
            created_at=now,
            updated_at=now,
        )
        item.post = record
        session.add(item)
        session.flush()
        return item

    return make
