"""Understand domain: pure functions that read a post (sentiment, toxicity, language, country,
reach, topics). No database, clock or network; build the lookup tables once and reuse them."""

from townhall.understand.geo import country_from_location
from townhall.understand.language import detect_language
from townhall.understand.reach import ReachTier, reach_tier
from townhall.understand.sentiment import Sentiment, SentimentLabel, score_many, score_sentiment
from townhall.understand.topics import TopicMatcher
from townhall.understand.toxicity import toxicity

__all__ = [
    "ReachTier",
    "Sentiment",
    "SentimentLabel",
    "TopicMatcher",
    "country_from_location",
    "detect_language",
    "reach_tier",
    "score_many",
    "score_sentiment",
    "toxicity",
]
