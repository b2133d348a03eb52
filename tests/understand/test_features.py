"""Text features: the same n-grams as a plain reference, batch-independent, safe on odd input."""

from __future__ import annotations

import numpy as np
import pytest

from townhall.understand.features import (
    TextFeatures,
    char_ngram_buckets,
    prepare_chars,
    tokenize,
    word_ngrams,
)

TEXTS = [
    "My order never arrived",
    "is the app down?? can't log in",
    "love the new oat latte ☕",
    "@NorthwindBank my card was charged twice",
    "order arrived, love it",
]


def test_character_ngrams_are_those_of_each_text_and_never_span_two():
    texts = [prepare_chars(t) for t in ["Ab  c", "dé"]]

    rows, buckets = char_ngram_buckets(texts, 2, 3)

    assert texts == [" ab c ", " dé "]
    expected = sum(len(t) - n + 1 for t in texts for n in (2, 3))  # windows inside each text
    assert len(rows) == len(buckets) == expected
    assert list(np.bincount(rows)) == [5 + 4, 3 + 2]
    # the same n-gram gets the same bucket wherever it appears, different ones differ
    same_rows, same = char_ngram_buckets([" ab ", "xyz", " ab "], 2, 3)
    assert sorted(same[same_rows == 0]) == sorted(same[same_rows == 2])
    assert not set(same[same_rows == 0]) & set(same[same_rows == 1])


def test_word_ngrams_keep_mentions_hashtags_and_question_marks():
    assert word_ngrams("Is @Acme down?? #help", 2) == [
        "is",
        "@acme",
        "down",
        "?",
        "?",
        "#help",
        "is @acme",
        "@acme down",
        "down ?",
        "? ?",
        "? #help",
    ]


def test_tokens_computed_once_give_the_same_features():
    features = TextFeatures()
    tokens = [tokenize(t) for t in TEXTS]
    fitted = features.fit_transform(TEXTS, tokens).toarray()

    assert np.array_equal(fitted, features.transform(TEXTS).toarray())
    assert word_ngrams(TEXTS[1], 2, tokens[1]) == word_ngrams(TEXTS[1], 2)


def test_a_row_does_not_depend_on_the_rest_of_the_batch():
    features = TextFeatures()
    features.fit_transform(TEXTS)

    batch = features.transform(TEXTS).toarray()
    alone = np.vstack([features.transform([t]).toarray() for t in TEXTS])

    assert batch.shape == (len(TEXTS), features.n_features)
    assert np.allclose(batch, alone)
    assert np.allclose(np.linalg.norm(batch, axis=1), np.sqrt(2), atol=1e-5)  # two unit blocks


def test_unknown_text_gives_an_empty_row_and_odd_input_is_safe():
    features = TextFeatures()
    features.fit_transform(TEXTS)

    odd = ["", "zzqqxx", "\ud800 lone surrogate", "x" * 100_000, "混合 scripts 🙃"]
    matrix = features.transform(odd)

    assert matrix.shape[0] == len(odd)
    assert matrix[0].nnz == 0 and matrix[1].nnz == 0
    assert np.isfinite(matrix.data).all()


def test_min_df_keeps_only_ngrams_seen_in_enough_texts():
    strict = TextFeatures(char_min_df=3, word_min_df=2)
    loose = TextFeatures(char_min_df=1, word_min_df=1)

    strict.fit_transform(TEXTS)
    loose.fit_transform(TEXTS)

    assert 0 < strict.n_features < loose.n_features


@pytest.mark.parametrize("weight", [0.5, 2.0])
def test_the_character_block_can_be_weighted(weight: float):
    plain = TextFeatures()
    weighted = TextFeatures(char_weight=weight)
    plain.fit_transform(TEXTS)
    weighted.fit_transform(TEXTS)

    a = plain.transform(TEXTS[:1]).toarray()
    b = weighted.transform(TEXTS[:1]).toarray()

    words = len(plain._word_idf)  # the word block comes first
    assert np.allclose(a[:, :words], b[:, :words])
    assert np.allclose(a[:, words:] * weight, b[:, words:])
