"""Scale-out benchmarks (README "Scaling out"): Ray vs local embedding, Milvus Lite vs FAISS
queries, and the memory of the embedded FAISS index per passage. Each prints one JSON object.

    python bench/bench_scale.py engine [--corpus ../shared/bench/time] [--limit N] [--actors 2]
    python bench/bench_scale.py stores FAISS_INDEX MILVUS_INDEX [--nq 300] [-k 100]
    python bench/bench_scale.py memory [--n 100000 400000]

`engine` indexes a BEIR corpus (the first N documents with --limit) twice with the real model,
`engine="local"` and `engine="ray"` (a local 2-CPU Ray runtime started and stopped by the run),
each from scratch, then compares the two folders (passages.jsonl bytes, vectors max |diff|) and
evaluates both on the corpus's questions (document metrics of dense, hybrid and hybrid-rerank).
`stores` loads two indexes of the same corpus (e.g. the SciFact eval caches built with
`--store faiss` and `--store milvus`) and times the dense search alone on the same question
vectors: one question per call (p50/p95/p99) and batches of 32 (per question). `memory` builds
FAISS flat indexes of random 384-d unit vectors and reports the resident memory per vector;
a full loaded index adds passages, BM25 and the memory-mapped vectors (`bench_query.py`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_query import rss_mb  # one /proc reader for every benchmark

ROOT = Path(__file__).resolve().parent.parent

SHARED = ROOT.parent / "shared" / "bench"
CONFIGS = ["dense", "hybrid", "hybrid-rerank"]


def _pct(xs: list[float]) -> dict:
    a = np.asarray(xs) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 3), "p95_ms": round(float(np.percentile(a, 95)), 3),
            "p99_ms": round(float(np.percentile(a, 99)), 3), "mean_ms": round(float(a.mean()), 3)}


def _metrics(index, qset) -> dict:
    from qa.evaluation.runner import evaluate_set

    run = evaluate_set(index, qset.questions, CONFIGS, k=100, single_sample=0)
    return {c: {m: round(v, 4) for m, v in r.metrics.items() if isinstance(v, float)}
            for c, r in run.results.items()}


def cmd_engine(args) -> dict:
    from qa import Index, Settings
    from qa.storage.builder import build_index
    from qa.embedders.sentence_transformer import SentenceTransformerEmbedder
    from qa.evaluation.questions import read_beir, read_beir_corpus

    qset = read_beir(args.corpus)
    articles = read_beir_corpus(qset.corpus)
    if args.limit:
        articles = articles[:args.limit]
        kept = {a.doc_id for a in articles}
        qset.questions = [q for q in qset.questions if set(q.qrels) & kept]
    embedder = SentenceTransformerEmbedder()
    embedder.embed_batch(["warm up"])  # load the model outside the timed region (both engines)
    out = {"corpus": str(args.corpus), "documents": len(articles), "questions": len(qset.questions)}
    work = Path(tempfile.mkdtemp(prefix="qa-bench-scale-"))
    try:
        folders = {}
        for engine in ("local", "ray"):
            folder = work / engine
            settings = Settings(engine=engine, ray_actors=args.actors)
            t = time.perf_counter()
            stats = build_index(articles, folder, embedder, settings, rebuild=True)
            secs = time.perf_counter() - t
            out[engine] = {"seconds": round(secs, 1), "passages": stats.passages,
                           "passages_per_s": round(stats.passages / secs, 1)}
            folders[engine] = folder
        a, b = (np.load(folders[e] / "vectors.npy") for e in ("local", "ray"))
        out["passages_identical"] = (folders["local"] / "passages.jsonl").read_bytes() == \
            (folders["ray"] / "passages.jsonl").read_bytes()
        out["vectors_max_abs_diff"] = float(np.abs(a - b).max())
        out["ray_overhead_x"] = round(out["ray"]["seconds"] / out["local"]["seconds"], 2)
        if not args.no_eval:
            m = {e: _metrics(Index.load(folders[e], embedder=embedder), qset) for e in folders}
            out["metrics"] = m
            out["max_metric_diff"] = max(abs(m["local"][c][k] - m["ray"][c][k])
                                         for c in CONFIGS for k in m["local"][c])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def cmd_stores(args) -> dict:
    from qa import Index
    from qa.evaluation.questions import read_beir

    qset = read_beir(args.corpus)
    texts = [q.text for q in qset.questions][:args.nq]
    out = {"questions": len(texts), "k": args.k}
    qvecs = None
    for name, folder in (("faiss", args.faiss), ("milvus", args.milvus)):
        index = Index.load(folder)
        qvecs = index.embedder.embed_batch(texts) if qvecs is None else qvecs
        store = index.snapshot.dense
        store.search_batch(qvecs[:4], args.k)  # warm up (connection, first search)
        single = []
        for i in range(len(qvecs)):
            t = time.perf_counter()
            store.search_batch(qvecs[i:i + 1], args.k)
            single.append(time.perf_counter() - t)
        batched = []
        for i in range(0, len(qvecs), 32):
            t = time.perf_counter()
            store.search_batch(qvecs[i:i + 32], args.k)
            batched.append((time.perf_counter() - t) / len(qvecs[i:i + 32]))
        ids = store.search_batch(qvecs, args.k)[1]
        out[name] = {"store": index.manifest.get("store", {"kind": "faiss"}), "passages": len(index),
                     "single": _pct(single), "batch32_per_question": _pct(batched), "_ids": ids}
        index.close()
    f, m = out["faiss"].pop("_ids"), out["milvus"].pop("_ids")
    out["top10_overlap"] = round(float(np.mean([len(set(a[:10]) & set(b[:10])) / 10 for a, b in zip(f, m)])), 4)
    out["same_top1"] = round(float(np.mean(f[:, 0] == m[:, 0])), 4)
    return out


def cmd_memory(args) -> dict:
    import faiss

    out = {"dim": args.dim, "sizes": []}
    rng = np.random.default_rng(0)
    for n in args.n:
        before = rss_mb()
        index = faiss.IndexFlatIP(args.dim)
        for start in range(0, n, 50_000):  # add in chunks so the source array is not counted
            v = rng.standard_normal((min(50_000, n - start), args.dim), dtype=np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            index.add(v)
            del v
        grown = rss_mb() - before
        out["sizes"].append({"n": n, "rss_growth_mb": round(grown, 1),
                             "bytes_per_vector": round(grown * 2**20 / n, 1)})
        del index
    if args.index:
        from qa import Index
        from qa.embedders.sentence_transformer import SentenceTransformerEmbedder

        before = rss_mb()  # the embedder is constructed, not loaded: the model is not counted
        index = Index.load(args.index, embedder=SentenceTransformerEmbedder(), verify=False)
        loaded = rss_mb() - before
        np.asarray(index.snapshot.vectors).sum()  # page the memory-mapped vectors in, as searches over time do
        index.snapshot.sparse.scores("warm up the bm25 index")
        touched = rss_mb() - before
        n = len(index)
        out["loaded_index"] = {"folder": str(args.index), "passages": n, "rss_after_load_mb": round(loaded, 1),
                               "rss_vectors_paged_in_mb": round(touched, 1),
                               "bytes_per_passage": round(touched * 2**20 / n, 1)}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("engine")
    e.add_argument("--corpus", type=Path, default=SHARED / "time")
    e.add_argument("--limit", type=int, default=None, help="only the first N documents")
    e.add_argument("--actors", type=int, default=None, help="Ray embedding actors (default: one per CPU)")
    e.add_argument("--no-eval", action="store_true")
    s = sub.add_parser("stores")
    s.add_argument("faiss", type=Path)
    s.add_argument("milvus", type=Path)
    s.add_argument("--corpus", type=Path, default=SHARED / "scifact")
    s.add_argument("--nq", type=int, default=300)
    s.add_argument("-k", type=int, default=100)
    m = sub.add_parser("memory")
    m.add_argument("--n", type=int, nargs="+", default=[100_000, 400_000])
    m.add_argument("--dim", type=int, default=384)
    m.add_argument("--index", type=Path, default=None, help="also: RSS of this loaded index folder")
    args = p.parse_args()
    fn = {"engine": cmd_engine, "stores": cmd_stores, "memory": cmd_memory}[args.cmd]
    print(json.dumps(fn(args), indent=1))


if __name__ == "__main__":
    main()
