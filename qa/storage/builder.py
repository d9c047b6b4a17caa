"""Build or update an index folder from articles, embedding only what is new.

Each passage's embedding key is a hash of the model weights and the exact text embedded, so an
unchanged article is never embedded twice: vectors come from the previous index, or from the
shards an interrupted build left in `index/.partial/`, and only the rest goes to the model.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from qa.text.chunking import chunk_articles
from qa.settings import FORMAT_VERSION, Settings
from qa.embedders.base import Embedder
from qa.embedders.engines import ENGINES
from qa.errors import IndexWriteError, QAError
from qa.storage.bm25 import SparseIndex
from qa.storage.vector_stores import create_store, drop_replaced, row_meta, spec_matches
from qa.storage.tables import iter_records, write_tables
from qa.storage.sentence_vectors import SentenceCache, plan_sentences, save_sentences
from qa.storage.folder import IndexFolder
from qa.hashing import content_hash
from qa.types import Article, Passage

SHARD_SIZE = 256
Progress = Callable[[int, int], None]  # (done, total) texts embedded: passages, then sentences


@dataclass
class BuildStats:
    """What one `index` run did."""

    articles: int = 0
    passages: int = 0
    embedded: int = 0
    reused: int = 0
    sentences_embedded: int = 0  # distinct highlighter sentences embedded (qa/sentences.py)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    up_to_date: bool = False
    seconds: float = 0.0



def embed_text(passage: Passage, article: Article, embedder: Embedder, settings: Settings) -> str:
    """What the model sees: the (truncated) title, a newline, then the passage text."""
    if settings.embed_title and article.title:
        return embedder.truncate(article.title, settings.title_tokens) + "\n" + passage.text
    return passage.text


def _load_previous(target: IndexFolder, fingerprint: str, dim: int,
                   sentences: bool) -> tuple[dict, dict[str, np.ndarray], dict, SentenceCache]:
    """(manifest, key -> vector cache, doc_id -> article hash, stored sentence vectors) of the
    index at `target`, if usable (sentence vectors only when this build makes them)."""
    cache: dict[str, np.ndarray] = {}
    hashes: dict[str, str] = {}
    manifest: dict = {}
    stored = SentenceCache(None, dim)
    try:
        manifest = target.read_manifest()
        model = manifest.get("model", {})
        if model.get("fingerprint") == fingerprint and model.get("dim") == dim:
            vecs = np.load(target.vectors_file, mmap_mode="r", allow_pickle=False)
            keys = [p["embed_key"] for p in iter_records(target.passages_file)]
            if len(keys) == len(vecs):
                cache.update(zip(keys, vecs))
            if sentences:
                stored = SentenceCache(target, dim)
        hashes = {a["doc_id"]: a.get("content_hash", "") for a in iter_records(target.articles_file)}
    except (QAError, OSError, ValueError, KeyError):
        pass  # no usable previous index: everything is embedded
    partial = target.partial_dir
    for meta in sorted(partial.glob("shard-*.json")) if partial.exists() else []:
        try:
            info = json.loads(meta.read_text())
            if info.get("fingerprint") != fingerprint:
                continue
            vecs = np.load(meta.with_suffix(".npy"), allow_pickle=False)
            if len(vecs) == len(info["keys"]) and vecs.shape[1] == dim:
                cache.update(zip(info["keys"], vecs))
        except (OSError, ValueError, KeyError):
            continue  # a shard cut short by a crash: its passages are embedded again
    return manifest, cache, hashes, stored


def _write_shard(folder: Path, n: int, keys: list[str], vecs: np.ndarray, fingerprint: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"shard-{os.getpid()}-{n:06d}"
    np.save(f"{stem}.npy.tmp.npy", vecs, allow_pickle=False)
    os.replace(f"{stem}.npy.tmp.npy", f"{stem}.npy")
    Path(f"{stem}.json.tmp").write_text(json.dumps({"fingerprint": fingerprint, "keys": keys}))
    os.replace(f"{stem}.json.tmp", f"{stem}.json")


def embed_shards(embedder: Embedder, settings: Settings, shards: list[list[str]]) -> Iterator[np.ndarray]:
    """The vectors of each shard of texts, in order, from the engine `settings.engine` names
    (qa.embedders.engines: here, or on Ray Data actors; Ray is imported only then)."""
    yield from ENGINES.get(settings.engine)(embedder, settings, shards)


Change = Callable[[list[Article]], list[Article]]  # the folder's current articles -> the new ones
Sources = Callable[[list[str]], list[str]]  # the sources the manifest records -> the new ones


def source_key(path: str | Path) -> str:
    """How a source is recorded: a URL as given, a file or folder as its absolute path."""
    text = str(path)
    if text.lower().startswith(("http://", "https://")):
        return text
    return str(Path(text).resolve())


def add_sources(paths: list[str | Path]) -> Sources:
    """A `Sources` change that records `paths` beside the recorded ones, each once; a path inside
    a recorded folder is already covered."""
    def change(old: list[str]) -> list[str]:
        out = list(old)
        for key in map(source_key, paths):
            if key not in out and not any(Path(o) in Path(key).parents for o in out if o.startswith("/")):
                out.append(key)
        return out
    return change


def current_articles(target: IndexFolder) -> list[Article]:
    """The articles the index at `target` holds now ([] without one)."""
    if not target.exists():
        return []
    return [Article.from_dict(row) for row in iter_records(target.articles_file)]


def recorded_sources(target: IndexFolder) -> list[str]:
    """The sources the manifest at `target` records ([] without an index or a record)."""
    if not target.exists():
        return []
    try:
        found = target.read_manifest().get("sources", [])
    except QAError:
        return []
    return [str(s) for s in found] if isinstance(found, list) else []


def build_index(articles: list[Article] | Change, target: IndexFolder | str | Path, embedder: Embedder,
                settings: Settings | None = None, rebuild: bool = False,
                progress: Progress | None = None, sources: list[str | Path] | Sources | None = None) -> BuildStats:
    """Make the index at `target` hold exactly `articles`, embedding only new passages.

    Args:
        articles: the whole collection (articles absent here are removed from the index), or a
            change applied to the folder's current articles read under the write lock, so that
            concurrent writers (the UI, a `qa index` run) never revert each other.
        target: the index folder.
        embedder: the model; its weights hash is recorded and keys the embedding cache.
        settings: chunking and model settings (defaults from `Settings`).
        rebuild: ignore the previous index and shards and embed everything.
        progress: called with (done, total) as texts (passages, then sentences) are embedded.
        sources: the files, folders and URLs the articles were read from, recorded in the
            manifest so that `qa index` with no path reads them again (a list replaces the
            recorded ones, a callable changes them under the lock, None keeps them).

    Raises:
        IndexLocked: another process is writing this index.
        IndexWriteError: the disk filled up; the previous index is left as it was.
    """
    t0 = time.perf_counter()
    settings = settings or Settings()
    target = target if isinstance(target, IndexFolder) else IndexFolder(target)
    target.check_writable()  # before the lock file or anything else is written
    try:
        with target.lock():
            return _build(articles, target, embedder, settings, rebuild, progress, t0, sources)
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise IndexWriteError(f"no space left on the disk while writing the index at {target} "
                              f"({e.filename or 'a file'}); the previous index is unchanged and still "
                              f"loads. Free some space and run `qa index` again (finished embeddings "
                              f"are kept and reused)") from None


def _build(articles: list[Article] | Change, target: IndexFolder, embedder: Embedder, settings: Settings,
           rebuild: bool, progress: Progress | None, t0: float,
           sources: list[str | Path] | Sources | None) -> BuildStats:
    """The body of `build_index`, run under the folder's write lock."""
    fingerprint, dim = embedder.fingerprint(), embedder.dim
    if callable(articles):
        articles = articles(current_articles(target))
    recorded = recorded_sources(target)
    if sources is not None:
        recorded = sources(recorded) if callable(sources) else [source_key(p) for p in sources]
    if rebuild:
        manifest, cache, old_hashes, stored = {}, {}, {}, SentenceCache(None, dim)
    else:
        manifest, cache, old_hashes, stored = _load_previous(target, fingerprint, dim,
                                                             settings.sentence_vectors)
    stats = BuildStats(articles=len(articles))
    new_hashes = {a.doc_id: a.content_hash for a in articles}
    stats.added = sorted(d for d in new_hashes if d not in old_hashes)
    stats.changed = sorted(d for d in new_hashes if d in old_hashes and old_hashes[d] != new_hashes[d])
    stats.removed = sorted(d for d in old_hashes if d not in new_hashes)
    same_build = (manifest.get("format_version") == FORMAT_VERSION
                  and manifest.get("chunking") == settings.chunking()
                  and manifest.get("model", {}).get("fingerprint") == fingerprint
                  and spec_matches(manifest, settings))
    if (not rebuild and same_build and not (stats.added or stats.changed or stats.removed)
            and list(old_hashes) == list(new_hashes) and manifest.get("sources", []) == recorded):
        stats.passages = stats.reused = manifest.get("counts", {}).get("passages", 0)
        stats.up_to_date = True
        stats.seconds = time.perf_counter() - t0
        return stats

    by_id = {a.doc_id: a for a in articles}
    passages = chunk_articles(articles, embedder, settings)
    texts = [embed_text(p, by_id[p.doc_id], embedder, settings) for p in passages]
    keys = [content_hash(fingerprint, t) for t in texts]
    # the highlighter's sentences are embedded with the passages, each distinct one once
    plan = plan_sentences(passages, fingerprint) if settings.sentence_vectors else None
    if plan is not None:
        texts, keys = texts + plan.texts, keys + plan.keys
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    todo = []
    for i, key in enumerate(keys):
        if key in cache:
            vectors[i] = cache[key]
        elif key in stored:
            vectors[i] = stored[key]
        else:
            todo.append(i)
    cache.clear()
    stored = SentenceCache(None, dim)  # release the previous index's map
    n = len(passages)
    stats.passages, stats.embedded = n, sum(1 for i in todo if i < n)
    stats.reused, stats.sentences_embedded = n - stats.embedded, len(todo) - stats.embedded
    partial = target.partial_dir
    if rebuild and partial.exists():
        shutil.rmtree(partial, ignore_errors=True)
    # shards of todo rows, each distinct key once; a shard is saved as soon as it is embedded
    shards: list[list[int]] = []
    first: dict[str, int] = {}
    for start in range(0, len(todo), SHARD_SIZE):
        shards.append([i for i in todo[start:start + SHARD_SIZE] if first.setdefault(keys[i], i) == i])
    embedded = embed_shards(embedder, settings, [[texts[i] for i in rows] for rows in shards if rows])
    try:
        for n_shard, start in enumerate(range(0, len(todo), SHARD_SIZE)):
            rows = shards[n_shard]
            if rows:
                vecs = next(embedded)
                vectors[rows] = vecs
                _write_shard(partial, n_shard, [keys[i] for i in rows], vecs, fingerprint)
            # duplicates of a key embedded in this run reuse that vector
            for i in todo[start:start + SHARD_SIZE]:
                if first[keys[i]] != i:
                    vectors[i] = vectors[first[keys[i]]]
            if progress:
                progress(min(start + SHARD_SIZE, len(todo)), len(todo))
    finally:
        embedded.close()  # a Ray engine stops its runtime here, also on an error

    tmp = target.new_build()
    store, committed = None, False
    try:
        if plan is not None:
            save_sentences(tmp, plan, vectors[n:])
        vectors = vectors[:n]
        store = create_store(tmp, vectors, [row_meta(by_id[p.doc_id]) for p in passages], settings)
        np.save(tmp.vectors_file, vectors, allow_pickle=False)
        write_tables(tmp, passages, keys[:n], articles)
        tmp.bm25_dir.mkdir()
        SparseIndex.build([p.text for p in passages]).save(tmp.bm25_dir)
        # Whole-article BM25: term statistics over full articles rank documents better
        # than passage statistics do (a feature of the reranker).
        tmp.bm25_docs_dir.mkdir()
        SparseIndex.build([f"{a.title}\n{a.body}" for a in articles]).save(tmp.bm25_docs_dir)
        new_manifest = {
            "format_version": FORMAT_VERSION,
            "model": {"id": embedder.model_id, "fingerprint": fingerprint, "dim": dim,
                      "max_tokens": embedder.max_tokens,
                      "backend": getattr(embedder, "backend", None)},
            "normalized": True,
            "metric": "inner_product",
            **store.manifest_entry(),  # store kind and where it lives (faiss_type for FAISS)
            "bm25": {"library": "bm25s", "k1": 1.2, "b": 0.75, "stemming": "snowball-english"},
            "chunking": settings.chunking(),
            "sources": recorded,
            "counts": {"articles": len(articles), "passages": len(passages),
                       **({"sentences": len(plan.texts)} if plan is not None else {})},
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        store.close()  # a Milvus Lite file is released before its folder moves
        target.commit(tmp, new_manifest)
        committed, store = True, None
        drop_replaced(manifest, new_manifest, settings)
    finally:
        if store is not None:  # the build failed: a collection it made on a server goes too
            store.drop()
            store.close()
        if not committed:
            tmp.discard()
    stats.seconds = time.perf_counter() - t0
    return stats
