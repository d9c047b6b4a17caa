"""The fake embedder: `HashEmbedder`, a deterministic bag-of-words model, as the "hash" backend.

No model, no download: words are hashed into `dim` buckets, so texts that share words get
similar vectors, and every batch is recorded, so tests check caching and batching exactly.
tests/conftest.py calls `register()` at import time; from then on `get_embedder(backend="hash")`
builds one, `Index.load` of a test index (its manifest says backend "hash") finds it, and the
CLI's `--backend` accepts "hash". Subprocesses get the same through tests/support/qa_cli.py.
"""

from __future__ import annotations

import hashlib
import os
import re
import time

import numpy as np

from qa.embedders import EMBEDDERS
from qa.embedders.base import normalize_rows

BACKEND = "hash"
MODEL_ID = "hash-test"
DELAY_ENV = "QA_HASH_DELAY"  # seconds to sleep per batch: crash tests kill a build mid-way


class HashEmbedder:
    """Deterministic bag-of-words embedder; same interface as the real ones (qa.embedders.base.Embedder).

    Args:
        dim: vector dimension (buckets).
        max_tokens: the model limit it reports; a token is a whitespace-separated word.
        model_id: recorded in the manifest ("hash-test", or another id to provoke a mismatch).
    """

    backend = BACKEND

    def __init__(self, dim: int = 64, max_tokens: int = 256, model_id: str = MODEL_ID):
        self.model_id = model_id
        self.dim = dim
        self.max_tokens = max_tokens
        self.batches: list[list[str]] = []
        self.delay = float(os.environ.get(DELAY_ENV, "0") or 0)

    @staticmethod
    def _words(text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        if self.delay:
            time.sleep(self.delay)
        self.batches.append(list(texts))
        return self._bag(texts)

    def _bag(self, texts: list[str]) -> np.ndarray:
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
        """Texts embedded so far, over all batches."""
        return sum(len(b) for b in self.batches)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def truncate(self, text: str, max_tokens: int) -> str:
        return " ".join(text.split()[:max_tokens])

    def fingerprint(self) -> str:
        return f"hash-{self.dim}"


def hash_embedder(model: str = MODEL_ID, batch_size: int = 32) -> HashEmbedder:
    """The "hash" backend's factory: the default fake, whatever model is named.

    Its model id is always "hash-test", so `qa index --backend hash` (model left at its
    default) and `Index.load` of a test index agree on the model.
    """
    return HashEmbedder()


def register() -> None:
    """Add the "hash" backend to qa.embedders.EMBEDDERS (calling it again changes nothing)."""
    EMBEDDERS.add(BACKEND, hash_embedder)


class SpanHashEmbedder(HashEmbedder):
    """`HashEmbedder` that also pools spans in its "forward pass" (`embed_spans`), as the ONNX
    backends do: a span's vector is the bag of words of the span's text, and every call is
    recorded in `span_calls` (texts, spans)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.span_calls: list[tuple[list[str], list[list[tuple[int, int]]]]] = []

    def embed_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray]:
        self.span_calls.append((list(texts), [list(s) for s in spans]))
        pieces = [t[s:e] for t, sp in zip(texts, spans) for s, e in sp]
        return self.embed_batch(texts), self._bag(pieces)  # one "forward pass": one recorded batch


class WindowHashEmbedder(SpanHashEmbedder):
    """`SpanHashEmbedder` that also gives token states (`token_states`, `window_tokenizer`), as the
    ONNX backends do, so a build reads articles in windows (qa.embedders.windows).

    Its tokenizer is a real `tokenizers` word-level one (lower-cased words and punctuation, [CLS]
    and [SEP] around each text) over `words`; a token's state is a fixed random vector of its id
    (seed 0) — the context is ignored, so a pooled passage is exactly the mean of its tokens'
    vectors however its article was cut — plus, with `contextual`, the mean of its window's
    tokens (so where windows are cut changes the vectors). Every window text read is recorded
    in `windows`; `fail_after` makes the n-th `token_states` call raise (a crash mid-build).
    """

    def __init__(self, words: str | list[str] = "", contextual: bool = False, fail_after: int | None = None,
                 *args, **kwargs):
        super().__init__(*args, **kwargs)
        from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
        from tokenizers.models import WordLevel

        vocab = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2}
        text = words if isinstance(words, str) else " ".join(words)
        for w in re.findall(r"\w+|[^\w\s]", text.lower()):
            vocab.setdefault(w, len(vocab))
        tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
        tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
        self.tokenizer = tok
        self.table = np.random.default_rng(0).normal(size=(len(vocab), self.dim)).astype(np.float32)
        self.contextual = contextual
        self.fail_after = fail_after
        self.windows: list[str] = []
        self.state_calls = 0

    def fingerprint(self) -> str:
        return f"window-hash-{self.dim}"

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(e.ids) - 2 for e in self.tokenizer.encode_batch(list(texts))]

    def window_tokenizer(self):
        return self.tokenizer

    def token_states(self, texts: list[str], batch_size: int = 4):
        self.state_calls += 1
        if self.fail_after is not None and self.state_calls > self.fail_after:
            raise RuntimeError("the model died (test)")
        self.windows += list(texts)
        encs = self.tokenizer.encode_batch(list(texts))
        for start in range(0, len(texts), batch_size):
            rows = np.arange(start, min(start + batch_size, len(texts)))
            width = max(len(encs[j].ids) for j in rows)
            states = np.zeros((len(rows), width, self.dim), dtype=np.float32)
            for r, j in enumerate(rows):
                h = self.table[encs[j].ids]
                states[r, :len(h)] = h + (h.mean(0) if self.contextual else 0)
            pooled = normalize_rows(np.stack([states[r, :len(encs[j].ids)].mean(0) for r, j in enumerate(rows)]))
            yield rows, [encs[j] for j in rows], pooled, states
