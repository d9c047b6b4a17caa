"""`Index`: the public handle on an index folder — build, load, search, add, delete.

    from qa import Index
    index = Index.build(["data/articles"], "index")      # or Index.load("index")
    for hit in index.search("What did Russia propose on decarbonization?", k=3):
        print(hit.rank, hit.article.title, hit.passage.char_start, hit.text)
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from qa.storage.builder import BuildStats, Progress, build_index
from qa.settings import DEFAULT_INDEX_DIR, Settings
from qa.embedders import Embedder, get_embedder
from qa.errors import BadInput, IndexCorrupt, QAError
from qa.ingest.reader import IngestReport, ingest
from qa.storage.bm25 import SparseIndex
from qa.storage.tables import ArticleTable, PassageTable, map_npy
from qa.storage.sentence_vectors import SentenceStore
from qa.storage.folder import check_manifest, read_manifest
from qa.storage.vector_stores import VectorStore, open_store, store_spec
from qa.types import Article, Hit


class Index:
    """A loaded index folder. Cheap to load: the embedding model loads on the first question."""

    def __init__(self, folder: Path, manifest: dict, articles: ArticleTable, passages: PassageTable,
                 dense: VectorStore, sparse: SparseIndex, embedder: Embedder, settings: Settings,
                 vectors: np.ndarray | None = None):
        self.folder = folder
        self.manifest = manifest
        self.articles = articles  # doc_id -> Article, parsed on access (qa/records.py)
        self.passages = passages  # row -> Passage, parsed on access
        self.dense = dense
        self.sparse = sparse
        self.embedder = embedder
        self.settings = settings
        self.last_build: BuildStats | None = None
        self.last_ingest: IngestReport | None = None
        self.vectors = vectors  # (n, dim) unit vectors, memory-mapped: row i == passage i
        self.sparse_docs: SparseIndex | None = None  # BM25 over whole articles, row == article order
        self.sentences: SentenceStore | None = None  # the highlighter's sentence vectors
        self.passage_article = passages.article_rows  # article row of each passage (memory-mapped)
        self._lock = threading.RLock()
        self._qcache: dict[str, np.ndarray] = {}
        self.sentence_cache: dict[str, np.ndarray] = {}  # highlight: sentence text -> vector
        self.auto_reload = True  # searches pick up a newer build of the folder (one stat per batch)
        self._loaded_signature = self._signature()

    # ---- loading and building -------------------------------------------------------------

    @classmethod
    def load(cls, folder: str | Path = DEFAULT_INDEX_DIR, embedder: Embedder | None = None,
             settings: Settings | None = None, verify: bool = True) -> "Index":
        """Open an index folder, refusing one of another model or format, or with damaged files.

        Raises:
            IndexNotFound, IndexCorrupt, ModelMismatch.
        """
        folder = Path(folder)
        manifest = read_manifest(folder)
        model = manifest.get("model", {})
        if embedder is None:
            # the backend that built the index (older manifests: torch, the only one then)
            embedder = get_embedder(model.get("id", ""), backend=model.get("backend") or "torch")
        check_manifest(folder, manifest, model_id=embedder.model_id,
                       fingerprint=embedder.fingerprint() if verify else None, verify=verify)
        try:
            articles, passages = ArticleTable(folder), PassageTable(folder)
            dense = open_store(folder, manifest, settings)  # FAISS, or the Milvus the manifest names
            sparse = SparseIndex.load(folder / "bm25", len(passages))
            sparse_docs = (SparseIndex.load(folder / "bm25_docs", len(articles))
                           if (folder / "bm25_docs").exists() else None)
            vectors = map_npy(folder / "vectors.npy")
            sentences = SentenceStore.open(folder, len(passages))
        except (ValueError, KeyError, TypeError, RuntimeError, OSError) as e:
            raise IndexCorrupt(f"index at {folder} cannot be read ({type(e).__name__}: {e}); rebuild "
                               f"with `python -m qa index --rebuild --index {folder}`") from None
        if len(dense) != len(passages) or len(vectors) != len(passages):
            dense.close()
            raise IndexCorrupt(f"index at {folder} has {len(dense)} vectors for {len(passages)} "
                               f"passages; rebuild with `python -m qa index --rebuild --index {folder}`")
        spec = store_spec(manifest)  # updates (add, delete) keep the store the index lives in
        uri = spec.get("uri") if spec["kind"] == "milvus" and not spec.get("embedded") else None
        settings = replace((settings or Settings()).with_(**manifest.get("chunking", {})),
                           store=spec["kind"], milvus_uri=uri)
        index = cls(folder, manifest, articles, passages, dense, sparse, embedder, settings, vectors)
        index.sparse_docs, index.sentences = sparse_docs, sentences
        return index

    @classmethod
    def build(cls, paths: list[str | Path], folder: str | Path = DEFAULT_INDEX_DIR,
              embedder: Embedder | None = None, settings: Settings | None = None,
              rebuild: bool = False, progress: Progress | None = None) -> "Index":
        """Ingest `paths` and make the index at `folder` hold exactly those articles.

        Raises:
            BadInput: no article could be read from `paths` (the message lists why per file).
        """
        settings = settings or Settings()
        embedder = embedder or get_embedder(settings.model, settings.batch_size, settings.backend)
        report = ingest(list(paths))
        if not report.articles:
            reasons = "; ".join(f"{p}: {r}" for p, r in report.problems[:5]) or "no supported files"
            raise BadInput(f"nothing to index in {', '.join(map(str, paths))} ({reasons})")
        stats = build_index(report.articles, folder, embedder, settings, rebuild=rebuild, progress=progress)
        index = cls.load(folder, embedder=embedder, settings=settings)
        index.last_build, index.last_ingest = stats, report
        return index

    def add(self, paths: list[str | Path], progress: Progress | None = None) -> IngestReport:
        """Ingest more files into this index (same doc_id replaces the old article) and reload."""
        report = ingest(list(paths))
        if report.articles:
            merged = {a.doc_id: a for a in self.articles.values()}
            merged.update({a.doc_id: a for a in report.articles})
            self._rewrite(list(merged.values()), progress)
        return report

    def delete(self, doc_ids: list[str]) -> int:
        """Remove articles by id; returns how many were removed."""
        drop = set(doc_ids)
        keep = [a for a in self.articles.values() if a.doc_id not in drop]
        removed = len(self.articles) - len(keep)
        if removed:
            if not keep:
                raise BadInput("cannot delete every article: an index needs at least one")
            self._rewrite(keep, None)
        return removed

    def _rewrite(self, articles: list[Article], progress: Progress | None) -> None:
        stats = build_index(articles, self.folder, self.embedder, self.settings, progress=progress)
        self.reload()
        self.last_build = stats

    def reload(self) -> None:
        """Swap in the folder's current contents (after another process re-indexed it)."""
        fresh = Index.load(self.folder, embedder=self.embedder, settings=self.settings)
        with self._lock:
            if self.dense is not fresh.dense:
                self.dense.close()  # a Milvus connection (and a Lite file) of the old build
            self.manifest, self.articles, self.passages = fresh.manifest, fresh.articles, fresh.passages
            self.dense, self.sparse = fresh.dense, fresh.sparse
            self.vectors, self.sparse_docs = fresh.vectors, fresh.sparse_docs
            self.sentences = fresh.sentences
            self.passage_article = fresh.passage_article
            self._loaded_signature = fresh._loaded_signature

    def close(self) -> None:
        """Release the vector store's connection (a Milvus Lite file is then free for another
        process); FAISS holds nothing to release."""
        self.dense.close()

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.folder / "manifest.json")
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def is_stale(self) -> bool:
        """True when the folder on disk holds another build than the one loaded."""
        sig = self._signature()
        return sig is not None and sig != self._loaded_signature

    def _maybe_reload(self) -> None:
        """Pick up a re-index done by another process; keep serving the old one if it fails."""
        if self.auto_reload and self.is_stale():
            try:
                self.reload()
            except QAError as e:
                logging.getLogger("qa").warning("kept the loaded index; reload failed: %s", e)

    # ---- searching ------------------------------------------------------------------------

    def search_batch(self, questions: list[str], k: int | None = None, config: str | None = None,
                     source: str | None = None, since: str | None = None, until: str | None = None,
                     **options) -> list[list[Hit]]:
        """Top-k cited hits for each question (see `qa.search.pipeline.search_batch`)."""
        from qa.search.pipeline import search_batch

        self._maybe_reload()
        return search_batch(self, questions, k=k, config=config, source=source, since=since,
                            until=until, **options)

    def search(self, question: str, k: int | None = None, config: str | None = None, **kw) -> list[Hit]:
        """Top-k cited hits for one question; wraps `search_batch`."""
        return self.search_batch([question], k=k, config=config, **kw)[0]

    def question_vectors(self, questions: list[str]) -> np.ndarray:
        """Embeddings of questions, remembered for the last few hundred distinct questions
        (abstention, highlighting and a repeated question reuse them)."""
        missing = [q for q in dict.fromkeys(questions) if q not in self._qcache]
        if missing:
            for q, v in zip(missing, self.embedder.embed_batch(missing)):
                self._qcache[q] = v
            while len(self._qcache) > 512:
                self._qcache.pop(next(iter(self._qcache)))
        return np.stack([self._qcache[q] for q in questions]) if questions else \
            np.zeros((0, self.embedder.dim), dtype=np.float32)

    def forget_questions(self) -> None:
        """Drop remembered question embeddings (timed evaluation measures cold questions)."""
        self._qcache.clear()

    def allowed_rows(self, source_ok: Callable[[str], bool] | None = None,
                     date_ok: Callable[[str], bool] | None = None) -> np.ndarray:
        """Sorted passage rows whose article's source and date pass the predicates."""
        ok = self.articles.rows_where(source_ok, date_ok)
        return np.flatnonzero(ok[self.passage_article]).astype(np.int64) if len(ok) else \
            np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.passages)

    def __repr__(self) -> str:
        return (f"Index({str(self.folder)!r}, articles={len(self.articles)}, passages={len(self.passages)}, "
                f"model={self.manifest.get('model', {}).get('id')!r})")
