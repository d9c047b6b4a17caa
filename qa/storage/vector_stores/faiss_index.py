"""FAISS dense index: build / search / save / load. FAISS id == row in passages.jsonl.

Vectors are L2-normalised, so inner product equals cosine similarity. Small collections use an
exact `IndexFlatIP`; from `ann_threshold` passages on an inverted file with 8-bit scalar
quantisation (`IndexIVFScalarQuantizer`, recorded in the manifest as `faiss_type`) is built
instead: a quarter of the memory of flat float32 vectors (1M x 384 fits in ~0.4 GB), k-means
training that takes a minute rather than the hours an HNSW graph needs on 2 cores, and
recall@10 >= 0.97 of exact search at the `nprobe` chosen here (bench/bench_ann.py). Indexes
built as HNSW by earlier versions still load and search.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ANN_THRESHOLD = 50_000
IVF_NPROBE = 32  # lists scanned per query; saved inside the index file
IVF_TRAIN_PER_LIST = 50  # k-means sample: this many vectors per list (faiss wants >= 39)


def ivf_lists(n: int) -> int:
    """Inverted lists for n vectors: ~4 sqrt(n) keeps each probe's scan short as n grows."""
    return int(min(65536, max(64, 4 * np.sqrt(n))))


class DenseIndex:
    """A FAISS inner-product index over unit vectors."""

    def __init__(self, index, kind: str):
        self.index = index
        self.kind = kind

    @classmethod
    def build(cls, vectors: np.ndarray, ann_threshold: int | None = None) -> "DenseIndex":
        """An exact index, or IVF-SQ8 from `ann_threshold` vectors on (None: ANN_THRESHOLD)."""
        import faiss

        ann_threshold = ANN_THRESHOLD if ann_threshold is None else ann_threshold

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if len(vectors) >= max(ann_threshold, 1):
            nlist = ivf_lists(len(vectors))
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                                  faiss.METRIC_INNER_PRODUCT)
            index.own_fields = True
            quantizer.this.disown()  # owned by the IVF index now
            rng = np.random.default_rng(0)  # same vectors, same index
            sample = min(len(vectors), IVF_TRAIN_PER_LIST * nlist)
            index.train(vectors[np.sort(rng.choice(len(vectors), sample, replace=False))])
            index.nprobe = min(IVF_NPROBE, nlist)
            kind = "IndexIVFScalarQuantizer"
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
        # a bitmap of all rows: building it is one packbits, not a hash set of every allowed id
        # (FAISS reads ids past its end as not allowed; its length argument is in bytes)
        allowed = np.asarray(allowed, dtype=np.int64)
        bits = np.zeros(max(len(self), int(allowed.max()) + 1), dtype=bool)
        bits[allowed] = True
        bitmap = np.packbits(bits, bitorder="little")
        sel = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
        k = min(k, len(allowed))
        if self.kind == "IndexHNSWFlat":
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=256)
        elif self.kind == "IndexIVFScalarQuantizer":
            return self._search_ivf_filtered(q, k, sel, len(allowed) / len(self))
        else:
            params = faiss.SearchParameters(sel=sel)
        return self.index.search(q, k, params=params)

    def _search_ivf_filtered(self, q: np.ndarray, k: int, sel, share: float) -> tuple[np.ndarray, np.ndarray]:
        """IVF search among allowed rows only: probe nprobe / share lists, so about as many
        allowed vectors are scanned as an unfiltered search scans; a question that still finds
        fewer than k (its allowed rows sit in other lists) is searched again over every list."""
        import faiss

        nlist, nprobe = self.index.nlist, self.index.nprobe
        probe = min(nlist, int(np.ceil(nprobe / max(share, 1e-9))))
        scores, ids = self.index.search(q, k, params=faiss.SearchParametersIVF(sel=sel, nprobe=probe))
        short = np.flatnonzero((ids < 0).any(axis=1)) if probe < nlist else np.zeros(0, dtype=np.int64)
        if len(short):
            s2, i2 = self.index.search(np.ascontiguousarray(q[short]), k,
                                       params=faiss.SearchParametersIVF(sel=sel, nprobe=nlist))
            scores[short], ids[short] = s2, i2
        return scores, ids

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> "DenseIndex":
        import faiss

        # An IVF index is memory-mapped: a search reads only the lists it probes, so a loaded
        # 1M-passage index does not hold its 0.4 GB of codes in memory (read-only; updates
        # rebuild the index anyway). A flat index is read whole: every search scans all of it.
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)  # a flat index is read as usual
        kind = type(index).__name__
        if kind.startswith("IndexIVF"):
            lists = faiss.downcast_InvertedLists(index.invlists)
            if hasattr(lists, "prefetch_nthread"):
                # on-disk lists start 32 prefetch threads per search by default: on 2 cores that
                # made a search 7x slower than in memory; the pages are read when scanned anyway
                lists.prefetch_nthread = 0
        if kind == "IndexHNSWFlat":
            index.hnsw.efSearch = 128
        return cls(index, kind)
