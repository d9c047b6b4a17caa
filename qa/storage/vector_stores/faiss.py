"""The FAISS store: the embedded default, `dense.faiss` in the index folder; FAISS id == row.

Vectors are L2-normalised, so inner product equals cosine similarity. Small collections use an
exact `IndexFlatIP`; from `ANN_THRESHOLD` passages on an inverted file with 8-bit scalar
quantisation (`IndexIVFScalarQuantizer`, recorded in the manifest as `faiss_type`) is built
instead: a quarter of the memory of flat float32 vectors (1M x 384 fits in ~0.4 GB), k-means
training that takes a minute rather than the hours an HNSW graph needs on 2 cores, and
recall@10 >= 0.97 of exact search at the `nprobe` chosen here (bench/bench_ann.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.storage.folder import IndexFolder
from qa.storage.selection import Selection
from qa.storage.vector_stores.base import (ANN_THRESHOLD, IVF_NPROBE, IVF_TRAIN_PER_LIST, empty_result,
                                           ivf_lists)

FLAT, IVF, ID_MAP = "IndexFlatIP", "IndexIVFScalarQuantizer", "IndexIDMap2"


class FaissStore:
    """A FAISS inner-product index over unit vectors, with the `VectorStore` interface."""

    store_kind = "faiss"

    def __init__(self, index, kind: str):
        self.index = index
        self.kind = kind

    # ---- creating and opening -------------------------------------------------------------

    @classmethod
    def build(cls, vectors: np.ndarray, ann_threshold: int | None = None,
              ids: np.ndarray | None = None) -> "FaissStore":
        """An exact index, or IVF-SQ8 from `ann_threshold` vectors on (None: ANN_THRESHOLD).

        With `ids`, vector i is stored under `ids[i]` instead of i (an exact index is then
        wrapped in an id map): a build still embedding holds only the rows already embedded.
        """
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
            kind = IVF
        else:
            index = faiss.IndexFlatIP(dim)
            kind = FLAT
        if ids is not None:
            if kind == FLAT:
                index, kind = faiss.IndexIDMap2(index), ID_MAP
            if len(vectors):
                index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))
        elif len(vectors):
            index.add(vectors)
        return cls(index, kind)

    @classmethod
    def create(cls, folder: IndexFolder, vectors: np.ndarray, meta: list[dict], settings,
               ids: np.ndarray | None = None) -> "FaissStore":
        """Build over all vectors (exact, or IVF-SQ8 above the ANN threshold; under `ids` when
        given) and save it."""
        store = cls.build(vectors, ids=ids)
        store.save(folder.faiss_file)
        return store

    @classmethod
    def open(cls, folder: IndexFolder, spec: dict, settings) -> "FaissStore":
        return cls.load(folder.faiss_file)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> "FaissStore":
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
        return cls(index, kind)

    # ---- the store interface --------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.index.ntotal)

    count = __len__

    def search_batch(self, queries: np.ndarray, k: int,
                     allowed: Selection | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k `(scores, ids)` per query row; ids are -1 where fewer than k exist.

        Args:
            queries: (n, dim) float32 unit vectors.
            k: results per query.
            allowed: the rows a result may have (metadata filters), as a bitmap selector.
        """
        import faiss

        k = max(1, min(k, len(self)))
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if len(self) == 0:
            return empty_result(len(q))
        if allowed is None:
            return self.index.search(q, k)
        rows = np.asarray(allowed.rows, dtype=np.int64)
        if len(rows) == 0:
            return empty_result(len(q))
        # a bitmap of all rows: building it is one packbits, not a hash set of every allowed id
        # (FAISS reads ids past its end as not allowed; its length argument is in bytes)
        bits = np.zeros(max(len(self), int(rows.max()) + 1), dtype=bool)
        bits[rows] = True
        bitmap = np.packbits(bits, bitorder="little")
        sel = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
        k = min(k, len(rows))
        if self.kind == IVF:
            return self._search_ivf_filtered(q, k, sel, len(rows) / len(self))
        return self.index.search(q, k, params=faiss.SearchParameters(sel=sel))

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

    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[dict] | None = None) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.kind == FLAT and np.array_equal(ids, np.arange(len(self), len(self) + len(ids))):
            self.index.add(vectors)  # appending rows: ids stay positions
        else:
            self._with_explicit_ids()
            self.delete(ids)
            self.index.add_with_ids(vectors, ids)

    def delete(self, ids: np.ndarray) -> None:
        import faiss

        # a flat index renumbers what follows a removed row; an id map keeps ids == rows
        self._with_explicit_ids()
        self.index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64)))

    def _with_explicit_ids(self) -> None:
        import faiss

        if self.kind != FLAT:
            return  # IVF lists and id maps store explicit ids already
        flat = self.index
        vecs = flat.reconstruct_n(0, flat.ntotal) if flat.ntotal else np.zeros((0, flat.d), np.float32)
        mapped = faiss.IndexIDMap2(faiss.IndexFlatIP(flat.d))
        mapped.add_with_ids(vecs, np.arange(len(vecs), dtype=np.int64))
        self.index, self.kind = mapped, ID_MAP

    def manifest_entry(self) -> dict:
        return {"store": {"kind": "faiss"}, "faiss_type": self.kind}

    def close(self) -> None:
        pass  # nothing held outside this object

    def drop(self) -> None:
        pass  # everything lives in the index folder
