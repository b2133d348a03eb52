"""SQLAlchemy tables, one module per aggregate."""

from townhall.models.api import ApiIdempotency, ApiToken
from townhall.models.audit import AuditEvent
from townhall.models.base import Base
from townhall.models.channel import ChannelHealth, ChannelState
from townhall.models.crisis import (
    AlertRecord,
    ChecklistEntry,
    CrisisRoom,
    CrisisStatus,
)
from townhall.models.dead_letter import DeadLetter
from townhall.models.item import Item, ItemStatus, Note, SlaBreach
from townhall.models.outbox import (
    Decision,
    OutboxAttempt,
    OutboxDecision,
    OutboxKind,
    OutboxPost,
    OutboxStatus,
    Takeover,
)
from townhall.models.post import PostRecord
from townhall.models.session import AttemptScope, LoginAttempts, LoginSession, SessionEnd
from townhall.models.user import Role, User
from townhall.models.webhook import DeliveryStatus, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AlertRecord",
    "ApiIdempotency",
    "ApiToken",
    "AttemptScope",
    "AuditEvent",
    "Base",
    "ChannelHealth",
    "ChannelState",
    "ChecklistEntry",
    "CrisisRoom",
    "CrisisStatus",
    "DeadLetter",
    "Decision",
    "DeliveryStatus",
    "Item",
    "ItemStatus",
    "LoginAttempts",
    "LoginSession",
    "Note",
    "OutboxAttempt",
    "OutboxDecision",
    "OutboxKind",
    "OutboxPost",
    "OutboxStatus",
    "PostRecord",
    "Role",
    "SessionEnd",
    "SlaBreach",
    "Takeover",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
