"""Intent and actionable: linear models over n-grams (TF-IDF) and static word-piece vectors.

Features: :class:`townhall.understand.features.TextFeatures` (word and character n-grams) next
to the mean of the text's static word-piece vectors
(:class:`townhall.understand.embeddings.StaticVectors`), computed once per batch and shared by
both questions. Intent is a stack: linear SVMs on all features and on each block alone plus a
complement Naive Bayes on the word block, whose out-of-fold scores a logistic regression
combines into probabilities. Actionable is one linear SVM with sigmoid-calibrated probabilities.
Trained on the project's labelled set (``data/intents/``) by ``townhall model train``; the model
file is built by ``make install`` and never downloaded. Hyper-parameters were chosen by
cross-validation on the train split only (``townhall model tune``, docs/understand.md).
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
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

from townhall.errors import ConfigError
from townhall.understand.cues import help_cues, spam_scores
from townhall.understand.embeddings import (
    STATIC_VECTORS_SHA256,
    StaticVectors,
    default_static_vectors,
)
from townhall.understand.features import TextFeatures, tokenize
from townhall.understand.labels import INTENTS, Intent

MAX_CHARS = 2_000
"""Characters of a post the model reads (the start carries the intent; keeps cost bounded)."""

MODEL_FORMAT = 5

STATIC_WEIGHT = 1.0
"""Scale of the static word-piece vector block next to the two unit-length n-gram blocks
(5-fold CV on the train split, ``townhall model tune``: 0.25 → 0.825, 0.5 → 0.8308, 1 → 0.8324;
with the distilled vectors appended, 0.75 / 1 / 1.5 → 0.8321 / 0.8330 / 0.8322, not kept:
no better for twice the file and the cost, docs/understand.md)."""

C_META = 0.3
"""Regularisation of the logistic regression that combines the intent base models (CV)."""

NB_ALPHA = 0.3
"""Smoothing of the complement Naive Bayes on the word block (5-fold CV on the train split, the
stack: 0.1 → 0.828, 0.3 → 0.831, 1 → 0.824)."""

C_INTENT = 1.0
"""SVM regularisation of the intent stack's base SVMs (5-fold CV on the train split: 0.5 →
0.828, 1 → 0.831; earlier, one SVM alone: 0.5 / 1 / 2 within 0.01)."""

C_ACTIONABLE = 0.5
"""SVM regularisation for actionable (5-fold CV on the train split)."""

EMBEDDING_WEIGHTS = (0.5, 1.0, 2.0)
"""Scales of the MiniLM embedding next to the n-gram features that ``--ml`` training compares by
cross-validation on the training texts; the best one is stored in the model."""

SPAM_ALONE = 3.0
"""Surface spam score (``cues.spam_score``) at which a post is spam whatever the model says."""

SPAM_WITH_MODEL = 1.5
"""Spam score at which a post is spam when the model gives spam at least ``SPAM_MIN_P``: more
than one cue (a price alone, "I paid $200 and it broke", is a complaint, not spam)."""

SPAM_MIN_P = 0.02
"""The model's spam probability that, with ``SPAM_WITH_MODEL``, makes a post spam."""

SPAM_KEEP = 1.0
"""Spam score that keeps the model's spam label whatever its probability."""

SPAM_MODEL_ALONE_P = 0.8
"""The model's spam label stands without any surface cue only at this probability or above;
below it (and with no cue) the next most likely intent is taken.

The spam settings were chosen together on a grid, by the mean spam F1 of the dev half of the
SMS Spam Collection and of the labelled posts' train split (``townhall eval spam``,
docs/understand.md); then ``SPAM_WITH_MODEL`` was raised from 1 to 1.5 (level on that
criterion, 0.961 against 0.962) after a hand-written complaint with a price came out spam."""

ACT_P_STRONG = 0.2
ACT_P_WEAK = 0.2
ACT_P_NONE = 0.7
"""Actionable probability needed with a help phrase, with a plain question or request, and with
no cue. Grid (0.05–0.5 / 0.2–0.6 / 0.5–0.95) on out-of-part predictions of the labelled posts:
for each part a model trained on the other parts, settings chosen on the other parts
(docs/understand.md)."""

CALIBRATION_FOLDS = 5
"""Folds of the training texts used to turn SVM scores into probabilities and to get the
out-of-fold scores the intent stack learns from."""


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


def _folds(labels: Sequence[object] | np.ndarray) -> int:
    """Folds for out-of-fold fits: ``CALIBRATION_FOLDS``, fewer when a class is that rare."""
    smallest = min(np.unique(np.asarray(labels), return_counts=True)[1])
    return max(2, min(CALIBRATION_FOLDS, int(smallest)))


def _classifier(c: float, labels: Sequence[object]) -> CalibratedClassifierCV:
    """A linear SVM with sigmoid-calibrated probabilities (one SVM, calibrated out of fold)."""
    return CalibratedClassifierCV(
        LinearSVC(C=c, class_weight="balanced", random_state=0), cv=_folds(labels), ensemble=False
    )


def _clip(texts: Sequence[str]) -> list[str]:
    return [t[:MAX_CHARS] for t in texts]


@dataclass(frozen=True)
class _Blocks:
    """Column ranges of the feature matrix: word n-grams, character n-grams, the rest (dense)."""

    words: int
    chars: int
    total: int


class IntentStack:
    """Intent from a stack: linear SVMs on all features, on words, on characters and on the
    dense vectors, plus complement Naive Bayes on words; a logistic regression combines their
    out-of-fold scores into probabilities."""

    def __init__(self, c: float, blocks: _Blocks, nb_alpha: float = NB_ALPHA) -> None:
        self.c = c
        self.blocks = blocks
        self.nb_alpha = nb_alpha
        self.bases: list[tuple[str, Any]] = []
        self.meta: LogisticRegression | None = None
        self.classes_: np.ndarray = np.zeros(0)
        self.weights: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self.bias: np.ndarray = np.zeros(0, dtype=np.float32)

    def _views(self) -> list[tuple[str, slice]]:
        b = self.blocks
        views = [("all", slice(0, b.total)), ("words", slice(0, b.words))]
        views.append(("chars", slice(b.words, b.words + b.chars)))
        if b.total > b.words + b.chars:
            views.append(("dense", slice(b.words + b.chars, b.total)))
        return views

    def _fit_bases(self, matrix: Any, labels: np.ndarray) -> list[tuple[str, Any]]:
        bases: list[tuple[str, Any]] = []
        for name, columns in self._views():
            svm = LinearSVC(C=self.c, class_weight="balanced", random_state=0)
            bases.append((name, svm.fit(matrix[:, columns], labels)))
        words = matrix[:, : self.blocks.words]
        bases.append(("nb", ComplementNB(alpha=self.nb_alpha).fit(words, labels)))
        return bases

    def _scores(self, bases: list[tuple[str, Any]], matrix: Any) -> np.ndarray:
        """Each base model's scores per class, side by side (n × 5·classes)."""
        views = dict(self._views())
        parts: list[np.ndarray] = []
        for name, model in bases:
            if name == "nb":
                log_p = model.predict_log_proba(matrix[:, : self.blocks.words])
                parts.append(log_p - log_p.mean(axis=1, keepdims=True))
            else:
                parts.append(model.decision_function(matrix[:, views[name]]))
        return np.hstack(parts)

    def fit(self, matrix: Any, labels: Sequence[str]) -> IntentStack:
        """Fit the base models out of fold, the combiner on their scores, then the bases on all."""
        y = np.asarray(labels)
        self.classes_ = np.unique(y)
        folds = _folds(y)
        if folds >= CALIBRATION_FOLDS:
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
            out_of_fold: np.ndarray | None = None
            for fit_rows, held_rows in splitter.split(np.zeros(len(y)), y):
                scores = self._scores(
                    self._fit_bases(matrix[fit_rows], y[fit_rows]), matrix[held_rows]
                )
                if out_of_fold is None:
                    out_of_fold = np.zeros((len(y), scores.shape[1]))
                out_of_fold[held_rows] = scores
            meta = LogisticRegression(C=C_META, class_weight="balanced", max_iter=2000)
            self.meta = meta.fit(out_of_fold, y)
        self.bases = self._fit_bases(matrix, y)
        if self.meta is not None:
            self.weights, self.bias = self._collapse(self.meta)
        return self

    def _collapse(self, meta: LogisticRegression) -> tuple[np.ndarray, np.ndarray]:
        """The whole stack as one linear map of the features (n_features × classes, bias).

        Every base score is linear in the features (SVM decisions; the Naive Bayes log
        probabilities centred per row, where the normaliser cancels), and so is the combiner's
        input to its softmax: prediction costs one sparse product, like a single linear model.
        """
        views = dict(self._views())
        columns: list[np.ndarray] = []
        offsets: list[np.ndarray] = []
        for name, model in self.bases:
            weights = np.zeros((self.blocks.total, len(self.classes_)))
            if name == "nb":
                log_prob = model.feature_log_prob_.T  # words × classes
                weights[: self.blocks.words] = log_prob - log_prob.mean(axis=1, keepdims=True)
                offsets.append(np.zeros(len(self.classes_)))
            else:
                weights[views[name]] = model.coef_.T
                offsets.append(model.intercept_)
            columns.append(weights)
        stacked = np.hstack(columns)  # features × (bases · classes)
        combined = stacked @ meta.coef_.T
        bias = np.concatenate(offsets) @ meta.coef_.T + meta.intercept_
        return combined.astype(np.float32), bias.astype(np.float32)

    def compact(self) -> IntentStack:
        """A copy for saving: once the stack is collapsed into one linear map the base models
        and the combiner are no longer needed to predict (they were 3/4 of the model file); with
        no combiner (tiny training sets) only the SVM on all features, which then decides."""
        lean = IntentStack(self.c, self.blocks, getattr(self, "nb_alpha", NB_ALPHA))
        lean.classes_, lean.weights, lean.bias = self.classes_, self.weights, self.bias
        lean.meta = self.meta
        lean.bases = [] if self.meta is not None else self.bases[:1]
        return lean

    def predict_proba(self, matrix: Any) -> tuple[np.ndarray, np.ndarray]:
        """(label index, probabilities) per row; the columns follow ``classes_``.

        With too few examples per class for a sound combiner (tiny training sets), the SVM on
        all features decides and a softmax of its scores stands in for the probabilities.
        """
        if self.meta is not None:
            scores = np.asarray(matrix @ self.weights) + self.bias
        else:
            scores = np.asarray(self.bases[0][1].decision_function(matrix))
        if scores.ndim == 1 or scores.shape[1] == 1:
            # two classes: one score for the second; softmax of ∓s/2 is the sigmoid of s
            half = scores.reshape(-1) / 2
            scores = np.column_stack([-half, half])
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        return np.argmax(scores, axis=1), exp / exp.sum(axis=1, keepdims=True)


def _combine_spam(
    spam_cues: Sequence[float], best: np.ndarray, p_intent: np.ndarray, spam: int
) -> np.ndarray:
    """The intent index per text once the surface spam cues have had their say."""
    scores = np.asarray(spam_cues)
    p_spam = p_intent[:, spam]
    model_spam = best == spam
    keep = model_spam & ((scores >= SPAM_KEEP) | (p_spam >= SPAM_MODEL_ALONE_P))
    add = (scores >= SPAM_ALONE) | ((scores >= SPAM_WITH_MODEL) & (p_spam >= SPAM_MIN_P))
    runner_up = np.argsort(p_intent, axis=1)[:, -2] if p_intent.shape[1] > 1 else best
    out = np.where(model_spam & ~keep, runner_up, best)
    return np.where(keep | add, spam, out)


def _cue_matters(p_model: float) -> bool:
    """Whether the help cues can change ``decide_actionable`` at this probability (they are
    only computed then: most posts are clearly one way or the other)."""
    return min(ACT_P_STRONG, ACT_P_WEAK) <= p_model < ACT_P_NONE


def decide_actionable(p_model: float, cue: int, intent: str) -> bool:
    """Whether a post needs an answer: the model's probability next to the help cues.

    Spam never is. A phrase that asks for help or information (cue 2) is enough with modest
    model support; a plain question or request (cue 1) with more; without any cue the model
    must be sure.
    """
    if intent == "spam":
        return False
    if cue >= 2:
        return p_model >= ACT_P_STRONG
    if cue == 1:
        return p_model >= ACT_P_WEAK
    return p_model >= ACT_P_NONE


class IntentModel:
    """Predicts intent (one of ``INTENTS``) and actionable for batches of texts."""

    def __init__(
        self,
        features: TextFeatures,
        intent: IntentStack,
        actionable: CalibratedClassifierCV,
        trained_on: str,
        embedder: Embedder | None = None,
        embedding_weight: float = 0.0,
        static_weight: float = STATIC_WEIGHT,
        static: StaticVectors | None = None,
    ) -> None:
        self._features = features
        self._intent = intent
        self._actionable = actionable
        self.trained_on = trained_on
        self.embedder = embedder
        self.embedding_weight = embedding_weight
        self.static_weight = static_weight
        self._static = static

    def _matrix(
        self, clipped: list[str], fit: bool = False, tokens: list[list[str]] | None = None
    ) -> Any:
        # each text is cut into words once, for its word n-grams, its static vectors and the cues
        if tokens is None:
            tokens = [tokenize(t) for t in clipped]
        if fit:
            matrix = self._features.fit_transform(clipped, tokens)
        else:
            matrix = self._features.transform(clipped, tokens)
        blocks = [matrix]
        if self.static_weight > 0:
            static = self._static or default_static_vectors()
            vectors = static.encode_tokens(tokens) * np.float32(self.static_weight)
            blocks.append(sparse.csr_matrix(vectors))
        if self.embedder is not None:
            vectors = self.embedder.encode(clipped) * np.float32(self.embedding_weight)
            blocks.append(sparse.csr_matrix(vectors))
        if len(blocks) == 1:
            return matrix
        return sparse.hstack(blocks, format="csr")

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
        static_weight: float = STATIC_WEIGHT,
        static: StaticVectors | None = None,
        nb_alpha: float = NB_ALPHA,
    ) -> IntentModel:
        """Fit both classifiers on labelled texts (deterministic for the same data).

        ``static_weight`` scales the static word-piece vectors (0: none; ``static`` defaults to
        the committed ones); ``nb_alpha`` smooths the stack's complement Naive Bayes. With an
        ``embedder`` (the ``[ml]`` extra) the features also hold sentence embeddings, scaled by
        ``embedding_weight``. Every class needs two examples.
        """
        unknown = set(intents) - set(INTENTS)
        if unknown:
            raise ValueError(f"unknown intents in training data: {sorted(unknown)}")
        clipped = _clip(texts)
        flags = [bool(a) for a in actionable]
        features = TextFeatures()
        model = cls(
            features,
            IntentStack(c_intent, _Blocks(0, 0, 0)),
            _classifier(c_actionable, flags),
            "",
            embedder,
            embedding_weight if embedder is not None else 0.0,
            static_weight,
            static,
        )
        # One feature space for both questions: the text is vectorised once per prediction.
        matrix = model._matrix(clipped, fit=True)
        words = features.n_word_features
        blocks = _Blocks(words, features.n_features - words, matrix.shape[1])
        model._intent = IntentStack(c_intent, blocks, nb_alpha).fit(matrix, list(intents))
        model._actionable.fit(matrix, flags)
        digest = hashlib.sha256("\n".join(clipped).encode()).hexdigest()[:16]
        model.trained_on = f"{len(clipped)} texts, sha256 {digest}"
        return model

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        """Intent and actionable for each text: the model combined with surface cues.

        Spam: the model's label is joined by surface spam cues (``cues.spam_score``: prize and
        SMS-scam phrases, money, phone numbers, shorteners, follower selling...) and dropped
        when no cue backs a low-probability spam label. Actionable: see ``decide_actionable``.
        """
        return self.predict_model(texts, combine=True)

    def predict_model(self, texts: Sequence[str], combine: bool = False) -> list[IntentPrediction]:
        """Intent and actionable for each text; ``combine=False`` gives the model alone."""
        if not texts:
            return []
        clipped = _clip(texts)
        tokens = [tokenize(t) for t in clipped]
        matrix = self._matrix(clipped, tokens=tokens)
        best, p_intent = self._intent.predict_proba(matrix)
        p_act = self._actionable.predict_proba(matrix)
        act_true = list(self._actionable.classes_).index(True)
        yes = p_act[:, act_true]
        if self._actionable.cv >= CALIBRATION_FOLDS:
            says_yes = yes >= 0.5
        else:
            # Too few examples for a sound sigmoid fit (tiny training sets): the SVM decides.
            actionable_svm: Any = self._actionable.calibrated_classifiers_[0].estimator
            says_yes = (actionable_svm.decision_function(matrix) > 0) == (act_true == 1)
        labels = [str(label) for label in self._intent.classes_]
        if combine:
            if "spam" in labels:
                best = _combine_spam(
                    spam_scores(clipped, tokens), best, p_intent, labels.index("spam")
                )
            says_yes = np.array(
                [
                    decide_actionable(float(y), help_cues(t) if _cue_matters(y) else 0, labels[b])
                    for y, t, b in zip(yes.tolist(), clipped, best.tolist(), strict=True)
                ],
                dtype=bool,
            )
        confidence = np.round(p_intent[np.arange(len(best)), best], 4)
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
        """Write the model to ``path``; returns the file's sha256.

        Neither the MiniLM embedder nor the static vectors are pickled: the model records the
        sha256 of the static vectors it was trained with, and loading checks it. The intent
        stack is saved collapsed (``IntentStack.compact``): predictions are the same.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        payload: dict[str, Any] = {
            "format": MODEL_FORMAT,
            "features": self._features,
            "intent": self._intent.compact(),
            "actionable": self._actionable,
            "trained_on": self.trained_on,
            "embeddings": self.embedder is not None,
            "embedding_weight": self.embedding_weight,
            "static_weight": self.static_weight,
            "static_sha256": STATIC_VECTORS_SHA256 if self._static is None else "custom",
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
        if payload["static_weight"] > 0 and payload["static_sha256"] != STATIC_VECTORS_SHA256:
            raise ConfigError(
                f"{path}: trained with other static vectors than the committed ones;"
                " rebuild it with `townhall model train`"
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
            float(payload["static_weight"]),
        )
