"""search_batch(snapshot, encoder, questions, k) -> [[Hit]]: one `Pipeline` object per retrieval
configuration (the registry `PIPELINES`), then rerank, group, highlight, cite.

Configurations (the `--config` names of `qa ask` and `qa eval`):
    hybrid-read    hybrid-rerank, then qa's reading model reads the best few (`ReaderReranker`,
                   `read_depth` in reader.json: 4; queries put as questions only). The default
                   (`Settings.config`): SQuAD dev and the TIME question sets rise, bench/RESULTS.md
    hybrid-rerank  hybrid, then the top candidates re-scored by `FeatureReranker` (no model;
                   the default without the reader's ~30 ms)
    hybrid         reciprocal rank fusion of dense and bm25
    dense          FAISS inner product over MiniLM embeddings
    bm25           bm25s over the same passages
    hybrid-score   min-max normalised score fusion of dense and bm25
Any configuration can be followed by a CrossEncoder with `reranker=PATH`. Adding a
configuration is one `PIPELINES.add(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.embedders.question_cache import QuestionEncoder
from qa.errors import BadInput
from qa.registry import Registry
from qa.search.distinct import cut, distinct_spans, more_in_article
from qa.search.filters import check_k, clean_question, select_rows
from qa.search.fuse import Fusion, fuse_rrf, fuse_scores, fuse_single
from qa.search.group import group_same_story
from qa.search.highlight import answer_in_sentence, highlight_spans
from qa.search.rerank import ANSWER_PARTS, get_reranker
from qa.storage.selection import Filter, Selection
from qa.storage.snapshot import IndexSnapshot
from qa.types import Hit

__all__ = ["CONFIGS", "PIPELINES", "Pipeline", "Candidates", "candidates_batch", "search_batch",
           "check_k", "clean_question"]


@dataclass(frozen=True)
class Pipeline:
    """One retrieval configuration: the retrievers that run (in fusion order), how their lists
    fuse, and the reranker that follows by default (a `qa.search.rerank.RERANKERS` name)."""

    name: str
    retrievers: tuple[str, ...]
    fuse: Fusion
    reranker: str | None = None

    @property
    def dense(self) -> bool:
        return "dense" in self.retrievers

    @property
    def bm25(self) -> bool:
        return "bm25" in self.retrievers


PIPELINES: Registry[Pipeline] = Registry("configuration")
for _p in (Pipeline("hybrid-read", ("dense", "bm25"), fuse_rrf, reranker="reader"),  # the default
           Pipeline("hybrid-rerank", ("dense", "bm25"), fuse_rrf, reranker="features"),
           Pipeline("hybrid", ("dense", "bm25"), fuse_rrf),
           Pipeline("dense", ("dense",), fuse_single),
           Pipeline("bm25", ("bm25",), fuse_single),
           Pipeline("hybrid-score", ("dense", "bm25"), fuse_scores)):
    PIPELINES.add(_p.name, _p)
CONFIGS = PIPELINES.names()


@dataclass
class Candidates:
    """Candidate passage rows for one question, best first, with every component score."""

    rows: np.ndarray
    dense: np.ndarray
    bm25: np.ndarray
    fused: np.ndarray
    rerank: np.ndarray | None = None
    parts: dict[str, np.ndarray] | None = None  # a reranker's component scores (the reader's)

    @property
    def final(self) -> np.ndarray:
        return self.rerank if self.rerank is not None else self.fused

    def reorder(self, order: np.ndarray) -> "Candidates":
        return Candidates(self.rows[order], self.dense[order], self.bm25[order], self.fused[order],
                          None if self.rerank is None else self.rerank[order],
                          None if self.parts is None else {k: v[order] for k, v in self.parts.items()})


def _pairs(ids: np.ndarray, scores: np.ndarray) -> list[tuple[int, float]]:
    return [(int(i), float(s)) for i, s in zip(ids, scores) if i >= 0]


def candidates_batch(snap: IndexSnapshot, pipeline: Pipeline, questions: list[str], depth: int,
                     allowed: Selection | None, qvecs: np.ndarray | None = None) -> list[Candidates]:
    """Retrieve and fuse: candidate rows per question with exact dense and BM25 scores."""
    depth = max(1, min(depth, len(snap.passages)))
    if pipeline.dense:
        d_scores, d_ids = snap.dense.search_batch(qvecs, depth, allowed)
    # Passage BM25 of every passage, once per question: it ranks (bm25 retriever) and it is the
    # candidates' bm25 score that the reranker and the hit's `scores` use.
    bm25_full = [snap.sparse.scores(q) for q in questions]
    if pipeline.bm25:
        s_scores, s_ids = snap.sparse.top_k(bm25_full, depth, allowed)
    out = []
    for qi in range(len(questions)):
        lists = {"dense": _pairs(d_ids[qi], d_scores[qi]) if pipeline.dense else [],
                 "bm25": _pairs(s_ids[qi], s_scores[qi]) if pipeline.bm25 else []}
        fused = pipeline.fuse([lists[r] for r in pipeline.retrievers], snap.settings.rrf_k)
        rows = np.array([i for i, _ in fused], dtype=np.int64)
        # Exact component scores for every candidate, whichever retriever found it.
        if qvecs is not None and len(rows):
            dense_s = np.asarray(snap.vectors[rows] @ qvecs[qi], dtype=np.float32)
            dense_s[snap.pending_mask(rows)] = np.nan  # not embedded yet: found by keywords, no cosine
        else:
            dense_s = np.full(len(rows), np.nan, dtype=np.float32)
        bm25_s = bm25_full[qi][rows] if len(rows) else np.zeros(0, np.float32)
        out.append(Candidates(rows, dense_s, bm25_s, np.array([s for _, s in fused], dtype=np.float32)))
    return out


def rerank_candidates(snap: IndexSnapshot, question: str, qvec: np.ndarray, cand: Candidates,
                      reranker, depth: int) -> Candidates:
    """Re-score the top `depth` candidates; the rest keep their order below them."""
    n = min(depth, len(cand.rows))
    if reranker is None or n == 0:
        return cand
    got = reranker.rerank(snap, question, qvec, cand.rows[:n], dense=cand.dense[:n], bm25=cand.bm25[:n])
    order = np.concatenate([np.argsort(-got.scores, kind="stable"), np.arange(n, len(cand.rows))])
    rr = np.full(len(cand.rows), -np.inf, dtype=np.float32)
    rr[:n] = got.scores
    parts = {}
    for name, values in got.parts.items():
        parts[name] = np.full(len(cand.rows), np.nan, dtype=np.float32)
        parts[name][:n] = values
    cand = Candidates(cand.rows, cand.dense, cand.bm25, cand.fused, rr, parts or None)
    return cand.reorder(order)


def answer_span(cand: Candidates, j: int, full, shown) -> tuple[int, int] | None:
    """Body offsets of the answer the reading model pointed at in candidate `j` (offsets in the
    `full` passage it read), when it read it and the answer lies inside the part of the passage
    the result shows (`shown`: the passage, or its cut by distinct evidence)."""
    parts = cand.parts or {}
    if not all(name in parts for name in ANSWER_PARTS):
        return None
    s, e = (float(parts[name][j]) for name in ANSWER_PARTS)
    if not (np.isfinite(s) and np.isfinite(e)):
        return None
    start, end = full.char_start + int(s), full.char_start + int(e)
    return (start, end) if shown.char_start <= start < end <= shown.char_end else None


def _hit(snap: IndexSnapshot, cand: Candidates, j: int, rank: int, passage, span, others,
         n_more: int, answer: tuple[int, int] | None = None) -> Hit:
    scores = {"bm25": float(cand.bm25[j]), "fused": float(cand.fused[j])}
    if np.isfinite(cand.dense[j]):
        scores["dense"] = float(cand.dense[j])
    if cand.rerank is not None and np.isfinite(cand.rerank[j]):
        scores["rerank"] = float(cand.rerank[j])
    for name, values in (cand.parts or {}).items():
        if name not in ANSWER_PARTS and np.isfinite(values[j]):
            scores[name] = float(values[j])
    return Hit(rank=rank, score=float(cand.final[j]), passage=passage,
               article=snap.articles[passage.doc_id], scores=scores, highlight=span,
               also_reported_by=tuple(others), more_in_article=n_more, answer=answer)


def search_batch(snap: IndexSnapshot, encoder: QuestionEncoder, questions: list[str],
                 k: int | None = None, config: str | None = None, source: str | None = None,
                 since: str | None = None, until: str | None = None, candidates: int | None = None,
                 highlight: bool = True, group: bool | None = None, reranker: str | None = None,
                 rerank_depth: int | None = None) -> list[list[Hit]]:
    """Top-k cited hits for each question.

    Args:
        snap: the loaded build to search.
        encoder: the question encoder (its model built `snap`).
        questions: the questions (each cleaned; blank or huge ones raise).
        k: hits per question (default `Settings.k`).
        config: a `PIPELINES` name (default `Settings.config`).
        source, since, until: article filters (source substring, ISO dates inclusive).
        candidates: depth of each retriever before fusion (default `Settings.candidates`).
        highlight: find the answer sentence of each hit (dot products with the index's sentence
            vectors; an index built without them embeds the hits' sentences now).
        group: collapse passages of other articles that report the same thing into
            `also_reported_by` (default `Settings.group`).
        reranker: "reader", "features", or the folder of a local CrossEncoder, applied after fusion.
        rerank_depth: how many fused candidates the reranker re-scores.

    Returns:
        One list of `Hit` per question, best first; ranks start at 1.

    Raises:
        BadInput: a bad question, k, configuration, date or reranker, or filters that match nothing.
    """
    if isinstance(questions, str):
        raise BadInput("search_batch takes a list of questions; use search() for one")
    settings = snap.settings
    k = check_k(settings.k if k is None else k)
    if not config and settings.config not in PIPELINES:
        raise BadInput(f"the default configuration {settings.config!r} (QA_CONFIG) is unknown; "
                       f"set QA_CONFIG to one of {', '.join(CONFIGS)}, or unset it")
    pipeline = PIPELINES.get(config or settings.config)
    group = settings.group if group is None else group
    cleaned = [clean_question(q) for q in questions]
    if not cleaned:
        return []
    rr = get_reranker(reranker or pipeline.reranker)
    rr_depth = rerank_depth or settings.rerank_depth
    allowed = select_rows(snap, Filter.of(source, since, until))
    depth = max(k * (3 if group else 1), candidates or settings.candidates, rr_depth if rr else 0)
    # bm25 alone needs no question vector unless a later stage uses it (honest bm25 latency)
    need_vec = pipeline.dense or highlight or group or rr is not None
    qvecs = encoder.encode(cleaned) if need_vec else None
    results = []
    for qi, cand in enumerate(candidates_batch(snap, pipeline, cleaned, depth, allowed, qvecs)):
        q, qv = cleaned[qi], (qvecs[qi] if qvecs is not None else None)
        cand = rerank_candidates(snap, q, qv, cand, rr, rr_depth)
        articles = snap.passage_article[cand.rows] if len(cand.rows) else np.zeros(0, np.int64)
        # no overlapping text twice (a passage overlapping a better one shows only its own
        # sentences); without grouping only the first k distinct are ever shown
        keep, shown = distinct_spans(snap.passages, cand.rows, None if group else k)
        cand = cand.reorder(keep)
        picks = group_same_story(snap, cand.rows, k, settings.same_story_threshold) if group \
            else [(j, []) for j in range(min(k, len(cand.rows)))]
        rows = [int(cand.rows[j]) for j, _ in picks]
        more = more_in_article(articles, snap.passage_article[rows]) if rows else []
        full = [snap.passages[r] for r in rows]
        passages = [cut(p, shown[j]) for p, (j, _) in zip(full, picks)]
        answers = [answer_span(cand, j, f, p) for (j, _), f, p in zip(picks, full, passages)]
        spans = highlight_spans(q, qv, full, encoder.embedder, snap.sparse, cache=encoder.sentences,
                                store=snap.sentences, rows=rows,
                                within=[(p.char_start, p.char_end) for p in passages],
                                answers=answers) \
            if highlight else [None] * len(passages)
        # the answer ends where its sentence (the highlight) ends: 30 word pieces can run past it
        answers = [answer_in_sentence(a, p, sp) for a, p, sp in zip(answers, passages, spans)]
        results.append([_hit(snap, cand, j, rank, p, span, others, n_more, a)
                        for rank, ((j, others), p, span, n_more, a)
                        in enumerate(zip(picks, passages, spans, more, answers), 1)])
    return results
