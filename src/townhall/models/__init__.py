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
from townhall.models.insight import (
    CardReceipt,
    CardStatus,
    Influencer,
    InfluencerNote,
    InsightCard,
    KpiReading,
    RelationshipStage,
)
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
from townhall.models.planning import (
    CalendarFeed,
    Campaign,
    CampaignSpend,
    CommunicationPlan,
    FeedScope,
    PlannedEntry,
    PlannedKind,
    PlanPurpose,
    PlanStatus,
    PlanStep,
)
from townhall.models.post import PostRecord
from townhall.models.rollup import PostRollup
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
    "CalendarFeed",
    "Campaign",
    "CampaignSpend",
    "CardReceipt",
    "CardStatus",
    "ChannelHealth",
    "ChannelState",
    "ChecklistEntry",
    "CommunicationPlan",
    "CrisisRoom",
    "CrisisStatus",
    "DeadLetter",
    "Decision",
    "DeliveryStatus",
    "FeedScope",
    "Influencer",
    "InfluencerNote",
    "InsightCard",
    "Item",
    "ItemStatus",
    "KpiReading",
    "LoginAttempts",
    "LoginSession",
    "Note",
    "OutboxAttempt",
    "OutboxDecision",
    "OutboxKind",
    "OutboxPost",
    "OutboxStatus",
    "PlanPurpose",
    "PlanStatus",
    "PlanStep",
    "PlannedEntry",
    "PlannedKind",
    "PostRecord",
    "PostRollup",
    "RelationshipStage",
    "Role",
    "SessionEnd",
    "SlaBreach",
    "Takeover",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
