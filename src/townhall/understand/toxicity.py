"""Toxicity 0..1 of post texts with alt-profanity-check (a linear model trained on tweets)."""

from __future__ import annotations

from collections.abc import Sequence

from profanity_check import predict_prob

MAX_CHARS = 5_000
"""Characters of each text that are scored; the rest is ignored (keeps a 100 kB post cheap)."""


def toxicity(texts: Sequence[str]) -> list[float]:
    """Probability 0..1 that each text is offensive; one model call for the batch, empty → 0.0."""
    scores = [0.0] * len(texts)
    todo = [(i, t[:MAX_CHARS]) for i, t in enumerate(texts) if t and not t.isspace()]
    if todo:
        probs = predict_prob([t for _, t in todo])
        for (i, _), p in zip(todo, probs, strict=True):
            scores[i] = min(1.0, max(0.0, float(p)))
    return scores
