"""Campaigns (placeholder: the planning work fills this in)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from townhall.errors import NotFoundError
from townhall.models import Campaign


def get(session: Session, campaign_id: int) -> Campaign:
    """The campaign with this id; raises ``NotFoundError``."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"campaign: there is no campaign {campaign_id}.")
    return campaign


def tag_links(text: str, campaign: Campaign, channel: str) -> str:
    """``text`` with UTM parameters on its links."""
    return text
