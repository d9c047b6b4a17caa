"""Indexing throughput: our embedding backends vs plain sentence-transformers, same passages, same run.

    python bench/bench_embed.py [--n 2048] [--rounds 3] [--backends onnx-int8 onnx] [--index-e2e]

The passages are SciFact's corpus chunked exactly as `qa index` chunks it (title + passage, what
the model sees). Each round times plain `SentenceTransformer.encode()` (torch fp32, batch 32,
normalised) and then every backend's `embed_batch` on the same texts, back to back, so a busy
machine slows both sides of a ratio alike; the median ratio over rounds is the headline. Wall
and process CPU seconds are both reported. `--index-e2e` also times `python -m qa index` on the
corpus per backend in a fresh process. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared" / "bench" / "scifact"


def machine() -> dict:
    import faiss
    import onnxruntime
    import sentence_transformers
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "sentence_transformers": sentence_transformers.__version__,
            "onnxruntime": onnxruntime.__version__, "faiss": faiss.__version__,
            "loadavg_1m": float(open("/proc/loadavg").read().split()[0])}


def scifact_passages(n: int | None) -> list[str]:
    """The texts `qa index` embeds for SciFact (every k-th passage when n is smaller)."""
    from qa.storage.builder import embed_text
    from qa.text.chunking import chunk_articles
    from qa.settings import Settings
    from qa.embedders.sentence_transformer import SentenceTransformerEmbedder
    from qa.evaluation.questions import read_beir_corpus

    tok = SentenceTransformerEmbedder()  # tokenizer only: the model is not loaded
    settings = Settings()
    articles = read_beir_corpus(SCIFACT / "corpus.jsonl")
    by_id = {a.doc_id: a for a in articles}
    texts = [embed_text(p, by_id[p.doc_id], tok, settings) for p in chunk_articles(articles, tok, settings)]
    if n and n < len(texts):
        texts = texts[:: len(texts) // n][:n]
    return texts


def clock(fn) -> tuple[object, float, float]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def index_e2e(backend: str) -> dict:
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "qa", "index", str(SCIFACT / "corpus.jsonl"), "--index",
                            f"{d}/ix", "--backend", backend, "--json"], cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if r.returncode:
            return {"error": r.stderr.strip()[-500:]}
        s = json.loads(r.stdout.strip().splitlines()[-1])
        return {"seconds": round(wall, 1), "passages": s["passages"], "articles": s["articles"],
                "passages_per_s": round(s["passages"] / wall, 1)}


def main() -> int:
    from sentence_transformers import SentenceTransformer

    from qa.embedders import get_embedder
    from qa.embedders.base import model_path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2048, help="passages per round (0 = all)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backends", nargs="+", default=["onnx-int8", "onnx"])
    ap.add_argument("--index-e2e", action="store_true")
    args = ap.parse_args()
    texts = scifact_passages(args.n)
    out: dict = {"machine": machine(), "passages": len(texts), "corpus": "SciFact corpus, chunked as qa index does",
                 "baseline": "SentenceTransformer.encode(batch_size=32, normalize_embeddings=True), torch fp32",
                 "rounds": []}
    st = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
    embedders = {b: get_embedder(backend=b) for b in args.backends}
    st.encode(texts[:64], batch_size=32)  # warm-up: load, first-call allocations
    for e in embedders.values():
        e.embed_batch(texts[:64])
    for _ in range(args.rounds):
        ref, w0, c0 = clock(lambda: st.encode(texts, batch_size=32, normalize_embeddings=True,
                                              show_progress_bar=False))
        rnd = {"torch_st": {"seconds": round(w0, 2), "cpu_seconds": round(c0, 2),
                            "passages_per_s": round(len(texts) / w0, 1)}}
        for b, e in embedders.items():
            vecs, w, c = clock(lambda e=e: e.embed_batch(texts))
            cos = (vecs * ref).sum(axis=1)
            rnd[b] = {"seconds": round(w, 2), "cpu_seconds": round(c, 2), "passages_per_s": round(len(texts) / w, 1),
                      "ratio_vs_torch": round(w0 / w, 2), "cpu_ratio_vs_torch": round(c0 / c, 2),
                      "cosine_vs_torch": {"mean": round(float(cos.mean()), 4), "min": round(float(cos.min()), 4)}}
        out["rounds"].append(rnd)
        print(json.dumps(rnd), file=sys.stderr)
    out["median_ratio_vs_torch"] = {b: float(np.median([r[b]["ratio_vs_torch"] for r in out["rounds"]]))
                                    for b in embedders}
    if args.index_e2e:
        out["qa_index_scifact"] = {b: index_e2e(b) for b in ["torch", *args.backends]}
    out["machine"]["loadavg_1m_end"] = float(open("/proc/loadavg").read().split()[0])
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
