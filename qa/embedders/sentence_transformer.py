"""The "torch" embedding backend: sentence-transformers on CPU, loaded on first use.

`SentenceTransformerEmbedder` also owns what every backend of this model shares: the tokenizer
(`count_tokens`, `truncate`), `dim`, `max_tokens` and the weights fingerprint, so the ONNX
backend (qa.embedders.onnx_runtime) subclasses it and replaces only the forward pass.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np

from qa.embedders.base import model_path, normalize_rows
from qa.hashing import sha256_file
from qa.settings import DEFAULT_MODEL


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
