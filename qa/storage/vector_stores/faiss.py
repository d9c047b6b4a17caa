"""The FAISS store: the embedded default, `dense.faiss` in the index folder (see qa.storage.vector_stores.faiss_index)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.storage.vector_stores.faiss_index import DenseIndex

FILE = "dense.faiss"


class FaissStore(DenseIndex):
    """`DenseIndex` with the store interface; FAISS id == passage row."""

    store_kind = "faiss"

    @classmethod
    def create(cls, folder: Path, vectors: np.ndarray, meta: list[dict], settings) -> "FaissStore":
        """Build over all vectors (exact, or IVF-SQ8 above the ANN threshold) and save it."""
        store = cls.build(vectors)
        store.save(Path(folder) / FILE)
        return store

    @classmethod
    def open(cls, folder: Path, spec: dict, settings) -> "FaissStore":
        return cls.load(Path(folder) / FILE)

    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[dict] | None = None) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.kind == "IndexFlatIP" and np.array_equal(ids, np.arange(len(self), len(self) + len(ids))):
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

        if self.kind != "IndexFlatIP":
            return  # IVF lists and id maps store explicit ids already
        flat = self.index
        vecs = flat.reconstruct_n(0, flat.ntotal) if flat.ntotal else np.zeros((0, flat.d), np.float32)
        mapped = faiss.IndexIDMap2(faiss.IndexFlatIP(flat.d))
        mapped.add_with_ids(vecs, np.arange(len(vecs), dtype=np.int64))
        self.index, self.kind = mapped, "IndexIDMap2"

    def manifest_entry(self) -> dict:
        return {"store": {"kind": "faiss"}, "faiss_type": self.kind}

    def close(self) -> None:
        pass

    def drop(self) -> None:
        pass
