"""Text features of the intent model: character and word n-grams, TF-IDF weighted.

The same kind of features as scikit-learn's ``TfidfVectorizer`` (sublinear tf, smoothed idf, each
block L2-normalised), but the character n-grams of a whole batch are hashed with a few numpy
array operations instead of a Python loop per n-gram: several times faster, which is what lets
enrichment keep up with a stream of distinct texts. The hash is our own arithmetic on code points,
so features are the same in every process (Python's ``hash`` is salted per process).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize

HASH_BITS = 21
"""Character n-grams are hashed into 2**21 buckets before the vocabulary maps them to columns."""

_MULTIPLIER = np.uint64(0x100000001B3)  # FNV-1a 64-bit prime
_OFFSET = np.uint64(0xCBF29CE484222325)  # FNV-1a 64-bit offset basis
_MIX = np.uint64(0xFF51AFD7ED558CCD)  # murmur3 finaliser constant
_SHIFT = np.uint64(33)
_MASK = np.uint64((1 << HASH_BITS) - 1)

_WORD = re.compile(r"[#@]?\w+|[?!]|[^\w\s]")
"""Words, #hashtags and @mentions as one token; ? and ! and other symbols (emoji) on their own."""


def prepare_chars(text: str) -> str:
    """Lower case, runs of white space folded to one space, one space either side."""
    return f" {' '.join(text.lower().split())} "


def char_ngram_buckets(texts: Sequence[str], low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, bucket) of every character n-gram, ``low`` ≤ n ≤ ``high``, of each prepared text.

    An n-gram never spans two texts; buckets are ``HASH_BITS``-bit FNV-1a hashes of the code
    points (n is part of the hash, so ``"ab"`` and ``"ab "`` never share a bucket by design).
    """
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    joined = "".join(texts).encode("utf-32-le", errors="surrogatepass")
    codes = np.frombuffer(joined, dtype=np.uint32).astype(np.uint64)
    doc = np.repeat(np.arange(len(texts), dtype=np.int32), lengths)
    rows: list[np.ndarray] = []
    buckets: list[np.ndarray] = []
    total = len(codes)
    for n in range(low, high + 1):
        count = total - n + 1
        if count <= 0:
            break
        h = np.full(count, _OFFSET, dtype=np.uint64)
        for k in range(n):
            h ^= codes[k : k + count]
            h *= _MULTIPLIER
        h ^= np.uint64(n)
        h *= _MIX
        h ^= h >> _SHIFT
        inside = doc[:count] == doc[n - 1 : n - 1 + count]
        rows.append(doc[:count][inside])
        buckets.append((h[inside] & _MASK).astype(np.int64))
    if not rows:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows), np.concatenate(buckets)


def tokenize(text: str) -> list[str]:
    """The word tokens of a text, lower-cased: words, #hashtags and @mentions, symbols alone.

    Computed once per text and shared: the word n-grams are built from them, and the static
    word-piece vectors read them too (``StaticVectors.encode_tokens``).
    """
    return _WORD.findall(text.lower())


def word_ngrams(text: str, high: int, tokens: list[str] | None = None) -> list[str]:
    """Word 1..``high``-grams of a lower-cased text, joined by a space (``tokens``: the text's
    ``tokenize``, when already computed)."""
    if tokens is None:
        tokens = tokenize(text)
    grams = list(tokens)
    for n in range(2, high + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def _idf(document_frequency: np.ndarray, n_documents: int) -> np.ndarray:
    """Smoothed idf, as scikit-learn computes it: ln((1 + n) / (1 + df)) + 1."""
    return (np.log((1.0 + n_documents) / (1.0 + document_frequency)) + 1.0).astype(np.float32)


def _tfidf(
    rows: np.ndarray, columns: np.ndarray, n_rows: int, idf: np.ndarray
) -> sparse.csr_matrix:
    """Sublinear tf (1 + ln count) times idf, rows L2-normalised."""
    ones = np.ones(len(rows), dtype=np.float32)
    matrix = sparse.csr_matrix((ones, (rows, columns)), shape=(n_rows, len(idf)))
    matrix.sum_duplicates()
    matrix.data = (1.0 + np.log(matrix.data)) * idf[matrix.indices]
    result: sparse.csr_matrix = normalize(matrix, copy=False)
    return result


@dataclass
class TextFeatures:
    """Character n-grams (across word boundaries) plus word n-grams, each block TF-IDF weighted.

    ``fit_transform`` learns the vocabulary (n-grams seen in at least ``*_min_df`` texts) and the
    idf from training texts; ``transform`` maps new texts onto it (unknown n-grams are dropped).
    """

    char_range: tuple[int, int] = (2, 5)
    char_min_df: int = 2
    word_max_n: int = 2
    word_min_df: int = 1
    char_weight: float = 1.0
    _char_columns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    _char_idf: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    _words: dict[str, int] = field(default_factory=dict)
    _word_idf: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    @property
    def n_word_features(self) -> int:
        """Columns of the word block, which comes first in ``transform``'s matrices."""
        return len(self._word_idf)

    @property
    def n_features(self) -> int:
        """Columns of the matrices ``transform`` returns."""
        return len(self._char_idf) + len(self._word_idf)

    def fit_transform(
        self, texts: Sequence[str], tokens: Sequence[list[str]] | None = None
    ) -> sparse.csr_matrix:
        """Learn vocabulary and idf from ``texts``; return their feature matrix (``tokens``: each
        text's ``tokenize``, when already computed)."""
        if tokens is None:
            tokens = [tokenize(t) for t in texts]
        n = len(texts)
        rows, buckets = char_ngram_buckets([prepare_chars(t) for t in texts], *self.char_range)
        pairs = np.unique(rows.astype(np.int64) << HASH_BITS | buckets)
        df = np.bincount(pairs & int(_MASK), minlength=1 << HASH_BITS)
        kept = np.flatnonzero(df >= self.char_min_df)
        self._char_columns = np.full(1 << HASH_BITS, -1, dtype=np.int32)
        self._char_columns[kept] = np.arange(len(kept), dtype=np.int32)
        self._char_idf = _idf(df[kept], n)

        counts: dict[str, int] = {}
        for text, words in zip(texts, tokens, strict=True):
            for gram in set(word_ngrams(text, self.word_max_n, words)):
                counts[gram] = counts.get(gram, 0) + 1
        vocabulary = sorted(g for g, c in counts.items() if c >= self.word_min_df)
        self._words = {g: i for i, g in enumerate(vocabulary)}
        self._word_idf = _idf(np.array([counts[g] for g in vocabulary], dtype=np.float64), n)
        return self.transform(texts, tokens)

    def transform(
        self, texts: Sequence[str], tokens: Sequence[list[str]] | None = None
    ) -> sparse.csr_matrix:
        """Feature matrix (float32 CSR, one row per text) on the learnt vocabulary (``tokens``:
        each text's ``tokenize``, when already computed)."""
        n = len(texts)
        if tokens is None:
            tokens = [tokenize(t) for t in texts]
        rows, buckets = char_ngram_buckets([prepare_chars(t) for t in texts], *self.char_range)
        columns = self._char_columns[buckets]
        known = columns >= 0
        chars = _tfidf(rows[known], columns[known], n, self._char_idf)
        if self.char_weight != 1.0:
            chars.data *= np.float32(self.char_weight)

        vocabulary = self._words
        word_rows: list[int] = []
        word_columns: list[int] = []
        for row, (text, words) in enumerate(zip(texts, tokens, strict=True)):
            grams = word_ngrams(text, self.word_max_n, words)
            found = [c for c in map(vocabulary.get, grams) if c is not None]
            word_rows.extend([row] * len(found))
            word_columns.extend(found)
        word_block = _tfidf(
            np.array(word_rows, dtype=np.int32),
            np.array(word_columns, dtype=np.int32),
            n,
            self._word_idf,
        )
        stacked: sparse.csr_matrix = sparse.hstack([word_block, chars], format="csr")
        return stacked
