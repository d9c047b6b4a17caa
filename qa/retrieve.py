"""search_batch(questions, k) -> [[Hit]]: retrieve, fuse, rerank, cite.

Configurations (the `--config` names of `qa ask` and `qa eval`):
    dense         FAISS inner product over MiniLM embeddings
    bm25          bm25s over the same passages
    hybrid        reciprocal rank fusion of dense and bm25 (the default)
    hybrid-score  min-max normalised score fusion of dense and bm25
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import numpy as np

from .cite import highlight_span
from .errors import BadInput
from .fuse import rrf, score_fusion
from .types import Hit

CONFIGS = ("hybrid", "dense", "bm25", "hybrid-score")
MAX_QUESTION_CHARS = 4000
MAX_K = 1000


@dataclass
class Candidates:
    """Candidate passage rows for one question with every component score."""

    rows: np.ndarray
    dense: np.ndarray
    bm25: np.ndarray
    fused: np.ndarray


def clean_question(question: object) -> str:
    """A question fit to search: a string, control characters removed, not blank, not huge.

    Raises:
        BadInput: not a string, empty after cleaning, or longer than MAX_QUESTION_CHARS.
    """
    if not isinstance(question, str):
        raise BadInput(f"question must be a string, got {type(question).__name__}")
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\t" else ch
                      for ch in question)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if not cleaned:
        raise BadInput("question is empty; type a question such as "
                       "\"What did Russia propose on decarbonization?\"")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise BadInput(f"question is {len(cleaned)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return cleaned


def check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise BadInput(f"k must be a whole number, got {k!r}")
    if k < 1:
        raise BadInput(f"k must be at least 1, got {k}")
    if k > MAX_K:
        raise BadInput(f"k must be at most {MAX_K}, got {k}")
    return int(k)


def check_config(config: str) -> str:
    if config not in CONFIGS:
        raise BadInput(f"unknown configuration {config!r}; choose one of {', '.join(CONFIGS)}")
    return config


def parse_iso_date(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise BadInput(f"--{name} must be an ISO date like 2021-06-11, got {value!r}") from None


def filter_rows(index, source: str | None, since: str | None, until: str | None) -> np.ndarray | None:
    """Passage rows allowed by the metadata filters, or None when there is no filter.

    Raises:
        BadInput: the filters match no article (the message says which filter).
    """
    since, until = parse_iso_date(since, "since"), parse_iso_date(until, "until")
    src = (source or "").strip().lower()
    if not (src or since or until):
        return None

    def keep(a) -> bool:
        if src and src not in a.source.lower():
            return False
        if (since or until) and not a.date:
            return False
        return not ((since and a.date < since) or (until and a.date > until))

    rows = index.allowed_rows(keep)
    if len(rows) == 0:
        what = ", ".join(f"{n}={v!r}" for n, v in (("source", source), ("since", since), ("until", until)) if v)
        sources = sorted({a.source for a in index.articles.values() if a.source})
        raise BadInput(f"no article matches {what} (sources here: {', '.join(sources) or 'none'})")
    return rows


def candidates_batch(index, questions: list[str], config: str, depth: int,
                     allowed: np.ndarray | None) -> list[Candidates]:
    """Retrieve and fuse: candidate rows per question, best first, with component scores."""
    n = len(index.passages)
    depth = max(1, min(depth, n))
    use_dense = config != "bm25"
    use_sparse = config != "dense"
    if use_dense:
        qv = index.embedder.embed_batch(questions)
        d_scores, d_ids = index.dense.search_batch(qv, depth, allowed)
    if use_sparse:
        s_scores, s_ids = index.sparse.search_batch(questions, depth, allowed)
    out = []
    for qi, q in enumerate(questions):
        dense_list = [(int(i), float(s)) for i, s in zip(d_ids[qi], d_scores[qi]) if i >= 0] if use_dense else []
        bm25_list = [(int(i), float(s)) for i, s in zip(s_ids[qi], s_scores[qi]) if i >= 0] if use_sparse else []
        if config == "dense":
            fused = dense_list
        elif config == "bm25":
            fused = bm25_list
        elif config == "hybrid":
            fused = rrf([[i for i, _ in dense_list], [i for i, _ in bm25_list]], k=index.settings.rrf_k)
        else:
            fused = score_fusion([dense_list, bm25_list])
        rows = np.array([i for i, _ in fused], dtype=np.int64)
        dense_s = np.full(len(rows), np.nan, dtype=np.float32)
        bm25_s = np.full(len(rows), np.nan, dtype=np.float32)
        if use_dense:
            dmap = dict(dense_list)
            dense_s[:] = [dmap.get(int(r), np.nan) for r in rows]
        if use_sparse:
            bmap = dict(bm25_list)
            bm25_s[:] = [bmap.get(int(r), 0.0) for r in rows]
        out.append(Candidates(rows, dense_s, bm25_s, np.array([s for _, s in fused], dtype=np.float32)))
    return out


def search_batch(index, questions: list[str], k: int | None = None, config: str | None = None,
                 source: str | None = None, since: str | None = None, until: str | None = None,
                 candidates: int | None = None, highlight: bool = True) -> list[list[Hit]]:
    """Top-k cited hits for each question.

    Args:
        index: a loaded `qa.Index`.
        questions: the questions (each cleaned; blank or huge ones raise).
        k: hits per question (default `Settings.k`).
        config: one of CONFIGS (default `Settings.config`).
        source, since, until: article filters (source substring, ISO dates inclusive).
        candidates: depth of each retriever before fusion (default `Settings.candidates`).
        highlight: find the answer sentence of each hit.

    Returns:
        One list of `Hit` per question, best first; ranks start at 1.

    Raises:
        BadInput: a bad question, k, configuration or date, or filters that match nothing.
    """
    if isinstance(questions, str):
        raise BadInput("search_batch takes a list of questions; use search() for one")
    settings = index.settings
    k = check_k(settings.k if k is None else k)
    config = check_config(config or settings.config)
    cleaned = [clean_question(q) for q in questions]
    if not cleaned:
        return []
    with index._lock:
        allowed = filter_rows(index, source, since, until)
        depth = max(k, candidates or settings.candidates)
        results = []
        for q, cand in zip(cleaned, candidates_batch(index, cleaned, config, depth, allowed)):
            hits = []
            for rank, j in enumerate(range(min(k, len(cand.rows))), 1):
                p = index.passages[int(cand.rows[j])]
                art = index.articles[p.doc_id]
                scores = {"fused": float(cand.fused[j])}
                if not np.isnan(cand.dense[j]):
                    scores["dense"] = float(cand.dense[j])
                if not np.isnan(cand.bm25[j]):
                    scores["bm25"] = float(cand.bm25[j])
                span = highlight_span(q, p, index.sparse) if highlight else None
                hits.append(Hit(rank=rank, score=float(cand.fused[j]), passage=p, article=art,
                                scores=scores, highlight=span))
            results.append(hits)
        return results
