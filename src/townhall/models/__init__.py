"""SQLAlchemy tables, one module per aggregate."""

from townhall.models.audit import AuditEvent
from townhall.models.base import Base
from townhall.models.item import Item, ItemStatus, Note, SlaBreach
from townhall.models.post import PostRecord
from townhall.models.user import Role, User

__all__ = [
    "AuditEvent",
    "Base",
    "Item",
    "ItemStatus",
    "Note",
    "PostRecord",
    "Role",
    "SlaBreach",
    "User",
]
