"""search_batch(questions, k) -> [[Hit]]: retrieve, fuse, rerank, group, highlight.

Configurations (the `--config` names of `qa ask` and `qa eval`):
    dense          FAISS inner product over MiniLM embeddings
    bm25           bm25s over the same passages
    hybrid-rerank  hybrid, then the top candidates re-scored by `FeatureReranker` (the default)
    hybrid         reciprocal rank fusion of dense and bm25
    hybrid-score   min-max normalised score fusion of dense and bm25
Any configuration can be followed by a CrossEncoder with `reranker=PATH`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.errors import BadInput
from qa.search.fuse import rrf, score_fusion
from qa.search.group import group_same_story
from qa.search.highlight import highlight_spans
from qa.search.rerank import get_reranker
from qa.types import Hit
from qa.search.filters import check_config, check_k, clean_question, filter_rows

CONFIGS = ("hybrid-rerank", "hybrid", "dense", "bm25", "hybrid-score")  # the default first
_RETRIEVERS = {"dense": ("dense",), "bm25": ("bm25",)}
_RERANK = {"hybrid-rerank": "features"}

__all__ = ["CONFIGS", "Candidates", "candidates_batch", "search_batch", "check_k", "clean_question"]


@dataclass
class Candidates:
    """Candidate passage rows for one question, best first, with every component score."""

    rows: np.ndarray
    dense: np.ndarray
    bm25: np.ndarray
    fused: np.ndarray
    rerank: np.ndarray | None = None

    @property
    def final(self) -> np.ndarray:
        return self.rerank if self.rerank is not None else self.fused

    def reorder(self, order: np.ndarray) -> "Candidates":
        return Candidates(self.rows[order], self.dense[order], self.bm25[order], self.fused[order],
                          None if self.rerank is None else self.rerank[order])


def candidates_batch(index, questions: list[str], config: str, depth: int,
                     allowed: np.ndarray | None, qvecs: np.ndarray | None = None) -> list[Candidates]:
    """Retrieve and fuse: candidate rows per question with exact dense and BM25 scores."""
    depth = max(1, min(depth, len(index.passages)))
    retrievers = _RETRIEVERS.get(config, ("dense", "bm25"))
    if "dense" in retrievers:
        d_scores, d_ids = index.dense.search_batch(qvecs, depth, allowed)
    # Passage BM25 of every passage, once per question: it ranks (bm25 retriever) and it is the
    # candidates' bm25 score that the reranker and the hit's `scores` use.
    bm25_full = [index.sparse.scores(q) for q in questions]
    if "bm25" in retrievers:
        s_scores, s_ids = index.sparse.top_k(bm25_full, depth, allowed)
    out = []
    for qi, q in enumerate(questions):
        dense_list = [(int(i), float(s)) for i, s in zip(d_ids[qi], d_scores[qi]) if i >= 0] \
            if "dense" in retrievers else []
        bm25_list = [(int(i), float(s)) for i, s in zip(s_ids[qi], s_scores[qi]) if i >= 0] \
            if "bm25" in retrievers else []
        if config == "dense":
            fused = dense_list
        elif config == "bm25":
            fused = bm25_list
        elif config == "hybrid-score":
            fused = score_fusion([dense_list, bm25_list])
        else:
            fused = rrf([[i for i, _ in dense_list], [i for i, _ in bm25_list]], k=index.settings.rrf_k)
        rows = np.array([i for i, _ in fused], dtype=np.int64)
        # Exact component scores for every candidate, whichever retriever found it.
        if qvecs is not None and len(rows):
            dense_s = np.asarray(index.vectors[rows] @ qvecs[qi], dtype=np.float32)
        else:
            dense_s = np.full(len(rows), np.nan, dtype=np.float32)
        bm25_s = bm25_full[qi][rows] if len(rows) else np.zeros(0, np.float32)
        out.append(Candidates(rows, dense_s, bm25_s, np.array([s for _, s in fused], dtype=np.float32)))
    return out


def rerank_candidates(index, question: str, qvec: np.ndarray, cand: Candidates, reranker,
                      depth: int) -> Candidates:
    """Re-score the top `depth` candidates; the rest keep their order below them."""
    n = min(depth, len(cand.rows))
    if reranker is None or n == 0:
        return cand
    scores = reranker.rerank(index, question, qvec, cand.rows[:n], dense=cand.dense[:n],
                             bm25=cand.bm25[:n])
    order = np.concatenate([np.argsort(-scores, kind="stable"), np.arange(n, len(cand.rows))])
    rr = np.full(len(cand.rows), -np.inf, dtype=np.float32)
    rr[:n] = scores
    cand = Candidates(cand.rows, cand.dense, cand.bm25, cand.fused, rr)
    return cand.reorder(order)


def search_batch(index, questions: list[str], k: int | None = None, config: str | None = None,
                 source: str | None = None, since: str | None = None, until: str | None = None,
                 candidates: int | None = None, highlight: bool = True, group: bool | None = None,
                 reranker: str | None = None, rerank_depth: int | None = None) -> list[list[Hit]]:
    """Top-k cited hits for each question.

    Args:
        index: a loaded `qa.Index`.
        questions: the questions (each cleaned; blank or huge ones raise).
        k: hits per question (default `Settings.k`).
        config: one of CONFIGS (default `Settings.config`).
        source, since, until: article filters (source substring, ISO dates inclusive).
        candidates: depth of each retriever before fusion (default `Settings.candidates`).
        highlight: find the answer sentence of each hit (dot products with the index's sentence
            vectors; an index built without them embeds the hits' sentences now).
        group: collapse passages of other articles that report the same thing into
            `also_reported_by` (default `Settings.group`).
        reranker: "features", or the folder of a local CrossEncoder, applied after fusion.
        rerank_depth: how many fused candidates the reranker re-scores.

    Returns:
        One list of `Hit` per question, best first; ranks start at 1.

    Raises:
        BadInput: a bad question, k, configuration, date or reranker, or filters that match nothing.
    """
    if isinstance(questions, str):
        raise BadInput("search_batch takes a list of questions; use search() for one")
    settings = index.settings
    k = check_k(settings.k if k is None else k)
    config = check_config(config or settings.config, CONFIGS)
    group = settings.group if group is None else group
    cleaned = [clean_question(q) for q in questions]
    if not cleaned:
        return []
    rr = get_reranker(reranker) if reranker else get_reranker(_RERANK.get(config))
    rr_depth = rerank_depth or settings.rerank_depth
    with index._lock:
        allowed = filter_rows(index, source, since, until)
        depth = max(k * (3 if group else 1), candidates or settings.candidates, rr_depth if rr else 0)
        # bm25 alone needs no question vector unless a later stage uses it (honest bm25 latency)
        need_vec = config != "bm25" or highlight or group or rr is not None
        qvecs = index.question_vectors(cleaned) if need_vec else None
        results = []
        for qi, cand in enumerate(candidates_batch(index, cleaned, config, depth, allowed, qvecs)):
            q, qv = cleaned[qi], (qvecs[qi] if qvecs is not None else None)
            cand = rerank_candidates(index, q, qv, cand, rr, rr_depth)
            picks = group_same_story(index, cand.rows, k, settings.same_story_threshold) if group \
                else [(j, []) for j in range(min(k, len(cand.rows)))]
            rows = [int(cand.rows[j]) for j, _ in picks]
            passages = [index.passages[r] for r in rows]
            spans = highlight_spans(q, qv, passages, index.embedder, index.sparse,
                                    cache=index.sentence_cache, store=index.sentences,
                                    rows=rows) if highlight else [None] * len(passages)
            hits = []
            for rank, ((j, others), p, span) in enumerate(zip(picks, passages, spans), 1):
                scores = {"bm25": float(cand.bm25[j]), "fused": float(cand.fused[j])}
                if np.isfinite(cand.dense[j]):
                    scores["dense"] = float(cand.dense[j])
                if cand.rerank is not None and np.isfinite(cand.rerank[j]):
                    scores["rerank"] = float(cand.rerank[j])
                hits.append(Hit(rank=rank, score=float(cand.final[j]), passage=p,
                                article=index.articles[p.doc_id], scores=scores, highlight=span,
                                also_reported_by=tuple(others)))
            results.append(hits)
        return results
