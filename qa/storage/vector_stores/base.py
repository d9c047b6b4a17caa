"""The vector store protocol: what the builder and the search pipeline need of a dense index,
and the policy every store shares (when to switch from exact to approximate search).

A store holds one unit vector per passage under an integer id equal to the passage's row in
`passages.jsonl`, so any store's search answer indexes the same passages and citations.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from qa.settings import Settings
    from qa.storage.folder import IndexFolder
    from qa.storage.selection import Selection

ANN_THRESHOLD = 50_000  # from this many vectors on, stores build an inverted file (IVF, 8-bit)
IVF_NPROBE = 32  # lists scanned per query
IVF_TRAIN_PER_LIST = 50  # k-means sample: this many vectors per list (faiss wants >= 39)


def ivf_lists(n: int) -> int:
    """Inverted lists for n vectors: ~4 sqrt(n) keeps each probe's scan short as n grows."""
    return int(min(65536, max(64, 4 * np.sqrt(n))))


class VectorStore(Protocol):
    """A dense index over passage rows (txtai's ANN interface, trimmed): create/open, add/delete,
    search, count, describe itself for the manifest, close, drop."""

    store_kind: str

    @classmethod
    def create(cls, folder: "IndexFolder", vectors: np.ndarray, meta: list[dict],
               settings: "Settings", ids: np.ndarray | None = None) -> "VectorStore":
        """A new store holding `vectors` (row i under id i, or under `ids[i]`: a build still
        embedding holds its embedded rows only) for the build in `folder`; `meta` holds
        doc_id, source, date per row (`row_meta`)."""

    @classmethod
    def open(cls, folder: "IndexFolder", spec: dict, settings: "Settings | None") -> "VectorStore":
        """The store a manifest's `store` entry (`spec`) describes."""

    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[dict]) -> None:
        """Insert (or replace) vectors under `ids`; `meta` holds doc_id, source, date per row."""

    def delete(self, ids: np.ndarray) -> None:
        """Remove these ids; the others keep theirs."""

    def search_batch(self, queries: np.ndarray, k: int,
                     allowed: "Selection | None" = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k `(scores, ids)` per query row (inner product), ids -1 where fewer than k exist;
        with `allowed`, only its rows (the store translates its filter)."""

    def __len__(self) -> int:
        """How many vectors the store holds."""

    def count(self) -> int:
        """Same as `len(store)`."""

    def manifest_entry(self) -> dict:
        """What the index manifest records to open this store again (never a secret)."""

    def close(self) -> None:
        """Release connections and files (a no-op for an in-memory index)."""

    def drop(self) -> None:
        """Delete what the store keeps outside the index folder (a server collection)."""


def empty_result(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64)


def row_meta(article) -> dict:
    """The scalar fields a store keeps per passage for metadata filters."""
    return {"doc_id": article.doc_id, "source": article.source or "", "date": article.date or ""}


def store_spec(manifest: dict) -> dict:
    """The manifest's store entry; indexes written before stores existed are FAISS."""
    return manifest.get("store") or {"kind": "faiss"}


def spec_matches(manifest: dict, settings: "Settings") -> bool:
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
    return hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:12]
