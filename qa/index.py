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
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from qa.embedders import Embedder, get_embedder
from qa.embedders.question_cache import QuestionEncoder
from qa.errors import BadInput, IndexCorrupt, IndexNotFound, QAError
from qa.ingest.reader import SUPPORTED_EXTS, IngestReport, ingest
from qa.settings import DEFAULT_INDEX_DIR, Settings
from qa.storage.builder import BuildStats, Progress, add_sources, build_index
from qa.storage.folder import IndexFolder
from qa.storage.snapshot import IndexSnapshot, open_snapshot
from qa.storage.tables import ArticleTable, PassageTable
from qa.storage.vector_stores import store_spec
from qa.types import Article, Hit

OPEN_ATTEMPTS = 3  # reads of the folder when builds are swapped in while one is read


class Index:
    """A loaded index folder. Cheap to load: the embedding model loads on the first question.

    The loaded build is one read-only `IndexSnapshot` (`index.snapshot`); searches read it,
    and `reload` swaps in a new one. `articles`, `passages`, `manifest`, ... are the current
    snapshot's.
    """

    def __init__(self, snapshot: IndexSnapshot, embedder: Embedder):
        self.index_folder = snapshot.folder
        self.embedder = embedder
        self.encoder = QuestionEncoder(embedder)  # question vectors survive a reload
        self.snapshot = snapshot
        self.last_build: BuildStats | None = None
        self.last_ingest: IngestReport | None = None
        self.auto_reload = True  # searches pick up a newer build of the folder (one stat per batch)
        self._lock = threading.RLock()  # a search and a reload never interleave
        self._loaded_signature = snapshot.folder.signature()

    # ---- the current build ----------------------------------------------------------------

    @property
    def folder(self) -> Path:
        return self.index_folder.path

    @property
    def settings(self) -> Settings:
        return self.snapshot.settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        """Search with other defaults (k, configuration, margins) from now on."""
        self.snapshot = replace(self.snapshot, settings=value)

    @property
    def manifest(self) -> dict:
        return self.snapshot.manifest

    @property
    def articles(self) -> ArticleTable:
        return self.snapshot.articles

    @property
    def passages(self) -> PassageTable:
        return self.snapshot.passages

    # ---- loading and building -------------------------------------------------------------

    @classmethod
    def load(cls, folder: str | Path = DEFAULT_INDEX_DIR, embedder: Embedder | None = None,
             settings: Settings | None = None, verify: bool = True) -> "Index":
        """Open an index folder, refusing one of another model or format, or with damaged files.

        Raises:
            BadInput (`folder` is not a path), IndexNotFound, IndexCorrupt, ModelMismatch.
        """
        if not isinstance(folder, (str, os.PathLike)) or not str(folder).strip():
            raise BadInput(f"Index.load needs the index folder as a path, got {folder!r}; "
                           f"e.g. Index.load({DEFAULT_INDEX_DIR!r})")
        snapshot, embedder = cls._open(IndexFolder(folder), embedder, settings, verify)
        return cls(snapshot, embedder)

    @classmethod
    def _open(cls, folder: IndexFolder, embedder: Embedder | None, settings: Settings | None,
              verify: bool = True) -> tuple[IndexSnapshot, Embedder]:
        """Open the build in place; again when another build was committed while it was being
        read (a build committing in steps swaps one in every minute or so), so a reader never
        takes a mix of two builds for a damaged index."""
        for attempt in range(OPEN_ATTEMPTS):
            before = folder.signature()
            try:
                return cls._open_once(folder, embedder, settings, verify)
            except (IndexCorrupt, IndexNotFound):
                if attempt + 1 == OPEN_ATTEMPTS or folder.signature() in (before, None):
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _open_once(folder: IndexFolder, embedder: Embedder | None, settings: Settings | None,
                   verify: bool) -> tuple[IndexSnapshot, Embedder]:
        manifest = folder.read_manifest()
        model = manifest.get("model", {})
        if embedder is None:
            # the backend that built the index (older manifests: torch, the only one then)
            embedder = get_embedder(model.get("id", ""), backend=model.get("backend") or "torch")
        folder.check(manifest, model_id=embedder.model_id,
                     fingerprint=embedder.fingerprint() if verify else None, verify=verify)
        spec = store_spec(manifest)  # updates (add, delete) keep the store the index lives in
        uri = spec.get("uri") if spec["kind"] == "milvus" and not spec.get("embedded") else None
        search_settings = replace((settings or Settings()).with_(**manifest.get("chunking", {})),
                                  store=spec["kind"], milvus_uri=uri)
        return open_snapshot(folder, manifest, settings, search_settings), embedder

    @classmethod
    def build(cls, paths: list[str | Path], folder: str | Path = DEFAULT_INDEX_DIR,
              embedder: Embedder | None = None, settings: Settings | None = None,
              rebuild: bool = False, progress: Progress | None = None,
              on_step: Callable[[int, int], None] | None = None) -> "Index":
        """Ingest `paths` and make the index at `folder` hold exactly those articles.

        A long build commits in steps (qa.storage.steps), so the folder answers while it builds;
        `on_step(articles still to embed, articles)` is called after each step.

        Raises:
            BadInput: `paths` is one string or path, not a list; no article could be read from
                `paths` (the message lists why per file).
        """
        paths = _listed(paths, "paths", "files or folders")
        settings = settings or Settings()
        IndexFolder(folder).check_writable(paths)  # before anything is read or written
        embedder = embedder or get_embedder(settings.model, settings.batch_size, settings.backend)
        t0 = time.perf_counter()
        report = ingest(list(paths), exclude=[folder])
        read_seconds = time.perf_counter() - t0
        if not report.articles:
            reasons = ("; ".join(f"{p}: {r}" for p, r in report.problems[:5])
                       or f"no supported files; qa reads {', '.join(sorted(SUPPORTED_EXTS))}")
            raise BadInput(f"nothing to index in {', '.join(map(str, paths))} ({reasons})")
        stats = build_index(report.articles, folder, embedder, settings, rebuild=rebuild, progress=progress,
                            sources=list(paths), on_step=on_step)
        stats.stages = {"read": read_seconds, **stats.stages}
        stats.seconds += read_seconds
        if stats.first_step_seconds is not None:
            stats.first_step_seconds += read_seconds
        index = cls.load(folder, embedder=embedder, settings=settings)
        index.last_build, index.last_ingest = stats, report
        return index

    def add(self, paths: list[str | Path], progress: Progress | None = None,
            replace_existing: bool = True) -> IngestReport:
        """Ingest more files into this index and reload.

        Args:
            paths: files or folders to read.
            progress: called with (done, total) texts embedded.
            replace_existing: an article whose doc_id is already indexed from another file
                replaces it (True) or is refused and reported (False: the web UI's uploads).
        """
        paths = _listed(paths, "paths", "files or folders")
        report = ingest(paths, exclude=[self.folder])
        incoming = report.articles

        def change(current: list[Article]) -> list[Article]:
            # read-modify-write of the folder's own articles under its write lock
            by_id = {a.doc_id: a for a in current}
            accepted = []
            for a in incoming:
                old = by_id.get(a.doc_id)
                if not replace_existing and old is not None and old.path != a.path:
                    report.problems.append((a.path, f"an article with id {a.doc_id!r} is already indexed "
                                            f"(from {Path(old.path).name or 'another file'}); not replaced. "
                                            "Rename the file or delete that article first"))
                    continue
                by_id[a.doc_id] = a
                accepted.append(a)
            report.articles = accepted
            return list(by_id.values())

        if incoming:
            self._rewrite(change, progress, add_sources(paths))
        return report

    def delete(self, doc_ids: list[str]) -> int:
        """Remove articles by id; returns how many were removed."""
        drop, removed = set(_listed(doc_ids, "doc_ids", "article ids")), [0]

        def change(current: list[Article]) -> list[Article]:
            keep = [a for a in current if a.doc_id not in drop]
            removed[0] = len(current) - len(keep)
            if removed[0] and not keep:
                raise BadInput("cannot delete every article: an index needs at least one")
            return keep

        if any(d in self.articles for d in drop):
            self._rewrite(change, None)
        return removed[0]

    def _rewrite(self, change, progress: Progress | None, sources=None) -> None:
        """Apply `change` to the folder's current articles (and `sources` to the recorded
        sources) under its write lock, then reload."""
        stats = build_index(change, self.index_folder, self.embedder, self.settings, progress=progress,
                            sources=sources)
        self.reload()
        self.last_build = stats

    def reload(self) -> None:
        """Swap in the folder's current contents (after another process re-indexed it): a new
        snapshot, so everything derived from the old build (the abstention background) goes."""
        fresh, _ = self._open(self.index_folder, self.embedder, self.settings)
        with self._lock:
            old, self.snapshot = self.snapshot, fresh
            if old.dense is not fresh.dense:
                old.close()  # a Milvus connection (and a Lite file) of the old build
            self._loaded_signature = fresh.folder.signature()

    def close(self) -> None:
        """Release the vector store's connection (a Milvus Lite file is then free for another
        process); FAISS holds nothing to release."""
        self.snapshot.close()

    def is_stale(self) -> bool:
        """True when the folder on disk holds another build than the one loaded."""
        sig = self.index_folder.signature()
        return sig is not None and sig != self._loaded_signature

    def refresh(self) -> bool:
        """Pick up a build another process committed (a re-index, or the next step of a build
        still embedding); keep serving the loaded one if that fails. Returns True when a newer
        build was loaded. Searches call it first unless `auto_reload` is off."""
        if not self.is_stale():
            return False
        try:
            self.reload()
        except QAError as e:
            logging.getLogger("qa").warning("kept the loaded index; reload failed: %s", e)
            return False
        return True

    def _maybe_reload(self) -> None:
        if self.auto_reload:
            self.refresh()

    def still_embedding(self) -> dict[str, int]:
        """How much of the loaded build is still being embedded (`IndexSnapshot.still_embedding`):
        {"articles", "passages", "articles_total"}; zeros for a complete index."""
        return self.snapshot.still_embedding()

    # ---- searching ------------------------------------------------------------------------

    def search_batch(self, questions: list[str], k: int | None = None, config: str | None = None,
                     source: str | None = None, since: str | None = None, until: str | None = None,
                     **options) -> list[list[Hit]]:
        """Top-k cited hits for each question (see `qa.search.pipeline.search_batch`)."""
        from qa.search.pipeline import search_batch

        self._maybe_reload()
        with self._lock:
            return search_batch(self.snapshot, self.encoder, questions, k=k, config=config,
                                source=source, since=since, until=until, **options)

    def search(self, question: str, k: int | None = None, config: str | None = None, **kw) -> list[Hit]:
        """Top-k cited hits for one question; wraps `search_batch`."""
        return self.search_batch([question], k=k, config=config, **kw)[0]

    def question_vectors(self, questions: list[str]) -> np.ndarray:
        """Embeddings of questions, remembered for the last few hundred distinct questions
        (abstention, highlighting and a repeated question reuse them)."""
        return self.encoder.encode(questions)

    def forget_questions(self) -> None:
        """Drop remembered question embeddings (timed evaluation measures cold questions)."""
        self.encoder.forget()

    def __len__(self) -> int:
        return len(self.snapshot)

    def __repr__(self) -> str:
        return (f"Index({str(self.folder)!r}, articles={len(self.articles)}, passages={len(self.passages)}, "
                f"model={self.manifest.get('model', {}).get('id')!r})")


def _listed(values, name: str, what: str) -> list:
    """`values` as a list; one string or path is refused, not read character by character (a
    build of "/data" would read "/", the whole disk; a delete of "ab" would drop ids "a" and "b").

    Raises:
        BadInput: `values` is a str or a Path.
    """
    if isinstance(values, (str, Path)):
        raise BadInput(f"{name} must be a list of {what}, got the single {type(values).__name__} "
                       f"{str(values)!r}; pass [{str(values)!r}]")
    return list(values)
