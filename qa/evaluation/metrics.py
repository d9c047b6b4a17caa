"""Retrieval metrics as pure functions over ranked lists: document IR metrics, answer-hit, latency percentiles.

Document level: a document's rank is the rank of its best passage, and the IR metrics (nDCG@10,
Recall@{1,5,10,100}, MRR@10, MAP@100) come from pytrec_eval (trec_eval's code) with the qrels as
given, graded or not. Passage level: answer-hit@{1,3,5,10} says whether a passage among the top
n contains an answer string (case-insensitive, whitespace-normalised).

Every metric function returns the aggregate and the per-question values. Running a question set
through an index is `qa.evaluation.runner`'s job.
"""

from __future__ import annotations

import numpy as np

from qa.types import Hit

DOC_CUTOFFS = (1, 5, 10, 100)
ANSWER_CUTOFFS = (1, 3, 5, 10)
CURVE_CUTOFFS = (1, 2, 3, 5, 10, 20, 30, 50, 100)
IR_METRICS = ("ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "map@100")
ANSWER_METRICS = tuple(f"answer_hit@{n}" for n in ANSWER_CUTOFFS)
_TREC_NAMES = {"ndcg_cut_10": "ndcg@10", "recall_1": "recall@1", "recall_5": "recall@5",
               "recall_10": "recall@10", "recall_100": "recall@100", "map_cut_100": "map@100"}


def normalize_text(text: str) -> str:
    """Case-folded text with every whitespace run as one space (how answers are matched)."""
    return " ".join(text.casefold().split())


def contains_answer(text: str, answers: tuple[str, ...] | list[str]) -> bool:
    """True when `text` contains one of `answers` (case-insensitive, whitespace-normalised)."""
    t = normalize_text(text)
    return any(normalize_text(a) in t for a in answers if a.strip())


def doc_ranking(hits: list[Hit]) -> list[tuple[str, float]]:
    """Documents in the order of their best passage, with that passage's score."""
    seen: dict[str, float] = {}
    for h in hits:
        seen.setdefault(h.passage.doc_id, float(h.score))
    return list(seen.items())


def trec_run(ranked: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """A pytrec_eval/TREC run whose scores reproduce the given order exactly.

    trec_eval sorts by score and breaks ties by document id, which would reorder documents with
    equal fused scores; a score of (n - position) keeps our ranking.
    """
    return {qid: {d: float(len(docs) - i) for i, d in enumerate(docs)} for qid, docs in ranked.items()}


def ir_metrics(qrels: dict[str, dict[str, int]], ranked: dict[str, list[str]],
               curve: tuple[int, ...] = ()) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Document-level IR metrics by pytrec_eval for every question with judgements.

    Args:
        qrels: {question id: {doc id: grade}}; questions without judgements are skipped.
        ranked: {question id: doc ids best first}; a judged question missing here scores 0.
        curve: extra recall cutoffs, reported as "recall@n" in the per-question values.

    Returns:
        (mean of each metric over judged questions, {question id: {metric: value}}).
    """
    import pytrec_eval

    qrels = {q: rels for q, rels in qrels.items() if rels}
    if not qrels:
        return {}, {}
    cutoffs = sorted(set(DOC_CUTOFFS) | set(curve))
    measures = {"ndcg_cut.10", "map_cut.100", "recall." + ",".join(map(str, cutoffs))}
    run = trec_run({q: ranked.get(q, []) for q in qrels})
    # pytrec_eval leaves out questions with an empty run; they score 0 below
    full = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate({q: r for q, r in run.items() if r})
    top10 = trec_run({q: ranked.get(q, [])[:10] for q in qrels})
    mrr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate({q: r for q, r in top10.items() if r})
    per_q: dict[str, dict[str, float]] = {}
    for q in qrels:
        values = full.get(q, {})
        row = {name: float(values.get(key, 0.0)) for key, name in _TREC_NAMES.items()}
        row.update({f"recall@{n}": float(values.get(f"recall_{n}", 0.0)) for n in cutoffs})
        row["mrr@10"] = float(mrr.get(q, {}).get("recip_rank", 0.0))
        per_q[q] = row
    names = list(per_q[next(iter(per_q))])
    return {m: float(np.mean([r[m] for r in per_q.values()])) for m in names}, per_q


def answer_metrics(passages: dict[str, list[str]], answers: dict[str, tuple[str, ...]],
                   cutoffs: tuple[int, ...] = ANSWER_CUTOFFS) -> tuple[dict[str, float], dict[str, dict]]:
    """answer-hit@n (an answering passage among the top n) for every question with answers.

    Returns:
        (mean answer-hit@n over those questions, {question id: {"answer_hit@n": 0/1,
        "first_answer_rank": rank or None}}).
    """
    per_q: dict[str, dict] = {}
    for q, ans in answers.items():
        if not ans:
            continue
        first = next((i for i, text in enumerate(passages.get(q, []), 1) if contains_answer(text, ans)), None)
        row: dict = {f"answer_hit@{n}": float(first is not None and first <= n) for n in cutoffs}
        row["first_answer_rank"] = first
        per_q[q] = row
    if not per_q:
        return {}, {}
    return {f"answer_hit@{n}": float(np.mean([r[f"answer_hit@{n}"] for r in per_q.values()]))
            for n in cutoffs}, per_q


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of latencies in ms (linear interpolation, as numpy does)."""
    if not values:
        return {}
    a = np.asarray(values, dtype=float)
    return {"p50": round(float(np.percentile(a, 50)), 3), "p95": round(float(np.percentile(a, 95)), 3),
            "p99": round(float(np.percentile(a, 99)), 3), "mean": round(float(a.mean()), 3)}
