"""The vector store interface: what the builder and the retriever need of a dense index.

A store holds one unit vector per passage under an integer id equal to the passage's row in
`passages.jsonl`, so any store's search answer indexes the same passages and citations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

KINDS = ("faiss", "milvus")


class VectorStore(Protocol):
    """A dense index over passage rows (txtai's ANN interface, trimmed)."""

    store_kind: str

    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[dict]) -> None:
        """Insert (or replace) vectors under `ids`; `meta` holds doc_id, source, date per row."""

    def delete(self, ids: np.ndarray) -> None:
        """Remove these ids; the others keep theirs."""

    def search_batch(self, queries: np.ndarray, k: int,
                     allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k `(scores, ids)` per query row (inner product), ids -1 where fewer than k exist."""

    def __len__(self) -> int:
        """How many vectors the store holds (`count`)."""

    def manifest_entry(self) -> dict:
        """What the index manifest records to open this store again (never a secret)."""

    def close(self) -> None:
        """Release connections and files (a no-op for an in-memory index)."""


def empty_result(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64)


def row_meta(article) -> dict:
    """The scalar fields a store keeps per passage for metadata filters."""
    return {"doc_id": article.doc_id, "source": article.source or "", "date": article.date or ""}


def store_spec(manifest: dict) -> dict:
    """The manifest's store entry; indexes written before stores existed are FAISS."""
    return manifest.get("store") or {"kind": "faiss"}


def spec_matches(manifest: dict, settings) -> bool:
    """True when the index in `manifest` lives in the store `settings` ask for."""
    spec = store_spec(manifest)
    if spec.get("kind") != settings.store:
        return False
    if settings.store == "milvus":
        # no URI: a Milvus Lite file inside the index folder ("embedded")
        return (spec.get("uri") == settings.milvus_uri) if settings.milvus_uri else bool(spec.get("embedded"))
    return True


def folder_token(folder: Path) -> str:
    """A short name unique to one build folder (its path holds a pid and a timestamp)."""
    import hashlib

    return hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:12]
