"""The ONNX Runtime backends: all-MiniLM-L6-v2 exported once, int8 ("onnx-int8") or fp32 ("onnx").

The export happens locally from the installed model folder (nothing is downloaded): the BERT
encoder plus mean pooling and L2 normalisation go into one ONNX graph, ONNX Runtime's transformer
optimiser fuses attention, GELU and layer norms, and for "onnx-int8" `quantize_dynamic` turns the
weight matrices into int8 (per channel: MiniLM has outlier columns that per-tensor scales ruin;
attention scores stay fp32, which keeps short texts closer to torch). Activations are quantised per batch,
so a vector moves slightly (cosine > 0.98) with the texts it is batched with. The result is
cached in `<cache>/onnx/<weights hash>-<backend>-v<N>/`, written to a temporary folder and renamed
into place, and checked against its recorded sha256 before use, so a half-written or damaged export
is rebuilt rather than loaded. `<cache>` is `$QA_CACHE_DIR`, else `~/.cache/qa`.

Inference tokenises every text once, sorts by length so each batch pads little, and runs the
batches through one lazily created session.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from qa.settings import DEFAULT_MODEL
from qa.embedders.base import normalize_rows
from qa.embedders.sentence_transformer import SentenceTransformerEmbedder
from qa.hashing import sha256_file

EXPORT_VERSION = 2  # bump when the export recipe changes: old caches are then ignored
# 2: the graph also outputs the token states ("tokens"), from which `embed_spans` pools sentences
ONNX_BACKENDS = ("onnx-int8", "onnx")  # int8 dynamic quantisation, plain fp32


def cache_root() -> Path:
    """Where exported models live: `$QA_CACHE_DIR`, else `~/.cache/qa`."""
    return Path(os.environ.get("QA_CACHE_DIR") or Path.home() / ".cache" / "qa").expanduser()


def cpu_session(model: Path, threads: int | None = None):
    """An ONNX Runtime CPU session of `model`, all graph optimisations on, idle threads asleep.

    Idle ORT threads spin by default; on 2 cores that spinning steals the CPU from FAISS's and
    numpy's threads right after each question is encoded (10k passages: dense p50 16.8 -> 5.2 ms
    with it off) and it does not help batch embedding either (97-99 vs 108-110 texts/s measured).
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])


def _export(model_dir: Path, out: Path, quantize: bool) -> None:
    """Write `out/model.onnx`: encoder + mean pooling + L2 norm, optionally int8-quantised."""
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True,
                                     attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        """The sentence-transformers recipe of this model: mean over real tokens, unit length."""

        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            mean = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1), h

    names = ["input_ids", "attention_mask", "token_type_ids"]
    dummy = tuple(torch.ones((2, 16), dtype=torch.long) for _ in names)
    raw = out / "raw.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shape-dependent Python branches
        torch.onnx.export(Pooled(bert).eval(), dummy, str(raw), input_names=names,
                          output_names=["embedding", "tokens"], opset_version=17, dynamo=False,
                          dynamic_axes={**{n: {0: "batch", 1: "seq"} for n in names},
                                        "embedding": {0: "batch"}, "tokens": {0: "batch", 1: "seq"}})
    import onnx
    from onnxruntime.transformers.optimizer import optimize_model

    cfg = json.loads((model_dir / "config.json").read_text())
    opt = optimize_model(str(raw), model_type="bert", num_heads=int(cfg["num_attention_heads"]),
                         hidden_size=int(cfg["hidden_size"]), opt_level=1)
    fused = out / "fused.onnx"
    opt.save_model_to_file(str(fused))
    raw.unlink()
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its advice to pre-process is for static quantisation
        try:
            quantize_dynamic(str(fused), str(out / "model.onnx"), weight_type=QuantType.QInt8,
                             per_channel=True, op_types_to_quantize=["MatMul"],
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        finally:
            root.setLevel(level)
        fused.unlink()
    else:
        fused.rename(out / "model.onnx")


class OnnxEmbedder(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2 through ONNX Runtime; same interface and vectors as the torch embedder.

    Tokenisation, `count_tokens`, `truncate`, `dim` and `max_tokens` are inherited (same
    tokenizer); only the forward pass and the fingerprint differ. Construction is cheap: the
    export (first use on a machine) and the session are created on the first `embed_batch`.
    """

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 32, backend: str = "onnx-int8",
                 threads: int | None = None):
        if backend not in ONNX_BACKENDS:
            raise ValueError(f"unknown ONNX backend {backend!r}; choose one of {', '.join(ONNX_BACKENDS)}")
        super().__init__(model, batch_size=batch_size)
        self.backend = backend
        self.threads = threads
        self._session = None
        self._ids_tokenizer = None
        self._plain_tokenizer = None
        self.exports = 0  # how many times this object exported the model (tests check the cache)

    def fingerprint(self) -> str:
        """Weights hash plus the backend: vectors of different backends never share a cache key."""
        return f"{super().fingerprint()}-{self.backend}"

    def cache_dir(self) -> Path:
        return cache_root() / "onnx" / f"{super().fingerprint()}-{self.backend}-v{EXPORT_VERSION}"

    def _cached_model(self) -> Path | None:
        """The cached model file if it is complete and matches its recorded checksum."""
        folder = self.cache_dir()
        try:
            meta = json.loads((folder / "meta.json").read_text())
            f = folder / "model.onnx"
            if f.stat().st_size == meta["bytes"] and sha256_file(f) == meta["sha256"]:
                return f
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def ensure_model(self) -> Path:
        """Path of the exported model, exporting it (once per machine) when absent or damaged."""
        found = self._cached_model()
        if found is not None:
            return found
        folder = self.cache_dir()
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}-{int(time.time() * 1000)}")
        tmp.mkdir()
        try:
            _export(self.path, tmp, quantize=self.backend == "onnx-int8")
            f = tmp / "model.onnx"
            (tmp / "meta.json").write_text(json.dumps({
                "sha256": sha256_file(f), "bytes": f.stat().st_size, "backend": self.backend,
                "weights": super().fingerprint(), "export_version": EXPORT_VERSION}, indent=2))
            self.exports += 1
            if folder.exists():  # damaged or stale: replace it
                shutil.rmtree(folder, ignore_errors=True)
            try:
                os.rename(tmp, folder)
            except OSError:
                if self._cached_model() is None:  # not another process winning the race
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return folder / "model.onnx"

    def session(self):
        """The ONNX Runtime session (first call exports if needed and loads; thread-safe)."""
        with self._lock:
            if self._session is None:
                self._session = cpu_session(self.ensure_model(), self.threads)
            return self._session

    def model(self):
        return self.session()

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def _encoder(self):
        """The tokenizer with truncation at the model limit and no padding (we pad per batch)."""
        if self._ids_tokenizer is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
            tok.enable_truncation(self.max_tokens)
            tok.no_padding()  # the packaged tokenizer.json pads every input to 128
            self._ids_tokenizer = tok
        return self._ids_tokenizer

    def window_tokenizer(self):
        """The tokenizer without truncation or padding (qa.embedders.windows cuts articles itself)."""
        if self._plain_tokenizer is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
            tok.no_truncation()
            tok.no_padding()
            self._plain_tokenizer = tok
        return self._plain_tokenizer

    def _feeds(self, texts: list[str]):
        """Yield (positions, encodings, feed) per batch of `texts`, sorted by length so a batch
        pads little; each text is cut at the model limit."""
        self.calls += 1
        encs = self._encoder().encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encs])
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(texts), self.batch_size):
            rows = order[start:start + self.batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, j in enumerate(rows):
                ids[r, :lengths[j]] = encs[j].ids
                mask[r, :lengths[j]] = 1
            yield rows, [encs[j] for j in rows], {"input_ids": ids, "attention_mask": mask,
                                                  "token_type_ids": np.zeros_like(ids)}

    def token_states(self, texts: list[str]):
        """Yield (positions, encodings, pooled, states) per batch of `texts`: the positions of the
        batch's texts in `texts`, their tokenizer encodings, the unit text vectors and the last
        layer's token states (batch, width, dim; padding past each encoding's length)."""
        if not texts:
            return
        session = self.session()
        for rows, encs, feed in self._feeds(texts):
            pooled, states = session.run(None, feed)
            yield rows, encs, pooled, states

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of `texts` (the token states are not fetched)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        session = self.session()
        for rows, _, feed in self._feeds(texts):
            out[rows] = session.run(["embedding"], feed)[0]
        return normalize_rows(out)

    def embed_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of `texts`, and of character spans inside them, from one forward pass.

        A span's vector is the mean of the token states whose characters start inside the span,
        made unit length: the sentence as the model read it within its passage, at no extra
        encoding. Returns (n, dim) text vectors and (total spans, dim) span vectors, spans in
        the order given (text by text).
        """
        n_spans = sum(map(len, spans))
        if not n_spans:
            vecs = self.embed_batch(texts)
            return vecs, np.zeros((0, self.dim), dtype=np.float32)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        span_out = np.zeros((n_spans, self.dim), dtype=np.float32)
        first_span = np.concatenate([[0], np.cumsum([len(x) for x in spans])]).astype(np.int64)
        for rows, encs, pooled, states in self.token_states(texts):
            out[rows] = pooled
            for r, (j, enc) in enumerate(zip(rows, encs)):
                if spans[j]:
                    span_out[first_span[j]:first_span[j + 1]] = _pool_spans(enc, states[r], spans[j], pooled[r])
        return normalize_rows(out), normalize_rows(span_out)


def _pool_spans(enc, states: np.ndarray, spans: list[tuple[int, int]], fallback: np.ndarray) -> np.ndarray:
    """Mean token state of each (start, end) character span of one encoded text (special tokens
    and padding excluded); a span holding no token (cut off by truncation) gets `fallback`."""
    offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
    real = (np.asarray(enc.special_tokens_mask) == 0) & (offsets[:, 1] > offsets[:, 0])
    starts = np.where(real, offsets[:, 0], -1)
    out = np.empty((len(spans), states.shape[-1]), dtype=np.float32)
    for i, (s, e) in enumerate(spans):
        sel = (starts >= s) & (starts < e)
        out[i] = states[:len(starts)][sel].mean(0) if sel.any() else fallback
    return out


def onnx_int8_embedder(model: str = DEFAULT_MODEL, batch_size: int = 32) -> OnnxEmbedder:
    """The "onnx-int8" backend of qa.embedders.EMBEDDERS: int8 weights, the default."""
    return OnnxEmbedder(model, batch_size=batch_size, backend="onnx-int8")


def onnx_fp32_embedder(model: str = DEFAULT_MODEL, batch_size: int = 32) -> OnnxEmbedder:
    """The "onnx" backend of qa.embedders.EMBEDDERS: the fp32 graph, fused but not quantised."""
    return OnnxEmbedder(model, batch_size=batch_size, backend="onnx")
