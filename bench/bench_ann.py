"""ANN vs exact search: recall@10, latency and memory of the dense index types at a given size.

    python bench/bench_ann.py --n 1000000 [--base vectors.npy] [--queries queries.npy] [--nprobe 16 32 64]

Vectors are synthetic and said so in the output: with `--base` (real passage embeddings, e.g. the
`vectors.npy` of a SciFact index) each synthetic vector is a random base vector plus Gaussian noise,
renormalised, so the set keeps the clustered shape of real embeddings; without it they are random
unit vectors (the hardest case for any ANN). Queries are `--queries` (real question embeddings)
or held-out synthetic vectors. Exact answers come from `IndexFlatIP`. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np


def synthetic(n: int, dim: int, base: np.ndarray | None, noise: float, seed: int) -> np.ndarray:
    """n unit vectors: base rows plus noise (clustered like real data), or uniform on the sphere."""
    from qa.embedders.base import normalize_rows

    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        x = rng.standard_normal((m, dim), dtype=np.float32)
        if base is not None:
            x = base[rng.integers(0, len(base), m)] + noise * x / np.sqrt(dim)
        out[s:s + m] = normalize_rows(x)
    return out


def timed_search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    ids, ms = [], []
    for q in queries:  # one question at a time, as a user asks
        t = time.perf_counter()
        _, i = index.search(q[None, :], k)
        ms.append((time.perf_counter() - t) * 1000)
        ids.append(i[0])
    return np.array(ids), ms


def pct(ms: list[float]) -> dict[str, float]:
    return {f"p{p}": round(float(np.percentile(ms, p)), 3) for p in (50, 95, 99)}


def recall_at(found: np.ndarray, exact: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(f[:k]) & set(e[:k])) / k for f, e in zip(found, exact)]))


def main() -> int:
    import faiss

    from qa.storage.vector_stores.faiss import FaissStore

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--base", default=None, help="real embeddings (.npy) to sample around")
    ap.add_argument("--noise", type=float, default=0.5, help="noise norm relative to a unit base vector")
    ap.add_argument("--queries", default=None, help="query embeddings (.npy)")
    ap.add_argument("--nq", type=int, default=300)
    ap.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--ef", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--hnsw", action="store_true", help="also build HNSW (slow to build on 2 cores)")
    args = ap.parse_args()
    base = np.load(args.base) if args.base else None
    vecs = synthetic(args.n, args.dim, base, args.noise, seed=0)
    queries = (np.load(args.queries).astype(np.float32) if args.queries
               else synthetic(args.nq, args.dim, base, args.noise, seed=1))[: args.nq]
    out: dict = {"n": args.n, "dim": args.dim, "queries": len(queries), "faiss": faiss.__version__,
                 "threads": faiss.omp_get_max_threads(),
                 "vectors": (f"synthetic: real embeddings ({args.base}) + gaussian noise {args.noise}"
                             if base is not None else "synthetic: random unit vectors"),
                 "query_vectors": args.queries or "synthetic, same distribution", "indexes": {}}
    flat = faiss.IndexFlatIP(args.dim)
    flat.add(vecs)
    exact, ms = timed_search(flat, queries, 10)
    out["indexes"]["IndexFlatIP"] = {"bytes_per_vector": args.dim * 4, "latency_ms": pct(ms), "recall@10": 1.0}
    del flat

    t = time.perf_counter()
    dense = FaissStore.build(vecs, ann_threshold=0)  # the ANN qa builds above its threshold
    build_s = time.perf_counter() - t
    tmp = Path("/tmp") / f"bench_ann_{args.n}.faiss"
    dense.save(tmp)
    size = tmp.stat().st_size
    info = {"kind": dense.kind, "build_seconds": round(build_s, 1), "file_bytes": size,
            "bytes_per_vector": round(size / args.n, 1), "by_nprobe": {}}
    ivf = faiss.extract_index_ivf(dense.index)
    for nprobe in args.nprobe:
        ivf.nprobe = nprobe
        found, ms = timed_search(dense.index, queries, 10)
        info["by_nprobe"][nprobe] = {"recall@10": round(recall_at(found, exact), 4), "latency_ms": pct(ms)}
    out["indexes"][dense.kind] = info
    print(json.dumps(info), file=sys.stderr)
    tmp.unlink()

    if args.hnsw:
        for name, make in (("IndexHNSWSQ", lambda: faiss.IndexHNSWSQ(args.dim, faiss.ScalarQuantizer.QT_8bit, 32,
                                                                     faiss.METRIC_INNER_PRODUCT)),):
            idx = make()
            idx.hnsw.efConstruction = 40
            t = time.perf_counter()
            idx.train(vecs)
            idx.add(vecs)
            build_s = time.perf_counter() - t
            res = {"build_seconds": round(build_s, 1), "by_ef": {}}
            for ef in args.ef:
                idx.hnsw.efSearch = ef
                found, ms = timed_search(idx, queries, 10)
                res["by_ef"][ef] = {"recall@10": round(recall_at(found, exact), 4), "latency_ms": pct(ms)}
            out["indexes"][name] = res
            print(json.dumps(res), file=sys.stderr)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
