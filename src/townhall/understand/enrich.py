"""Enrich posts: sentiment, intent, actionable, toxicity, language, country, reach, topics.

Pure over a batch of posts; the models are loaded once by ``Understander``.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from townhall.errors import ConfigError
from townhall.org.policy import Policy
from townhall.posts import Post
from townhall.understand.dataset import MODEL_PATH
from townhall.understand.geo import country_from_location
from townhall.understand.intent import IntentModel
from townhall.understand.labels import Intent, SentimentLabel
from townhall.understand.language import detect_language
from townhall.understand.reach import reach_tier
from townhall.understand.sentiment import score_many
from townhall.understand.topics import TopicMatcher
from townhall.understand.toxicity import toxicity


@dataclass(frozen=True)
class Enrichment:
    """What Townhall understands of one post (the Enrichment format of docs/formats.md)."""

    sentiment_label: SentimentLabel
    sentiment_score: float
    intent: Intent
    intent_confidence: float
    actionable: bool
    toxicity: float
    language: str | None
    country: str | None
    reach: str
    topics: list[str]

    def to_json(self) -> dict[str, Any]:
        """The enrichment fields as written by ``townhall classify``."""
        return {
            "sentiment": {"label": self.sentiment_label, "score": self.sentiment_score},
            "intent": self.intent,
            "intent_confidence": self.intent_confidence,
            "actionable": self.actionable,
            "toxicity": self.toxicity,
            "language": self.language,
            "country": self.country,
            "reach": self.reach,
            "topics": self.topics,
        }


class Understander:
    """Holds the models and the policy's keywords; enriches batches of posts."""

    def __init__(self, intent_model: IntentModel, topics: TopicMatcher) -> None:
        self._intent = intent_model
        self._topics = topics

    @classmethod
    def from_policy(cls, policy: Policy, model_path: Path = MODEL_PATH) -> Understander:
        """Load the intent model (built by ``make install``) and the policy's keywords.

        The models, lexicons and place tables are hundreds of thousands of objects that live as
        long as the process; once they are loaded they are moved out of the cyclic garbage
        collector's sight (``gc.freeze``), which otherwise rescans them on every full
        collection (about 12% of enrichment time on distinct texts).
        """
        if not model_path.is_file():
            how = "`townhall model train --ml`" if "ml" in model_path.stem else "`make install`"
            raise ConfigError(f"{model_path}: the intent model is missing; build it with {how}")
        understander = cls(IntentModel.load(model_path), TopicMatcher.from_policy(policy))
        country_from_location("London")  # builds the place tables now, before the freeze
        gc.freeze()
        return understander

    def with_policy(self, policy: Policy) -> Understander:
        """The same models with a changed policy's keywords (after a live policy edit)."""
        return type(self)(self._intent, TopicMatcher.from_policy(policy))

    def enrich(self, posts: Sequence[Post]) -> list[Enrichment]:
        """One ``Enrichment`` per post, in order.

        The text models run once per distinct text of the batch (language once per text and
        language hint): reshares without text of their own and copy-pasted posts are common, and
        every model is a pure function of the text.
        """
        distinct = list(dict.fromkeys(p.text for p in posts))
        where = {text: n for n, text in enumerate(distinct)}
        by_text = list(
            zip(
                score_many(distinct),
                self._intent.predict(distinct),
                toxicity(distinct),
                [self._topics.match(text) for text in distinct],
                strict=True,
            )
        )
        languages: dict[tuple[str, str | None], str | None] = {}
        for post in posts:
            key = (post.text, post.lang)
            if key not in languages:
                languages[key] = detect_language(post.text, hint=post.lang)
        enrichments: list[Enrichment] = []
        for post in posts:
            s, i, t, topics = by_text[where[post.text]]
            enrichments.append(
                Enrichment(
                    sentiment_label=s.label,
                    sentiment_score=round(s.score, 4),
                    intent=i.intent,
                    intent_confidence=i.intent_confidence,
                    actionable=i.actionable,
                    toxicity=round(t, 4),
                    language=languages[(post.text, post.lang)],
                    country=country_from_location(post.author.location),
                    reach=reach_tier(post.author.followers, post.author.verified),
                    topics=list(topics),  # each post owns its list
                )
            )
        return enrichments
