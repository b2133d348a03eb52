"""The label vocabulary of understanding: intents and sentiments (no heavy imports here)."""

from __future__ import annotations

from typing import Literal, get_args

Intent = Literal[
    "complaint",
    "question",
    "praise",
    "purchase_intent",
    "press_inquiry",
    "partnership",
    "job",
    "outage",
    "spam",
    "other",
]
INTENTS: tuple[Intent, ...] = get_args(Intent)
"""Every intent, in the order reports list them."""

SentimentLabel = Literal["positive", "neutral", "negative"]
SENTIMENTS: tuple[SentimentLabel, ...] = get_args(SentimentLabel)
