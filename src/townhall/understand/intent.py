"""Intent and actionable: linear models over character and word n-grams (TF-IDF).

Features come from :class:`townhall.understand.features.TextFeatures` (vectorised once per batch,
shared by both questions); each question is a linear SVM whose scores are calibrated into
probabilities by cross-validation on the training texts. Trained on the project's labelled set
(``data/intents/``) by ``townhall model train``; the model file is built by ``make install`` and
never downloaded. Hyper-parameters were chosen by cross-validation on the train split only
(``townhall model tune``, docs/understand.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import joblib
import numpy as np
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import LinearSVC

from townhall.errors import ConfigError
from townhall.understand.features import TextFeatures
from townhall.understand.labels import INTENTS, Intent

MAX_CHARS = 2_000
"""Characters of a post the model reads (the start carries the intent; keeps cost bounded)."""

MODEL_FORMAT = 4

C_INTENT = 1.0
"""SVM regularisation for intent (5-fold CV on the train split: 0.5 / 1 / 2 within 0.01)."""

C_ACTIONABLE = 0.5
"""SVM regularisation for actionable (5-fold CV on the train split)."""

EMBEDDING_WEIGHTS = (0.5, 1.0, 2.0)
"""Scales of the MiniLM embedding next to the n-gram features that ``--ml`` training compares by
cross-validation on the training texts; the best one is stored in the model."""

CALIBRATION_FOLDS = 5
"""Folds of the training texts used to turn SVM scores into probabilities."""


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


def _classifier(c: float, labels: Sequence[object]) -> CalibratedClassifierCV:
    """A linear SVM with sigmoid-calibrated probabilities (one SVM, calibrated out of fold)."""
    smallest = min(np.unique(np.asarray(labels), return_counts=True)[1])
    folds = max(2, min(CALIBRATION_FOLDS, int(smallest)))
    return CalibratedClassifierCV(LinearSVC(C=c, class_weight="balanced"), cv=folds, ensemble=False)


def _clip(texts: Sequence[str]) -> list[str]:
    return [t[:MAX_CHARS] for t in texts]


class IntentModel:
    """Predicts intent (one of ``INTENTS``) and actionable for batches of texts."""

    def __init__(
        self,
        features: TextFeatures,
        intent: CalibratedClassifierCV,
        actionable: CalibratedClassifierCV,
        trained_on: str,
        embedder: Embedder | None = None,
        embedding_weight: float = 0.0,
    ) -> None:
        self._features = features
        self._intent = intent
        self._actionable = actionable
        self.trained_on = trained_on
        self.embedder = embedder
        self.embedding_weight = embedding_weight

    def _matrix(self, clipped: list[str], fit: bool = False) -> Any:
        matrix = self._features.fit_transform(clipped) if fit else self._features.transform(clipped)
        if self.embedder is None:
            return matrix
        dense = sparse.csr_matrix(self.embedder.encode(clipped) * self.embedding_weight)
        return sparse.hstack([matrix, dense], format="csr")

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        intents: Sequence[str],
        actionable: Sequence[bool],
        c_intent: float = C_INTENT,
        c_actionable: float = C_ACTIONABLE,
        embedder: Embedder | None = None,
        embedding_weight: float = 1.0,
    ) -> IntentModel:
        """Fit both classifiers on labelled texts (deterministic for the same data).

        With an ``embedder`` (the ``[ml]`` extra) the features also hold sentence embeddings,
        scaled by ``embedding_weight``. Every class needs at least two examples.
        """
        unknown = set(intents) - set(INTENTS)
        if unknown:
            raise ValueError(f"unknown intents in training data: {sorted(unknown)}")
        clipped = _clip(texts)
        flags = [bool(a) for a in actionable]
        model = cls(
            TextFeatures(),
            _classifier(c_intent, intents),
            _classifier(c_actionable, flags),
            "",
            embedder,
            embedding_weight if embedder is not None else 0.0,
        )
        # One feature space for both questions: the text is vectorised once per prediction.
        matrix = model._matrix(clipped, fit=True)
        model._intent.fit(matrix, list(intents))
        model._actionable.fit(matrix, flags)
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
        act_true = list(self._actionable.classes_).index(True)
        yes = p_act[:, act_true]
        if self._intent.cv >= CALIBRATION_FOLDS:
            best = np.argmax(p_intent, axis=1)
            says_yes = yes >= 0.5
        else:
            # Too few examples per class for a sound sigmoid fit (tiny training sets): the SVMs
            # decide the labels, the rough probabilities only give the confidence.
            intent_svm: Any = self._intent.calibrated_classifiers_[0].estimator
            actionable_svm: Any = self._actionable.calibrated_classifiers_[0].estimator
            best = np.argmax(intent_svm.decision_function(matrix), axis=1)
            says_yes = (actionable_svm.decision_function(matrix) > 0) == (act_true == 1)
        confidence = np.round(p_intent[np.arange(len(best)), best], 4)
        labels = [str(label) for label in self._intent.classes_]
        return [
            IntentPrediction(
                intent=cast(Intent, labels[b]),
                intent_confidence=float(c),
                actionable=bool(a),
                actionable_confidence=round(float(y if a else 1 - y), 4),
            )
            for b, c, a, y in zip(
                best.tolist(), confidence.tolist(), says_yes.tolist(), yes.tolist(), strict=True
            )
        ]

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
            "embedding_weight": self.embedding_weight,
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
            float(payload["embedding_weight"]),
        )
