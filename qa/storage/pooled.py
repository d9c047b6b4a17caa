"""The build's embedding when passages are pooled from article windows (qa.embedders.windows).

With an embedder that gives token states (the ONNX backends) on the local engine, a build reads
each article once, in windows, instead of embedding each passage behind its title line: the
passage and sentence vectors are pooled from those windows (TIME's `qa index`: 59.6 -> 41.3 s on
two cores, bench/RESULTS.md). A passage's vector then depends on its article's whole text, so its embedding
key names the article's text, the title line, the window length and the passage's span
(`window_keys`): an unchanged article keeps its vectors, a changed one is read again whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from qa.embedders.windows import ArticleText, pool_articles
from qa.hashing import content_hash
from qa.settings import Settings
from qa.storage.progress import Progress
from qa.storage.writer import BuildContent
from qa.text.sentences import split_sentences
from qa.types import Article, Passage

WINDOW_RECIPE = "windows-2"  # in every key: bump when the windows or the pooling change
SHARD_PASSAGES = 256  # passages pooled (and saved as one shard) at a time

SaveShard = Callable[[Path, int, list[str], np.ndarray, str], None]


def uses_windows(embedder, settings: Settings) -> bool:
    """Whether a build pools passages from article windows: asked for (`settings.window_tokens`
    > 0), on the local engine, with an embedder that gives token states."""
    return settings.window_tokens > 0 and settings.engine == "local" and hasattr(embedder, "token_states")


def window_keys(passages: list[Passage], by_id: dict[str, Article], titles: dict[str, str],
                fingerprint: str, settings: Settings) -> list[str]:
    """Each passage's embedding key: the model, the recipe, the window length, its article's title
    line and body, and its span."""
    article_key: dict[str, str] = {}
    keys = []
    for p in passages:
        base = article_key.get(p.doc_id)
        if base is None:
            base = article_key[p.doc_id] = content_hash(fingerprint, WINDOW_RECIPE, str(settings.window_tokens),
                                                        titles[p.doc_id], by_id[p.doc_id].body)
        keys.append(content_hash(base, str(p.char_start), str(p.char_end)))
    return keys


@dataclass(frozen=True)
class WindowInputs:
    """What reading a build's articles in windows needs, gathered once per build: each article,
    its title line and where its passages start."""

    articles: dict[str, Article]
    titles: dict[str, str]
    passage_starts: dict[str, list[int]]


def window_inputs(articles: list[Article], passages: list[Passage], titles: dict[str, str]) -> WindowInputs:
    starts: dict[str, list[int]] = {a.doc_id: [] for a in articles}
    for p in passages:
        starts[p.doc_id].append(p.char_start)
    return WindowInputs({a.doc_id: a for a in articles}, titles, starts)


def embed_windows(embedder, content: BuildContent, inputs: WindowInputs, rows: list[int], window_tokens: int,
                  partial: Path, fingerprint: str, save: SaveShard, progress: Progress | None) -> int:
    """Pool the passage rows `rows` (and, in context, their sentences) into `content`, reading
    their articles in windows; every `SHARD_PASSAGES` passages are saved as a shard as soon as
    they are done. Returns how many sentence vectors were made."""
    by_article: dict[str, list[int]] = {}
    for i in rows:
        by_article.setdefault(content.passages[i].doc_id, []).append(i)
    made, done, n_shard = 0, 0, 0
    batch: list[str] = []
    if progress and rows:
        progress(0, len(rows))
    for k, doc_id in enumerate(by_article):
        batch.append(doc_id)
        size = sum(len(by_article[d]) for d in batch)
        if size < SHARD_PASSAGES and k + 1 < len(by_article):
            continue
        made += _pool_batch(embedder, content, inputs, {d: by_article[d] for d in batch},
                            window_tokens, partial, n_shard, fingerprint, save)
        done, n_shard, batch = done + size, n_shard + 1, []
        if progress:
            progress(done, len(rows))
    return made


def _pool_batch(embedder, content: BuildContent, inputs: WindowInputs, batch: dict[str, list[int]],
                window_tokens: int, partial: Path, n_shard: int, fingerprint: str, save: SaveShard) -> int:
    """Pool one shard's articles; returns the sentence vectors made. A sentence shared by two
    overlapping passages is pooled once (it is read once) and given to both rows."""
    plan = content.plan if content.in_context else None
    items, p_rows, span_rows, span_pick = [], [], [], []
    offset = 0
    for doc_id, prows in batch.items():
        body = inputs.articles[doc_id].body
        spans: list[tuple[int, int]] = []  # body span of each sentence row, in plan order
        if plan is not None:
            for i in prows:
                start = content.passages[i].char_start
                for r in plan.rows(i):
                    s, e, _ = plan.entries[r]
                    spans.append((start + int(s), start + int(e)))
                    span_rows.append(r)
        unique = sorted(set(spans))  # ascending, as pooling wants
        index = {span: offset + k for k, span in enumerate(unique)}
        span_pick.extend(index[span] for span in spans)
        offset += len(unique)
        items.append(ArticleText(inputs.titles[doc_id], body, inputs.passage_starts[doc_id],
                                 [s for s, _ in split_sentences(body)],
                                 [(content.passages[i].char_start, content.passages[i].char_end) for i in prows],
                                 unique))
        p_rows.extend(prows)
    pvecs, svecs = pool_articles(embedder, items, window_tokens)
    content.vectors[p_rows] = pvecs
    keys = [content.keys[i] for i in p_rows]
    out = [pvecs]
    if plan is not None and content.span_vectors is not None and span_rows:
        picked = svecs[np.asarray(span_pick, dtype=np.int64)]
        content.span_vectors[span_rows] = picked
        keys += [plan.keys[r] for r in span_rows]
        out.append(picked)
    save(partial, n_shard, keys, np.vstack(out), fingerprint)
    return len(span_rows)
