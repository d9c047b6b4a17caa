"""Write one build of an index into a temporary folder and commit it in place.

A build has two kinds of files. Those that depend on the text only (the passage and article
tables, both BM25 indexes, the sentence layout) are written once per `build_index` run, by its
first commit. Those that depend on the vectors (vectors.npy, the vector store, the sentence
vectors and their keys, and, while a build is still embedding, pending.npy) are written at every
commit: a build that commits in steps (qa.storage.steps) links the first kind into each new
folder (hard links) instead of writing or checksumming them again. The last commit writes the
complete index, the same files a build committed once at its end writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from qa.settings import FORMAT_VERSION, Settings
from qa.storage.bm25 import SparseIndex
from qa.storage.folder import IndexFolder
from qa.storage.progress import BuildProgress
from qa.storage.sentence_vectors import SentencePlan, save_sentences
from qa.storage.tables import write_tables
from qa.storage.vector_stores import create_store, drop_replaced, row_meta
from qa.types import Article, Passage

# files that change with the vectors; every other data file of a build depends on the text only
VECTOR_FILES = {IndexFolder.VECTORS, IndexFolder.FAISS, IndexFolder.PENDING,
                f"{IndexFolder.SENTENCES}/vectors.npy", f"{IndexFolder.SENTENCES}/keys.npy"}


@dataclass
class BuildContent:
    """What one build holds; its vectors are filled in as the passages are embedded.

    Attributes:
        articles: the articles, in index order.
        passages: their passages, in article order (row i == vector i == BM25 row i).
        keys: the embedding key of each text row: the passages first, then, when sentences are
            embedded on their own, the distinct sentence texts of `plan`.
        plan: the highlighter's sentences, or None (a build without sentence vectors).
        in_context: sentence vectors are pooled from the passages' forward pass into
            `span_vectors`; otherwise they are the rows after the passages in `vectors`.
        vectors: (len(keys), dim) float32; a row not embedded yet is zero.
        span_vectors: (len(plan.keys), dim) float32 in-context sentence vectors, or None.
    """

    articles: list[Article]
    passages: list[Passage]
    keys: list[str]
    plan: SentencePlan | None
    in_context: bool
    vectors: np.ndarray
    span_vectors: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.passages)

    def sentence_rows(self, pending: np.ndarray) -> np.ndarray:
        """The sentence rows not embedded while the text rows `pending` are not."""
        if self.plan is None or not len(pending):
            return np.zeros(0, dtype=np.int64)
        if not self.in_context:
            return pending[pending >= self.n] - self.n
        plan = self.plan
        rows = [plan.entries[plan.offsets[i]:plan.offsets[i + 1], 2] for i in pending[pending < self.n]]
        return np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, dtype=np.int64)


class BuildWriter:
    """Writes and commits the builds of one `build_index` run.

    Args:
        target: the index folder (its write lock is held).
        content: what the build holds.
        model: the manifest's "model" entry.
        settings: chunking, BM25-independent settings and the store to create.
        sources: the sources the manifest records.
        previous: the manifest of the index in place (its Milvus collection is dropped once
            replaced), {} when there is none.
        stats: the run's `BuildStats` (stage timings).
    """

    def __init__(self, target: IndexFolder, content: BuildContent, model: dict, settings: Settings,
                 sources: list[str], previous: dict, stats):
        self.target, self.content, self.model = target, content, model
        self.settings, self.sources, self.previous, self.stats = settings, sources, previous, stats
        self.base: list[str] | None = None  # text-only files of the first commit, linked later
        self.known: dict[str, dict] = {}  # their checksum entries

    def commit(self, pending: np.ndarray | None = None, bar: BuildProgress | None = None) -> dict:
        """Write a build holding every embedded row of the content and swap it into place.

        Args:
            pending: text rows (`content.keys` rows) not embedded yet; None or empty: the
                complete index. Their passages are in the tables and BM25 but not in the vector
                store, and pending.npy and the manifest's "pending" say which and how many.
            bar: the build's progress, moved through the writing (the last commit only).

        Returns:
            The committed manifest.
        """
        final = pending is None or not len(pending)
        pending = np.zeros(0, dtype=np.int64) if final else np.unique(np.asarray(pending, dtype=np.int64))
        tmp = self.target.new_build()
        store, committed = None, False
        vector_stage = "write" if final else "steps"
        try:
            first = self.base is None
            if first:
                self._write_text_files(tmp)
            else:
                with self.stats.stage(vector_stage):
                    self.target.link_files(tmp, self.base)
            with self.stats.stage(vector_stage):
                self._write_vectors(tmp, pending, layout=first)
            if bar and final:
                bar.written(0.3)
            with self.stats.stage("vector store" if final else "steps"):
                store = self._create_store(tmp, pending)
            if bar and final:
                bar.written(0.5)
            if first:
                self.base = [str(p.relative_to(tmp.path)) for p in tmp.data_files()
                             if str(p.relative_to(tmp.path)) not in VECTOR_FILES]
            manifest = self._manifest(store, pending)
            store.close()  # a Milvus Lite file is released before its folder moves
            with self.stats.stage(vector_stage):
                files = self.target.commit(tmp, manifest, known=self.known)
            self.known = {name: files[name] for name in self.base if name in files}
            if bar and final:
                bar.written(1.0)
            committed, store = True, None
            drop_replaced(self.previous, manifest, self.settings)
            self.previous = manifest
            return manifest
        finally:
            if store is not None:  # the build failed: a collection it made on a server goes too
                store.drop()
                store.close()
            if not committed:
                tmp.discard()

    def _write_text_files(self, tmp: IndexFolder) -> None:
        """The files that depend on the text only: tables and both BM25 indexes."""
        c = self.content
        with self.stats.stage("write"):
            write_tables(tmp, c.passages, c.keys[:c.n], c.articles)
        by_id = {a.doc_id: a for a in c.articles}
        with self.stats.stage("bm25"):
            tmp.bm25_dir.mkdir()
            SparseIndex.build([p.text for p in c.passages],
                              languages=[by_id[p.doc_id].language for p in c.passages]).save(tmp.bm25_dir)
            # Whole-article BM25: term statistics over full articles rank documents better
            # than passage statistics do (a feature of the reranker).
            tmp.bm25_docs_dir.mkdir()
            SparseIndex.build([f"{a.title}\n{a.body}" for a in c.articles],
                              languages=[a.language for a in c.articles]).save(tmp.bm25_docs_dir)

    def _write_vectors(self, tmp: IndexFolder, pending: np.ndarray, layout: bool) -> None:
        """vectors.npy, the sentence vectors (and their layout when `layout`), pending.npy."""
        c = self.content
        if c.plan is not None:
            sentences = c.span_vectors if c.in_context else c.vectors[c.n:]
            save_sentences(tmp, c.plan, sentences, pending=c.sentence_rows(pending), layout=layout)
        np.save(tmp.vectors_file, c.vectors[:c.n], allow_pickle=False)
        if len(pending):
            np.save(tmp.pending_file, pending[pending < c.n], allow_pickle=False)

    def _create_store(self, tmp: IndexFolder, pending: np.ndarray):
        """The vector store of this build: every passage, or (a step) the embedded ones only,
        under their row ids."""
        c = self.content
        by_id = {a.doc_id: a for a in c.articles}
        if not len(pending):
            return create_store(tmp, c.vectors[:c.n], [row_meta(by_id[p.doc_id]) for p in c.passages],
                                self.settings)
        done = np.setdiff1d(np.arange(c.n, dtype=np.int64), pending[pending < c.n], assume_unique=True)
        return create_store(tmp, c.vectors[done], [row_meta(by_id[c.passages[i].doc_id]) for i in done.tolist()],
                            self.settings, ids=done)

    def _manifest(self, store, pending: np.ndarray) -> dict:
        c = self.content
        rows = pending[pending < c.n]
        waiting = ({"pending": {"articles": len({c.passages[int(i)].doc_id for i in rows}),
                                "passages": int(len(rows))}} if len(pending) else {})
        return {
            "format_version": FORMAT_VERSION,
            "model": self.model,
            "normalized": True,
            "metric": "inner_product",
            **store.manifest_entry(),  # store kind and where it lives (faiss_type for FAISS)
            "bm25": {"library": "bm25s", "k1": 1.2, "b": 0.75, "stemming": "snowball-per-language",
                     "languages": sorted({a.language for a in c.articles if a.language})},
            "chunking": self.settings.chunking(),
            "sources": self.sources,
            "counts": {"articles": len(c.articles), "passages": c.n,
                       **({"sentences": len(c.plan.keys),
                           "sentence_vectors": "in-context" if c.in_context else "separate"}
                          if c.plan is not None else {})},
            **waiting,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
