"""IndexSnapshot: one loaded build of an index folder, read-only. Search stages read a
snapshot (or its parts), never the mutable `Index`; a reload makes a new snapshot, so a search
that started on one build finishes on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from qa.errors import IndexCorrupt
from qa.settings import Settings
from qa.storage.bm25 import SparseIndex
from qa.storage.folder import IndexFolder
from qa.storage.sentence_vectors import SentenceVectors
from qa.storage.tables import ArticleTable, PassageTable, map_npy
from qa.storage.vector_stores import VectorStore, open_store


@dataclass(frozen=True, eq=False)
class IndexSnapshot:
    """Everything one build of an index holds, memory-mapped where it is large.

    Attributes:
        folder: the index folder it was loaded from.
        manifest: the build's manifest.
        settings: defaults for searching it (chunking and store from the manifest).
        articles: doc_id -> Article, parsed on access.
        passages: row -> Passage, parsed on access (row i == vector i == BM25 row i).
        vectors: (n, dim) unit vectors of the passages.
        dense: the vector store over `vectors`.
        sparse: BM25 over passages; `sparse_docs`: BM25 over whole articles (row == article row).
        sentences: the highlighter's stored sentence vectors, or None.
        memo: values derived from this build once and kept with it (the abstention background).
        pending: sorted passage rows not embedded yet (a build committed in steps,
            qa.storage.steps): found by keywords only; their vectors are zero and the vector
            store does not hold them. Empty for a complete index.
    """

    folder: IndexFolder
    manifest: dict
    settings: Settings
    articles: ArticleTable
    passages: PassageTable
    vectors: np.ndarray
    dense: VectorStore
    sparse: SparseIndex
    sparse_docs: SparseIndex | None = None
    sentences: SentenceVectors | None = None
    memo: dict[str, Any] = field(default_factory=dict)
    pending: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def passage_article(self) -> np.ndarray:
        """Article row of each passage (memory-mapped)."""
        return self.passages.article_rows

    def __len__(self) -> int:
        return len(self.passages)

    def pending_mask(self, rows: np.ndarray) -> np.ndarray:
        """Whether each of `rows` is a passage not embedded yet (all False for a complete index)."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(self.pending) or not len(rows):
            return np.zeros(len(rows), dtype=bool)
        at = np.minimum(np.searchsorted(self.pending, rows), len(self.pending) - 1)
        return np.asarray(self.pending[at]) == rows

    def still_embedding(self) -> dict[str, int]:
        """How much of this build is still being embedded: {"articles": articles whose passages
        are found by keywords only for now, "passages": those passages, "articles_total": every
        article of the build}; zeros for a complete index."""
        waiting = self.manifest.get("pending") or {}
        return {"articles": int(waiting.get("articles", 0)), "passages": int(len(self.pending)),
                "articles_total": len(self.articles)}

    def allowed_rows(self, source_ok: Callable[[str], bool] | None = None,
                     date_ok: Callable[[str], bool] | None = None) -> np.ndarray:
        """Sorted passage rows whose article's source and date pass the predicates."""
        ok = self.articles.rows_where(source_ok, date_ok)
        return np.flatnonzero(ok[self.passage_article]).astype(np.int64) if len(ok) else \
            np.zeros(0, dtype=np.int64)

    def close(self) -> None:
        """Release the vector store (a Milvus connection, and a Lite file, of this build)."""
        self.dense.close()


def open_snapshot(folder: IndexFolder, manifest: dict, settings: Settings | None,
                  search_settings: Settings) -> IndexSnapshot:
    """Open every file of a checked index folder.

    Args:
        folder: the folder, already checked against `manifest`.
        manifest: its manifest.
        settings: what the caller asked for (the Milvus token, if any).
        search_settings: the settings the snapshot carries.

    Raises:
        IndexCorrupt: a file cannot be read or the parts disagree on the passage count.
    """
    rebuild = folder.rebuild_hint()
    try:
        articles, passages = ArticleTable(folder), PassageTable(folder)
        dense = open_store(folder, manifest, settings)  # FAISS, or the Milvus the manifest names
        languages = manifest.get("bm25", {}).get("languages", ())  # questions are analysed for these
        sparse = SparseIndex.load(folder.bm25_dir, len(passages), languages=languages)
        sparse_docs = (SparseIndex.load(folder.bm25_docs_dir, len(articles), languages=languages)
                       if folder.bm25_docs_dir.exists() else None)
        vectors = map_npy(folder.vectors_file)
        sentences = SentenceVectors.open(folder, len(passages))
        # a build still embedding (a step commit): the rows the vector store does not hold yet
        pending = (np.asarray(map_npy(folder.pending_file, random=False), dtype=np.int64)
                   if manifest.get("pending") else np.zeros(0, dtype=np.int64))
    except (ValueError, KeyError, TypeError, RuntimeError, OSError) as e:
        raise IndexCorrupt(f"index at {folder} cannot be read ({type(e).__name__}: {e}); {rebuild}") from None
    embedded = len(passages) - len(pending)
    if len(dense) != embedded or len(vectors) != len(passages) or \
            len(pending) != manifest.get("pending", {}).get("passages", 0):
        dense.close()
        raise IndexCorrupt(f"index at {folder} has {len(dense)} vectors for {embedded} embedded "
                           f"passages (of {len(passages)}); {rebuild}")
    return IndexSnapshot(folder, manifest, search_settings, articles, passages, vectors, dense,
                         sparse, sparse_docs, sentences, pending=pending)
