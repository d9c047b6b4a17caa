"""Build or update an index folder from articles, embedding only what is new.

Each passage's embedding key is a hash of the model weights and the exact text embedded, so an
unchanged article is never embedded twice: vectors come from the previous index, or from the
shards an interrupted build left in `index/.partial/`, and only the rest goes to the model.

The rest is embedded in groups of whole articles, in article order, through one seam
(`embed_articles`); a long build commits in steps between groups (qa.storage.steps), so the
index answers while it builds, and qa.storage.writer writes each commit.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from qa.text.chunking import chunk_articles
from qa.settings import FORMAT_VERSION, Settings
from qa.embedders.base import Embedder
from qa.embedders.engines import ENGINES
from qa.errors import IndexWriteError, QAError
from qa.storage.vector_stores import spec_matches
from qa.storage.tables import iter_records
from qa.storage.sentence_vectors import (SentenceCache, SentencePlan, plan_in_context, plan_sentences,
                                         reuse_spans)
from qa.storage.folder import IndexFolder
from qa.storage.progress import BuildProgress, Progress
from qa.storage.pooled import (WINDOW_RECIPE, WindowInputs, embed_windows, uses_windows, window_inputs,
                               window_keys)
from qa.storage.steps import StepSchedule, embed_in_steps, embedding_groups, group_progress
from qa.storage.writer import BuildContent, BuildWriter
from qa.hashing import content_hash
from qa.ingest.web import is_url
from qa.types import Article, Passage

SHARD_SIZE = 256
CHUNK_SLICE = 512  # articles chunked between two progress updates


@dataclass
class BuildStats:
    """What one `index` run did."""

    articles: int = 0
    passages: int = 0
    embedded: int = 0
    reused: int = 0
    sentences_embedded: int = 0  # distinct highlighter sentences embedded on their own
    sentences_in_context: int = 0  # sentence vectors pooled from the passages' forward pass
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    up_to_date: bool = False
    resumed: int = 0  # articles the previous index (a build cut short) had not embedded yet
    steps: int = 0  # commits made while embedding (qa.storage.steps), before the final one
    first_step_seconds: float | None = None  # from the start until the first step was committed
    seconds: float = 0.0
    upgraded_from: int | None = None  # the format version of the index this build replaced, if older
    stages: dict[str, float] = field(default_factory=dict)  # wall seconds per stage (the profile)

    @contextmanager
    def stage(self, name: str):
        """Time a stage of the build into `stages[name]` (added up when it runs again)."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - t



def title_line(article: Article, embedder: Embedder, settings: Settings) -> str:
    """The (truncated) title the model reads before an article's text ("" when titles are off)."""
    if settings.embed_title and article.title:
        return embedder.truncate(article.title, settings.title_tokens)
    return ""


def titled(line: str, text: str) -> str:
    """`text` behind its title line and a newline (as it is when the line is "")."""
    return f"{line}\n{text}" if line else text


def embed_text(passage: Passage, article: Article, embedder: Embedder, settings: Settings) -> str:
    """What the model sees of a passage embedded on its own: the title line, a newline, the text."""
    return titled(title_line(article, embedder, settings), passage.text)


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
            # a build cut short between its steps: its pending rows hold no vector yet
            pending = set(np.load(target.pending_file, allow_pickle=False).tolist()) \
                if manifest.get("pending") else set()
            if len(keys) == len(vecs):
                cache.update((k, v) for i, (k, v) in enumerate(zip(keys, vecs)) if i not in pending)
            if sentences:
                stored = SentenceCache(target, dim)
        hashes = {a["doc_id"]: a.get("content_hash", "") for a in iter_records(target.articles_file)}
    except (QAError, OSError, ValueError, KeyError):
        pass  # no usable previous index: everything is embedded
    partial = target.partial_dir
    for meta in sorted(partial.rglob("shard-*.json")) if partial.exists() else []:  # a folder per group
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
    """How a source is recorded: a URL as given (what ingest reads as a URL, `is_url`), a file or
    folder as its absolute path."""
    return path.strip() if is_url(path) else str(Path(path).resolve())


def add_sources(paths: list[str | Path]) -> Sources:
    """A `Sources` change that records `paths` beside the recorded ones, each once; a path inside
    a recorded folder is already covered."""
    def change(old: list[str]) -> list[str]:
        out = list(old)
        for key in map(source_key, paths):
            inside = not is_url(key) and any(Path(o) in Path(key).parents for o in out if not is_url(o))
            if key not in out and not inside:
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
                progress: Progress | None = None, sources: list[str | Path] | Sources | None = None,
                on_step: Callable[[int, int], None] | None = None,
                clock: Callable[[], float] | None = None) -> BuildStats:
    """Make the index at `target` hold exactly `articles`, embedding only new passages.

    Args:
        articles: the whole collection (articles absent here are removed from the index), or a
            change applied to the folder's current articles read under the write lock, so that
            concurrent writers (the UI, a `qa index` run) never revert each other.
        target: the index folder.
        embedder: the model; its weights hash is recorded and keys the embedding cache.
        settings: chunking and model settings (defaults from `Settings`).
        rebuild: ignore the previous index and shards and embed everything.
        progress: called with (done, total) over the whole build (qa.storage.progress: one unit
            per passage embedded, chunking and writing weighted by their share of a build).
        sources: the files, folders and URLs the articles were read from, recorded in the
            manifest so that `qa index` with no path reads them again (a list replaces the
            recorded ones, a callable changes them under the lock, None keeps them).
        on_step: called with (articles still to embed, articles) after each step commit of a
            long build (qa.storage.steps): from the first one on, every article is searchable
            by keywords and the embedded ones by meaning too.
        clock: the steps' clock in seconds (default `time.monotonic`; tests pass a fake one).

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
            return _build(articles, target, embedder, settings, rebuild, progress, t0, sources, on_step, clock)
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise IndexWriteError(f"no space left on the disk while writing the index at {target} "
                              f"({e.filename or 'a file'}); the previous index is unchanged and still "
                              f"loads. Free some space and run `qa index` again (finished embeddings "
                              f"are kept and reused)") from None


def _build(articles: list[Article] | Change, target: IndexFolder, embedder: Embedder, settings: Settings,
           rebuild: bool, progress: Progress | None, t0: float,
           sources: list[str | Path] | Sources | None, on_step: Callable[[int, int], None] | None,
           clock: Callable[[], float] | None) -> BuildStats:
    """The body of `build_index`, run under the folder's write lock."""
    fingerprint, dim = embedder.fingerprint(), embedder.dim
    if callable(articles):
        articles = articles(current_articles(target))
    recorded = recorded_sources(target)
    if sources is not None:
        recorded = sources(recorded) if callable(sources) else [source_key(p) for p in sources]
    stats = BuildStats(articles=len(articles))
    with stats.stage("previous index"):  # its vectors and saved shards, to reuse
        if rebuild:
            manifest, cache, old_hashes, stored = {}, {}, {}, SentenceCache(None, dim)
        else:
            manifest, cache, old_hashes, stored = _load_previous(target, fingerprint, dim,
                                                                 settings.sentence_vectors)
    new_hashes = {a.doc_id: a.content_hash for a in articles}
    stats.added = sorted(d for d in new_hashes if d not in old_hashes)
    stats.changed = sorted(d for d in new_hashes if d in old_hashes and old_hashes[d] != new_hashes[d])
    stats.removed = sorted(d for d in old_hashes if d not in new_hashes)
    pooling = WINDOW_RECIPE if uses_windows(embedder, settings) else None
    same_build = (manifest.get("format_version") == FORMAT_VERSION
                  and manifest.get("chunking") == settings.chunking()
                  and manifest.get("model", {}).get("pooling") == pooling
                  and manifest.get("model", {}).get("fingerprint") == fingerprint
                  and spec_matches(manifest, settings))
    stats.resumed = manifest.get("pending", {}).get("articles", 0)
    if manifest and manifest.get("format_version") != FORMAT_VERSION and not rebuild:
        stats.upgraded_from = manifest.get("format_version")
    if (not rebuild and same_build and not stats.resumed and not (stats.added or stats.changed or stats.removed)
            and list(old_hashes) == list(new_hashes) and manifest.get("sources", []) == recorded):
        stats.passages = stats.reused = manifest.get("counts", {}).get("passages", 0)
        stats.up_to_date = True
        stats.seconds = time.perf_counter() - t0
        return stats

    by_id = {a.doc_id: a for a in articles}
    bar = BuildProgress(progress, articles)
    with stats.stage("chunk"):  # sentence splitting and word-piece counts
        passages = []
        for start in range(0, len(articles), CHUNK_SLICE):
            passages += chunk_articles(articles[start:start + CHUNK_SLICE], embedder, settings)
            bar.chunked(min(1.0, (start + CHUNK_SLICE) / len(articles)))
        titles = {a.doc_id: title_line(a, embedder, settings) for a in articles}  # once per article
        texts = [titled(titles[p.doc_id], p.text) for p in passages]  # `embed_text` of each
        windows = None  # articles read in windows (qa.storage.pooled)
        if pooling:
            windows = window_inputs(articles, passages, titles)
            keys = window_keys(passages, by_id, titles, fingerprint, settings)
        else:
            keys = [content_hash(fingerprint, t) for t in texts]
    n = len(passages)
    # The highlighter's sentence vectors: pooled from each passage's own forward pass when the
    # embedder can (no second pass), else each distinct sentence embedded with the passages.
    in_context = settings.sentence_vectors and settings.engine == "local" and hasattr(embedder, "embed_spans")
    plan: SentencePlan | None = None
    if settings.sentence_vectors:
        plan = plan_in_context(passages, keys) if in_context else plan_sentences(passages, fingerprint)
        if not in_context:
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
    span_vectors = None
    if in_context:
        assert plan is not None
        span_vectors, todo = reuse_spans(plan, passages, fingerprint, cache, stored, todo, dim)
    cache.clear()
    stored = SentenceCache(None, dim)  # release the previous index's map
    stats.passages, stats.embedded = n, sum(1 for i in todo if i < n)
    stats.reused, stats.sentences_embedded = n - stats.embedded, len(todo) - stats.embedded
    partial = target.partial_dir
    if rebuild and partial.exists():
        shutil.rmtree(partial, ignore_errors=True)
    bar.to_embed(len({keys[i] for i in todo if i < n}) + (0 if in_context else
                                                           len({keys[i] for i in todo if i >= n}) // 3))
    content = BuildContent(articles, passages, keys, plan, in_context, vectors, span_vectors)
    job = EmbedJob(embedder, settings, fingerprint, content, texts,
                   [len(t) - len(p.text) for t, p in zip(texts, passages)] if in_context else [], windows)
    model = {"id": embedder.model_id, "fingerprint": fingerprint, "dim": dim,
             "max_tokens": embedder.max_tokens, "backend": getattr(embedder, "backend", None),
             **({"pooling": pooling} if pooling else {})}
    writer = BuildWriter(target, content, model, settings, recorded, manifest, stats)
    # the local engine embeds group by group (whole articles, in article order); another
    # engine (Ray) takes everything at once, so such a build commits once, at its end
    groups = embedding_groups(content, todo, settings.step_passages) if settings.engine == "local" else \
        [todo] if todo else []
    schedule = None
    if settings.step_seconds > 0 and settings.store == "faiss" and len(groups) > 1:
        schedule = StepSchedule(settings.step_seconds, clock or time.monotonic)
    progress_of = group_progress(content, groups, bar)

    def embed(g: int, rows: list[int]) -> None:
        with stats.stage("embed"):  # tokenising and the model, shards saved as they finish
            stats.sentences_in_context += _embed_group(job, rows, target.partial_dir / f"group-{g:06d}",
                                                       progress_of(g))

    def step(pending: np.ndarray) -> None:
        committed = writer.commit(pending)
        stats.steps += 1
        if stats.first_step_seconds is None:
            stats.first_step_seconds = time.perf_counter() - t0
        if on_step:
            on_step(committed["pending"]["articles"], len(articles))

    embed_in_steps(groups, embed, step, schedule)
    writer.commit(bar=bar)
    stats.seconds = time.perf_counter() - t0
    return stats


@dataclass
class EmbedJob:
    """What the embedding of one build reads and fills.

    Attributes:
        embedder, settings, fingerprint: the model, the build's settings, the weights' hash.
        content: the build (its `vectors` and `span_vectors` are filled in place).
        texts: what the model sees for each text row of `content.keys` (`embed_text`).
        prefix: per passage, the characters before its text in `texts` (the title line), for
            sentence spans pooled in context; [] otherwise.
        windows: what reading the articles in windows needs (qa.storage.pooled), else None.
        first: embedding key -> the row embedded for it in this run (a text seen again in a
            later group takes that row's vectors).
    """

    embedder: Embedder
    settings: Settings
    fingerprint: str
    content: BuildContent
    texts: list[str]
    prefix: list[int]
    windows: WindowInputs | None = None
    first: dict[str, int] = field(default_factory=dict)


def embed_articles(job: EmbedJob, rows: list[int], partial: Path, progress: Progress | None) -> int:
    """The embedding seam: embed the text rows `rows`, those of a group of whole articles (in
    article order) still to embed, into `job.content`, saving their shards in `partial` as soon
    as each is done.

    `rows` are the group's passages and, when sentences are embedded on their own, the sentence
    texts first met in them. Their passage vectors go to `content.vectors[rows]`; their sentence
    vectors pooled in context to `content.span_vectors` (the plan's rows of those passages), or,
    for sentences embedded on their own, to `content.vectors` like passages.

    Returns:
        How many sentence vectors were pooled in context.
    """
    c = job.content
    if job.windows is not None:
        return embed_windows(job.embedder, c, job.windows, rows, job.settings.window_tokens, partial,
                             job.fingerprint, _write_shard, progress)
    if c.in_context:
        assert c.plan is not None and c.span_vectors is not None
        return _embed_in_context(job.embedder, job.texts, c.keys, job.prefix, c.plan, rows, c.vectors,
                                 c.span_vectors, partial, job.fingerprint, progress)
    _embed_texts(job.embedder, job.settings, job.texts, c.keys, rows, c.vectors, partial, job.fingerprint,
                 progress)
    return 0


def _embed_group(job: EmbedJob, rows: list[int], partial: Path, progress: Progress | None) -> int:
    """`embed_articles` for the rows whose text no earlier group embedded; the others take the
    vectors of that group's row (one text, one embedding per run). Returns sentence vectors pooled."""
    c = job.content
    fresh, again = [], []
    for i in rows:
        j = job.first.get(c.keys[i])
        if j is None:
            fresh.append(i)
        else:
            again.append((i, j))
    for i in fresh:
        job.first.setdefault(c.keys[i], i)
    made = embed_articles(job, fresh, partial, progress) if fresh else 0
    for i, j in again:
        c.vectors[i] = c.vectors[j]
        if c.in_context:
            assert c.plan is not None and c.span_vectors is not None
            c.span_vectors[list(c.plan.rows(i))] = c.span_vectors[list(c.plan.rows(j))]
    return made


def _embed_texts(embedder: Embedder, settings: Settings, texts: list[str], keys: list[str], todo: list[int],
                 vectors: np.ndarray, partial: Path, fingerprint: str, progress: Progress | None) -> None:
    """Embed the `todo` rows of `texts` into `vectors` through the settings' engine, each distinct
    key once, saving every shard as soon as it is done."""
    shards: list[list[int]] = []
    first: dict[str, int] = {}
    for start in range(0, len(todo), SHARD_SIZE):
        shards.append([i for i in todo[start:start + SHARD_SIZE] if first.setdefault(keys[i], i) == i])
    if progress and todo:
        progress(0, len(todo))  # the bar (and its clock) starts before the first shard
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


def _embed_in_context(embedder, texts: list[str], keys: list[str], prefix: list[int], plan: SentencePlan,
                      todo: list[int], vectors: np.ndarray, span_vectors: np.ndarray, partial: Path,
                      fingerprint: str, progress: Progress | None) -> int:
    """Embed the `todo` passages and pool their sentences' vectors in the same forward pass
    (`embedder.embed_spans`); each shard's passage and sentence vectors are saved together as
    soon as it is done. Returns how many sentence vectors were made."""
    first: dict[str, int] = {}
    unique = [i for i in todo if first.setdefault(keys[i], i) == i]
    made = 0
    if progress and unique:
        progress(0, len(unique))  # the bar (and its clock) starts before the first shard
    for n_shard, start in enumerate(range(0, len(unique), SHARD_SIZE)):
        rows = unique[start:start + SHARD_SIZE]
        spans = [[(int(s) + prefix[i], int(e) + prefix[i])
                  for s, e, _ in plan.entries[plan.offsets[i]:plan.offsets[i + 1]]] for i in rows]
        pvecs, svecs = embedder.embed_spans([texts[i] for i in rows], spans)
        vectors[rows] = pvecs
        span_rows = [r for i in rows for r in plan.rows(i)]
        span_vectors[span_rows] = svecs
        made += len(span_rows)
        _write_shard(partial, n_shard, [keys[i] for i in rows] + [plan.keys[r] for r in span_rows],
                     np.vstack([pvecs, svecs]), fingerprint)
        if progress:
            progress(start + len(rows), len(unique))
    for i in todo:  # a passage text seen twice (the same sentences): the first one's vectors
        j = first[keys[i]]
        if j != i:
            vectors[i] = vectors[j]
            span_vectors[list(plan.rows(i))] = span_vectors[list(plan.rows(j))]
    return made
