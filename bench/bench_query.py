"""Query latency and memory of a loaded index at 10k / 100k / 1M passages.

    python bench/bench_query.py build --n 100000 --out /tmp/qa-bench/100k [--base vectors.npy]
    python bench/bench_query.py query /tmp/qa-bench/100k [--configs dense hybrid] [--nq 200]

`build` writes a real index folder with `qa.storage.builder.build_index` from SYNTHETIC articles: titles
and bodies are sentences sampled from the SciFact corpus (real text, random combinations), and
the passage vectors are synthetic too (a real SciFact passage embedding plus Gaussian noise,
renormalised, or random unit vectors without `--base`) because embedding 1M passages takes hours
on 2 cores. The index is stamped with the real model's fingerprint and backend, so `query`
loads it with `Index.load` and the real embedder exactly as `qa ask` does.

`query` runs in a fresh process: RSS before and after `Index.load`, then one question at a time
(SciFact's claims, or `--questions SOURCE`: the reading model of the default `hybrid-read` reads
only queries put as questions, so its latency is measured with questions, e.g.
bench/questions/time_news.jsonl) per configuration (encode + search + fuse + cite, `Index.search`; 20 other questions run
untimed first), p50/p95/p99, and a stage
profile (question encoding, the highlighter's sentence encoding, dense search, BM25 search, the
rest = fusion, rerank and citation), each configuration with and without answer highlighting.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared" / "bench" / "scifact"


def _status_mb() -> dict[str, float]:
    """VmRSS and its split from /proc/self/status, in MB: anonymous memory vs pages of
    memory-mapped files (which the kernel can drop and re-read at any time) vs shared memory."""
    out = {}
    for line in open("/proc/self/status"):
        key = line.split(":")[0]
        if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            out[key] = int(line.split()[1]) / 1024
    return out


def rss_mb() -> float:
    return _status_mb().get("VmRSS", 0.0)


def rss_parts_mb() -> dict[str, int]:
    return {k: round(v) for k, v in _status_mb().items()}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sentence_pool() -> list[str]:
    out = []
    for line in open(SCIFACT / "corpus.jsonl", encoding="utf-8"):
        text = json.loads(line)["text"]
        out += [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if 40 <= len(s.strip()) <= 400]
    return out


class SyntheticEmbedder:
    """The real model's tokenizer and identity; vectors from a fixed synthetic distribution."""

    def __init__(self, real, base: np.ndarray | None, noise: float, seed: int = 0):
        self.real = real
        self.model_id, self.backend = real.model_id, real.backend
        self.dim, self.max_tokens = real.dim, real.max_tokens
        self.base, self.noise = base, noise
        self.rng = np.random.default_rng(seed)

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        from qa.embedders.base import normalize_rows

        x = self.rng.standard_normal((len(texts), self.dim), dtype=np.float32)
        if self.base is not None:
            x = self.base[self.rng.integers(0, len(self.base), len(texts))] + self.noise * x / np.sqrt(self.dim)
        return normalize_rows(x)

    def count_tokens(self, texts):
        return self.real.count_tokens(texts)

    def truncate(self, text, max_tokens):
        return self.real.truncate(text, max_tokens)

    def fingerprint(self):
        return self.real.fingerprint()


def cmd_build(args) -> int:
    from qa.storage.builder import build_index
    from qa.embedders import get_embedder
    from qa.types import Article

    rng = np.random.default_rng(0)
    pool = sentence_pool()
    articles = []
    for i in range(args.n):  # ~4 sentences: about one 120-token passage per article
        sents = [pool[j] for j in rng.integers(0, len(pool), 5)]
        articles.append(Article(doc_id=f"syn{i:07d}", title=sents[0][:120], body=" ".join(sents[1:]),
                                source=f"Source {i % 50}", date=f"20{10 + i % 14:02d}-0{1 + i % 9}-1{i % 10}"))
    base = np.load(args.base) if args.base else None
    emb = SyntheticEmbedder(get_embedder(backend=args.backend), base, args.noise)
    t = time.perf_counter()
    stats = build_index(articles, args.out, emb)
    info = {"out": args.out, "articles": stats.articles, "passages": stats.passages,
            "build_seconds": round(time.perf_counter() - t, 1), "peak_rss_mb": round(peak_rss_mb()),
            "text": "synthetic articles of sentences sampled from the SciFact corpus",
            "vectors": (f"synthetic: SciFact passage embeddings ({args.base}) + gaussian noise {args.noise}"
                        if base is not None else "synthetic: random unit vectors")}
    Path(args.out, "bench_info.json").write_text(json.dumps(info, indent=2))
    print(json.dumps(info, indent=2))
    return 0


class StageTimer:
    """Wraps a bound method and adds its wall time to a total."""

    def __init__(self, obj, name: str):
        self.obj, self.name = obj, name
        self.fn, self.total = getattr(obj, name), 0.0
        setattr(obj, name, self)

    def restore(self) -> None:
        if isinstance(self.obj, type(sys)):  # a module function: put the original back
            setattr(self.obj, self.name, self.fn)
        else:  # an instance attribute shadowing its class's method
            delattr(self.obj, self.name)

    def __call__(self, *a, **kw):
        t = time.perf_counter()
        try:
            return self.fn(*a, **kw)
        finally:
            self.total += time.perf_counter() - t


def pct(ms: list[float]) -> dict[str, float]:
    return {f"p{p}": round(float(np.percentile(ms, p)), 2) for p in (50, 95, 99)}


def cmd_query(args) -> int:
    import qa.search.pipeline as retrieve_mod
    from qa import Index
    from qa.search.filters import select_rows
    from qa.storage.selection import Filter
    from qa.evaluation.questions import read_source

    rss0 = rss_mb()
    t = time.perf_counter()
    index = Index.load(args.folder, verify=False)
    load_s = time.perf_counter() - t
    rss_loaded = rss_mb()
    parts_loaded = rss_parts_mb()
    all_questions = [q.text for q in read_source(args.questions or SCIFACT).questions]
    questions = all_questions[: args.nq]
    warmup = all_questions[args.nq: args.nq + 20] or all_questions[:20]
    index.search(questions[0], k=10, config="dense")  # the model loads on the first question
    rss_model = rss_mb()
    parts_model = rss_parts_mb()
    for q in questions[1:6]:
        index.search(q, k=10)
    info = json.loads((Path(args.folder) / "bench_info.json").read_text()) \
        if (Path(args.folder) / "bench_info.json").exists() else {}
    out = {"index": str(args.folder), "passages": len(index), "articles": len(index.articles),
           "faiss_type": index.manifest.get("faiss_type"), "backend": index.manifest["model"].get("backend"),
           "data": info, "questions": len(questions), "questions_from": str(args.questions or SCIFACT), "k": 10, "load_seconds": round(load_s, 2),
           "rss_mb": {"before_load": round(rss0), "index_loaded": round(rss_loaded),
                      "with_model": round(rss_model)},
           "index_bytes_per_passage": round((rss_loaded - rss0) * 2**20 / len(index)),
           "file_bytes_per_passage": {f: round(v["bytes"] / len(index))
                                      for f, v in index.manifest.get("files", {}).items()
                                      if v["bytes"] > 1 << 20},
           "configs": {}}
    for config in args.configs:
        for highlight in (True, False):
            for q in warmup:  # other questions, untimed: code paths and touched pages warm up
                index.forget_questions()
                index.search(q, k=10, config=config, highlight=highlight)
            stages = [StageTimer(index.encoder, "encode"), StageTimer(index.embedder, "embed_batch"),
                      StageTimer(index.snapshot.dense, "search_batch"), StageTimer(index.snapshot.sparse, "scores"),
                      StageTimer(index.snapshot.sparse, "top_k"), StageTimer(retrieve_mod, "highlight_spans")]
            ms, cpu = [], []
            for q in questions:
                index.forget_questions()  # every question is new: its encoding is timed
                t, c = time.perf_counter(), time.process_time()
                index.search(q, k=10, config=config, highlight=highlight)
                ms.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
            qenc, emb, dense, bm25_scores, bm25_top, hl = (s.total * 1000 / len(questions) for s in stages)
            bm25 = bm25_scores + bm25_top  # passage BM25 of every passage, then its top k
            for stage in stages:
                stage.restore()
            mean = float(np.mean(ms))
            name = config if highlight else f"{config} (no highlight)"
            out["configs"][name] = {
                "latency_ms": pct(ms), "mean_ms": round(mean, 2), "cpu_ms": pct(cpu),
                "stages_mean_ms": {"question_encode": round(qenc, 2),
                                   "highlight_sentence_encode": round(emb - qenc, 2),
                                   "highlight_total": round(hl, 2),
                                   "dense_search": round(dense, 2), "bm25_search": round(bm25, 2),
                                   "fuse_rerank_cite_rest": round(mean - qenc - max(hl, emb - qenc) - dense - bm25, 2)}}
            print(json.dumps({name: out["configs"][name]}), file=sys.stderr)
    # metadata filters on the default configuration (synthetic sources "Source 0".."Source 49",
    # dates 2010-2023): a source substring, a date range, both
    filters = {"source": {"source": "Source 3"}, "since": {"since": "2020-01-01"},
               "source+since": {"source": "Source 1", "since": "2015-01-01"}}
    out["filtered"] = {}
    for name, kw in filters.items():
        try:
            for q in warmup:
                index.search(q, k=10, **kw)
        except Exception as e:  # an index without such sources or dates
            out["filtered"][name] = {"error": str(e)}
            continue
        ms = []
        for q in questions:
            index.forget_questions()
            t = time.perf_counter()
            index.search(q, k=10, **kw)
            ms.append((time.perf_counter() - t) * 1000)
        out["filtered"][name] = {"filter": kw, "share_of_passages": round(
            len(select_rows(index.snapshot, Filter.of(kw.get("source"), kw.get("since")))) / len(index), 4), "latency_ms": pct(ms)}
        print(json.dumps({f"filtered {name}": out["filtered"][name]}), file=sys.stderr)
    out["rss_parts_mb"] = {"index_loaded": parts_loaded, "with_model": parts_model,
                           "after_all_questions": rss_parts_mb()}
    out["peak_rss_mb"] = round(peak_rss_mb())
    out["loadavg_1m"] = float(open("/proc/loadavg").read().split()[0])
    print(json.dumps(out, indent=2))
    return 0


def main() -> int:
    from qa.search.pipeline import CONFIGS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--n", type=int, required=True, help="articles (about one passage each)")
    b.add_argument("--out", required=True)
    b.add_argument("--base", default=None, help="real passage embeddings (.npy) to sample around")
    b.add_argument("--noise", type=float, default=1.0)
    b.add_argument("--backend", default="onnx-int8")
    b.set_defaults(func=cmd_build)
    q = sub.add_parser("query")
    q.add_argument("folder")
    q.add_argument("--configs", nargs="+", default=["dense", "bm25", "hybrid",
                                                   *[c for c in CONFIGS if c in ("hybrid-rerank", "hybrid-read")]])
    q.add_argument("--nq", type=int, default=200)
    q.add_argument("--questions", default=None, help="question source read by qa (default: SciFact's claims)")
    q.set_defaults(func=cmd_query)
    args = ap.parse_args()
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
