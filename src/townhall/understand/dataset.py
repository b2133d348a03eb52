"""The labelled data set in ``data/intents/``: loading, the fixed train/test split, metrics."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from townhall.errors import InputError
from townhall.understand.intent import (
    C_ACTIONABLE,
    C_INTENT,
    EMBEDDING_WEIGHTS,
    MAX_CHARS,
    NB_ALPHA,
    STATIC_WEIGHT,
    Embedder,
    IntentModel,
)
from townhall.understand.labels import INTENTS, SENTIMENTS

DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "intents"
"""Where the labelled set lives in a source checkout."""

MODEL_PATH = Path(__file__).resolve().parent / "models" / "intent.joblib"
"""Where ``townhall model train`` writes the model (built by ``make install``, not committed)."""

ML_MODEL_PATH = MODEL_PATH.with_name("intent-ml.joblib")
"""The model with MiniLM embeddings (``townhall model train --ml``, needs the ``[ml]`` extra)."""


@dataclass(frozen=True)
class Example:
    """One labelled post."""

    text: str
    intent: str
    actionable: bool
    sentiment: str
    lang: str
    brand: str

    @property
    def in_test_split(self) -> bool:
        """The fixed split: about one text in five, chosen by a stable hash of the text."""
        return int(hashlib.sha1(self.text.encode()).hexdigest(), 16) % 5 == 0  # noqa: S324


def load_examples(folder: Path = DATA_DIR) -> list[Example]:
    """Every example of every ``part_*.jsonl`` in ``folder``; a bad line is an ``InputError``."""
    files = sorted(folder.glob("part_*.jsonl"))
    if not files:
        raise InputError(f"{folder}: no part_*.jsonl files with labelled posts")
    examples: list[Example] = []
    for file in files:
        for number, line in enumerate(file.read_bytes().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
                example = Example(
                    text=str(row["text"]),
                    intent=str(row["intent"]),
                    actionable=bool(row["actionable"]),
                    sentiment=str(row["sentiment"]),
                    lang=str(row.get("lang") or ""),
                    brand=str(row.get("brand") or ""),
                )
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                raise InputError(f"{file}:{number}: bad labelled example ({exc})") from None
            if example.intent not in INTENTS or example.sentiment not in SENTIMENTS:
                raise InputError(f"{file}:{number}: unknown label {example.intent!r}")
            examples.append(example)
    return examples


def split(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """(train, test) by the fixed hash split."""
    train = [e for e in examples if not e.in_test_split]
    test = [e for e in examples if e.in_test_split]
    return train, test


@dataclass(frozen=True)
class HyperParameters:
    """The intent model's knobs (defaults: the constants chosen by CV in ``intent.py``)."""

    c_intent: float = C_INTENT
    c_actionable: float = C_ACTIONABLE
    embedding_weight: float = 1.0
    static_weight: float = STATIC_WEIGHT
    nb_alpha: float = NB_ALPHA


def train_model(
    examples: Sequence[Example],
    embedder: Embedder | None = None,
    knobs: HyperParameters = HyperParameters(),
) -> IntentModel:
    """Fit the intent model on ``examples`` (pass the train split only)."""
    return IntentModel.train(
        [e.text for e in examples],
        [e.intent for e in examples],
        [e.actionable for e in examples],
        c_intent=knobs.c_intent,
        c_actionable=knobs.c_actionable,
        embedder=embedder,
        embedding_weight=knobs.embedding_weight,
        static_weight=knobs.static_weight,
        nb_alpha=knobs.nb_alpha,
    )


class CachedEmbedder:
    """An embedder that encodes a fixed set of texts once (cross-validation re-uses them)."""

    def __init__(self, embedder: Embedder, texts: Sequence[str]) -> None:
        clipped = list(dict.fromkeys(t[:MAX_CHARS] for t in texts))
        self._vectors = dict(zip(clipped, embedder.encode(clipped), strict=True))
        self._embedder = embedder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Stored rows for known texts; unknown ones are encoded by the wrapped embedder."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._embedder.encode(missing), strict=True))
        if not texts:
            return self._embedder.encode([])
        return np.stack([self._vectors[t] for t in texts])


CV_FOLDS = 5
"""Folds of the train split used to choose hyper-parameters (the test split is never used)."""


def cross_validate(
    examples: Sequence[Example],
    folds: int = CV_FOLDS,
    embedder: Embedder | None = None,
    knobs: HyperParameters = HyperParameters(),
) -> tuple[float, float]:
    """Mean (intent macro-F1, actionable F1) over stratified folds of ``examples``.

    Pass the train split only: this is how hyper-parameters are chosen without the test split.
    The folds are fixed (seed 0), so every candidate is scored on the same partitions.
    """
    intents = [e.intent for e in examples]
    macro: list[float] = []
    actionable: list[float] = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for fit_rows, held_rows in splitter.split(np.zeros(len(examples)), intents):
        model = train_model([examples[i] for i in fit_rows], embedder, knobs)
        report = evaluate(model, [examples[i] for i in held_rows])
        macro.append(report.macro_f1)
        actionable.append(report.actionable_f1)
    return float(np.mean(macro)), float(np.mean(actionable))


def choose_embedding_weight(
    train: Sequence[Example], embedder: Embedder, candidates: Sequence[float] = EMBEDDING_WEIGHTS
) -> tuple[float, dict[float, float]]:
    """The embedding scale with the best cross-validated macro-F1 on ``train``, and every score.

    ``embedder`` should be a :class:`CachedEmbedder` over ``train`` (each text embedded once).
    """
    scores = {
        weight: cross_validate(
            train, embedder=embedder, knobs=HyperParameters(embedding_weight=weight)
        )[0]
        for weight in candidates
    }
    best = max(candidates, key=lambda w: (scores[w], -w))
    return best, scores


@dataclass(frozen=True)
class ClassScore:
    """Precision, recall and F1 of one class, and how many test examples it has."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class IntentReport:
    """How the model does on held-out examples."""

    classes: list[ClassScore]
    macro_f1: float
    actionable_f1: float
    confusion: list[list[int]]
    labels: list[str]
    n_test: int


def evaluate(model: IntentModel, test: Sequence[Example]) -> IntentReport:
    """Score ``model`` on ``test``: per-class P/R/F1, macro-F1, actionable F1, confusion."""
    predictions = model.predict([e.text for e in test])
    gold = [e.intent for e in test]
    predicted = [p.intent for p in predictions]
    labels: list[str] = [label for label in INTENTS if label in gold or label in predicted]
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0
    )
    classes = [
        ClassScore(label, float(p), float(r), float(f), int(s))
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    ]
    actionable_f1 = f1_score(
        [e.actionable for e in test], [p.actionable for p in predictions], zero_division=0
    )
    return IntentReport(
        classes=classes,
        macro_f1=float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)),
        actionable_f1=float(actionable_f1),
        confusion=confusion_matrix(gold, predicted, labels=labels).tolist(),
        labels=labels,
        n_test=len(test),
    )
