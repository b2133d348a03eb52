"""The intent model: learns from labelled texts, round-trips to disk, reads the data set safely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from townhall.errors import InputError
from townhall.understand.dataset import Example, evaluate, load_examples, split
from townhall.understand.embeddings import STATIC_DIMENSIONS
from townhall.understand.intent import IntentModel

TRAIN = [
    ("my order arrived broken and nobody answers", "complaint", True),
    ("third time the strap snapped, useless product", "complaint", False),
    ("still waiting for my refund after 3 weeks, sort it out", "complaint", True),
    ("the seat was filthy and staff were rude", "complaint", False),
    ("does the jacket come in size XL?", "question", True),
    ("what time does the store open on sunday", "question", True),
    ("is the app available in Spanish?", "question", True),
    ("can I bring a bike on the train?", "question", True),
    ("love this coffee, best flat white in town", "praise", False),
    ("amazing service today, thank you team!", "praise", False),
    ("the new update is brilliant, well done", "praise", False),
    ("great staff, super friendly, 10/10", "praise", False),
    ("the website is down, can't log in", "outage", True),
    ("app crashes at checkout every time", "outage", True),
    ("payment page gives error 500", "outage", True),
    ("login broken again?? site not loading", "outage", True),
]


def model() -> IntentModel:
    texts, intents, actionable = zip(*TRAIN, strict=True)
    return IntentModel.train(texts, intents, actionable)


def test_it_learns_the_classes_it_was_shown():
    predictions = model().predict(
        ["the app crashes when I log in", "is the jacket available in blue?", "love the staff"]
    )

    assert [p.intent for p in predictions] == ["outage", "question", "praise"]
    assert predictions[0].actionable and not predictions[2].actionable
    assert all(0 < p.intent_confidence <= 1 for p in predictions)


def test_odd_input_gets_a_prediction():
    texts = ["", "🙃🙃🙃", "x" * 100_000, "<script>alert(1)</script>", "混合 scripts ü\x00"]

    assert len(model().predict(texts)) == len(texts)
    assert model().predict([]) == []


def test_unknown_labels_are_refused():
    with pytest.raises(ValueError, match="unknown intents"):
        IntentModel.train(["a", "b"], ["complaint", "rant"], [True, False])


def test_save_and_load_give_the_same_predictions(tmp_path: Path):
    trained = model()
    digest = trained.save(tmp_path / "m.joblib")
    loaded = IntentModel.load(tmp_path / "m.joblib")

    assert len(digest) == 64
    texts = ["refund please", "site is down"]
    assert loaded.predict(texts) == trained.predict(texts)
    assert loaded.trained_on == trained.trained_on


def write_parts(folder: Path, rows: list[object]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part_x.jsonl").write_bytes(
        b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in rows)
    )


def test_the_data_set_reports_bad_lines_with_file_and_line(tmp_path: Path):
    good = {"text": "hi", "intent": "other", "actionable": False, "sentiment": "neutral"}
    write_parts(tmp_path, [good, b"{bad", good])
    with pytest.raises(InputError, match=r"part_x.jsonl:2: bad labelled example"):
        load_examples(tmp_path)

    write_parts(tmp_path, [good, {**good, "intent": "rant"}])
    with pytest.raises(InputError, match=r"part_x.jsonl:2: unknown label 'rant'"):
        load_examples(tmp_path)

    with pytest.raises(InputError, match="no part_"):
        load_examples(tmp_path / "empty")


def test_split_is_fixed_and_disjoint():
    examples = [
        Example(f"post number {n}", "other", False, "neutral", "en", "x") for n in range(500)
    ]

    train, test = split(examples)

    assert split(examples) == (train, test)
    assert not {e.text for e in train} & {e.text for e in test}
    assert 60 < len(test) < 140  # about one in five


def test_evaluate_counts_what_it_sees():
    test = [Example(t, i, a, "neutral", "en", "x") for t, i, a in TRAIN]

    report = evaluate(model(), test)

    assert report.n_test == len(TRAIN)
    assert sum(c.support for c in report.classes) == len(TRAIN)
    assert sum(map(sum, report.confusion)) == len(TRAIN)
    assert 0 <= report.macro_f1 <= 1


def test_a_model_from_another_version_asks_to_be_rebuilt(tmp_path: Path):
    import joblib

    from townhall.errors import ConfigError

    joblib.dump({"format": 1, "intent": None}, tmp_path / "old.joblib")

    with pytest.raises(ConfigError, match="rebuild it with `townhall model train`"):
        IntentModel.load(tmp_path / "old.joblib")


def test_with_enough_examples_the_label_is_the_most_probable_one():
    texts, intents, actionable = zip(*TRAIN, strict=True)
    more = [f"{t} ({n})" for n in range(2) for t in texts]
    model = IntentModel.train(more, list(intents) * 2, list(actionable) * 2)

    predictions = model.predict(["the app crashes when I log in", "love the staff, thank you"])

    assert [p.intent for p in predictions] == ["outage", "praise"]
    assert all(0.25 <= p.intent_confidence <= 1 for p in predictions)  # 4 classes
    assert predictions[0].actionable and not predictions[1].actionable
    assert all(0.5 <= p.actionable_confidence <= 1 for p in predictions)


def test_cross_validation_uses_only_the_examples_it_is_given():
    from townhall.understand.dataset import cross_validate

    examples = [
        Example(f"{t} ({n})", i, a, "neutral", "en", "x") for n in range(3) for t, i, a in TRAIN
    ]

    macro, actionable = cross_validate(examples, folds=3)

    assert 0.5 < macro <= 1 and 0.5 < actionable <= 1
    assert cross_validate(examples, folds=3) == (macro, actionable)  # fixed folds


class LetterEmbedder:
    """A stand-in for MiniLM: unit-length letter counts; remembers what it was asked."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts):
        import numpy as np

        self.seen.extend(texts)
        rows = np.zeros((len(texts), 26), dtype=np.float32)
        for r, text in enumerate(texts):
            for ch in text.lower():
                if "a" <= ch <= "z":
                    rows[r, ord(ch) - 97] += 1
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


def test_the_embedding_scale_is_chosen_by_cross_validation_on_train_texts_only():
    from townhall.understand.dataset import CachedEmbedder, choose_embedding_weight

    train = [
        Example(f"{t} ({n})", i, a, "neutral", "en", "x") for n in range(3) for t, i, a in TRAIN
    ]
    embedder = LetterEmbedder()
    cached = CachedEmbedder(embedder, [e.text for e in train])

    weight, scores = choose_embedding_weight(train, cached, candidates=(0.5, 2.0))

    assert weight in (0.5, 2.0) and set(scores) == {0.5, 2.0}
    assert scores[weight] == max(scores.values())
    assert sorted(embedder.seen) == sorted(e.text for e in train)  # each text embedded once


def test_the_stack_predicts_with_one_linear_map_equal_to_its_combiner():
    texts, intents, actionable = zip(*TRAIN, strict=True)
    more = [f"{t} ({n})" for n in range(2) for t in texts]
    model = IntentModel.train(more, list(intents) * 2, list(actionable) * 2)
    stack = model._intent
    matrix = model._matrix(["the app crashes when I log in", "refund please", "🙃"])

    _, collapsed = stack.predict_proba(matrix)

    assert stack.meta is not None  # enough examples for the combiner
    expected = stack.meta.predict_proba(stack._scores(stack.bases, matrix))
    assert np.allclose(collapsed, expected, atol=1e-5)
    assert np.allclose(collapsed.sum(axis=1), 1)


def test_the_saved_stack_keeps_only_its_linear_map_and_predicts_the_same(tmp_path: Path):
    texts, intents, actionable = zip(*TRAIN, strict=True)
    more = [f"{t} ({n})" for n in range(2) for t in texts]
    trained = IntentModel.train(more, list(intents) * 2, list(actionable) * 2)
    trained.save(tmp_path / "m.joblib")
    loaded = IntentModel.load(tmp_path / "m.joblib")

    assert trained._intent.meta is not None and trained._intent.bases  # kept in memory
    assert loaded._intent.bases == []  # the base models are folded into the saved map
    probe = ["the app crashes when I log in", "refund please", "🙃", "#help @acme ??"]
    assert loaded.predict(probe) == trained.predict(probe)


def test_static_vectors_add_a_dense_block_and_can_be_left_out():
    texts, intents, actionable = zip(*TRAIN, strict=True)
    plain = IntentModel.train(texts, intents, actionable, static_weight=0.0)
    static = IntentModel.train(texts, intents, actionable)

    probe = ["my order arrived broken"]
    assert static._matrix(probe).shape[1] == plain._matrix(probe).shape[1] + STATIC_DIMENSIONS
