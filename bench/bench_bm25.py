"""BM25 at scale: build time, memory and single-question latency of `qa.storage.bm25.SparseIndex`.

    python bench/bench_bm25.py --n 1000000

Passages are SYNTHETIC: four sentences sampled from the SciFact corpus each (real text, random
combinations, about one 120-token passage). The index is saved and loaded again the way
`Index.load` does, RSS is read before and after that load, and SciFact questions are searched
one at a time (depth 100, as hybrid fusion asks). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    from bench_query import SCIFACT, peak_rss_mb, pct, rss_mb, sentence_pool

    from qa.evaluation.questions import read_source
    from qa.storage.bm25 import SparseIndex

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--nq", type=int, default=200)
    args = ap.parse_args()
    pool = sentence_pool()
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(pool), (args.n, 4))
    texts = [" ".join(pool[j] for j in row) for row in idx]
    t = time.perf_counter()
    built = SparseIndex.build(texts)
    build_s = time.perf_counter() - t
    folder = Path(tempfile.mkdtemp())
    built.save(folder)
    disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    del built, texts
    rss0 = rss_mb()
    sparse = SparseIndex.load(folder, args.n)
    rss1 = rss_mb()
    questions = [q.text for q in read_source(SCIFACT).questions][: args.nq]
    sparse.search_batch(questions[:3], 100)
    ms = []
    for q in questions:
        t = time.perf_counter()
        sparse.search_batch([q], 100)
        ms.append((time.perf_counter() - t) * 1000)
    shutil.rmtree(folder, ignore_errors=True)
    out = {"n": args.n, "passages": "synthetic: 4 sentences sampled from the SciFact corpus",
           "build_seconds": round(build_s, 1), "disk_bytes_per_passage": round(disk / args.n, 1),
           "loaded_rss_mb": round(rss1 - rss0), "loaded_bytes_per_passage": round((rss1 - rss0) * 2**20 / args.n),
           "search_depth": 100, "latency_ms": pct(ms), "peak_rss_mb": round(peak_rss_mb()),
           "loadavg_1m": float(open("/proc/loadavg").read().split()[0])}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
