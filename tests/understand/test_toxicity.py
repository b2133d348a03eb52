"""Toxicity with alt-profanity-check, batched."""

from __future__ import annotations

from townhall.understand.toxicity import toxicity


def test_batch_scores_in_order() -> None:
    scores = toxicity(["you are a fucking idiot", "Thanks for the quick reply!", ""])
    assert len(scores) == 3
    assert scores[0] > 0.8
    assert scores[1] < 0.2
    assert scores[2] == 0.0


def test_empty_inputs() -> None:
    assert toxicity([]) == []
    assert toxicity(["", "   \n"]) == [0.0, 0.0]


def test_edge_inputs() -> None:
    texts = ["x" * 100_000, "😂🔥" * 100, "ctrl\x00\x1b text", "<script>alert(1)</script>"]
    scores = toxicity(texts)
    assert len(scores) == len(texts)
    assert all(0.0 <= s <= 1.0 for s in scores)
