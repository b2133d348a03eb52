"""SQLAlchemy tables, one module per aggregate."""

from townhall.models.audit import AuditEvent
from townhall.models.base import Base
from townhall.models.crisis import (
    AlertRecord,
    ChecklistEntry,
    CrisisRoom,
    CrisisStatus,
    Reply,
    ReplyKind,
    ReplyStatus,
)
from townhall.models.item import Item, ItemStatus, Note, SlaBreach
from townhall.models.post import PostRecord
from townhall.models.user import Role, User

__all__ = [
    "AlertRecord",
    "AuditEvent",
    "Base",
    "ChecklistEntry",
    "CrisisRoom",
    "CrisisStatus",
    "Item",
    "ItemStatus",
    "Note",
    "PostRecord",
    "Reply",
    "ReplyKind",
    "ReplyStatus",
    "Role",
    "SlaBreach",
    "User",
]
