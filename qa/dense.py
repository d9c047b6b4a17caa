"""FAISS dense index: build / search / save / load. FAISS id == row in passages.jsonl.

Vectors are L2-normalised, so inner product equals cosine similarity. Small collections use an
exact `IndexFlatIP`; from `hnsw_threshold` passages on an HNSW graph is built instead (recorded in
the manifest as `faiss_type`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HNSW_THRESHOLD = 200_000
HNSW_M = 32


class DenseIndex:
    """A FAISS inner-product index over unit vectors."""

    def __init__(self, index, kind: str):
        self.index = index
        self.kind = kind

    @classmethod
    def build(cls, vectors: np.ndarray, hnsw_threshold: int = HNSW_THRESHOLD) -> "DenseIndex":
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if len(vectors) >= hnsw_threshold:
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = 128
            kind = "IndexHNSWFlat"
        else:
            index = faiss.IndexFlatIP(dim)
            kind = "IndexFlatIP"
        if len(vectors):
            index.add(vectors)
        return cls(index, kind)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search_batch(self, queries: np.ndarray, k: int,
                     allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k `(scores, ids)` per query row; ids are -1 where fewer than k exist.

        Args:
            queries: (n, dim) float32 unit vectors.
            k: results per query.
            allowed: optional sorted int64 array of ids a result may have (metadata filters).
        """
        import faiss

        k = max(1, min(k, len(self)))
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if len(self) == 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        if allowed is None:
            return self.index.search(q, k)
        if len(allowed) == 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        sel = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
        params = faiss.SearchParametersHNSW(sel=sel, efSearch=256) if self.kind == "IndexHNSWFlat" \
            else faiss.SearchParameters(sel=sel)
        return self.index.search(q, min(k, len(allowed)), params=params)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> "DenseIndex":
        import faiss

        index = faiss.read_index(str(path))
        kind = type(index).__name__
        if kind == "IndexHNSWFlat":
            index.hnsw.efSearch = 128
        return cls(index, kind)
