"""Question sets and qrels -> per-question rows and aggregate metrics, per configuration.

Document level: a document's rank is the rank of its best passage, and the IR metrics (nDCG@10,
Recall@{1,5,10,100}, MRR@10, MAP@100) come from pytrec_eval (trec_eval's code) with the qrels as
given, graded or not. Passage level: answer-hit@{1,3,5,10} says whether a passage among the top
n contains an answer string (case-insensitive, whitespace-normalised).

Every metric function returns the aggregate and the per-question values.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from qa.errors import BadInput
from qa.evaluation.questions import Question
from qa.types import Hit

DOC_CUTOFFS = (1, 5, 10, 100)
ANSWER_CUTOFFS = (1, 3, 5, 10)
CURVE_CUTOFFS = (1, 2, 3, 5, 10, 20, 30, 50, 100)
IR_METRICS = ("ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "map@100")
ANSWER_METRICS = tuple(f"answer_hit@{n}" for n in ANSWER_CUTOFFS)
BATCH_SIZE = 32
SINGLE_SAMPLE = 20
MAX_ANSWER_SCAN = 20_000_000  # passage x answer checks for "answer occurs nowhere" notes
# Retrieval only: answer-sentence highlighting and same-story grouping are display steps (grouping
# would also hide relevant documents), so neither is part of what is measured.
SEARCH_OPTIONS = {"highlight": False, "group": False}
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


def unknown_doc_ids(questions: list[Question], known: set[str] | dict) -> dict[str, list[str]]:
    """{question id: judged doc ids the index does not hold}.

    Raises:
        BadInput: no judged doc id at all is in the index (the set belongs to another index).
    """
    out = {q.qid: sorted(d for d in q.qrels if d not in known) for q in questions}
    out = {q: ids for q, ids in out.items() if ids}
    judged = {d for q in questions for d in q.qrels}
    if judged and all(d not in known for d in judged):
        sample = ", ".join(sorted(judged)[:3])
        raise BadInput(f"none of the {len(judged)} doc ids in the question set ({sample}, ...) is in the "
                       f"index; evaluate against the index they belong to (--index DIR)")
    return out


def answers_nowhere(questions: list[Question], passages: list[str]) -> list[str]:
    """Ids of questions whose answer strings occur in no indexed passage (empty if too big to scan)."""
    with_ans = [q for q in questions if q.answers]
    if len(passages) * sum(len(q.answers) for q in with_ans) > MAX_ANSWER_SCAN:
        return []
    texts = [normalize_text(t) for t in passages]
    out = []
    for q in with_ans:
        ans = [normalize_text(a) for a in q.answers]
        if not any(a in t for t in texts for a in ans):
            out.append(q.qid)
    return out


@dataclass
class ConfigResult:
    """One configuration's evaluation: aggregate metrics, latency, one row per question.

    `previews` holds each question's top passages for the report; it is not part of the JSON.
    """

    config: str
    metrics: dict[str, float | int | None]
    latency_ms: dict[str, float]
    per_question: list[dict]
    recall_curve: dict[int, float] = field(default_factory=dict)
    runs: dict[str, list[str]] = field(default_factory=dict)
    previews: dict[str, list[dict]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"metrics": self.metrics, "latency_ms": self.latency_ms,
                "recall_curve": {str(k): v for k, v in self.recall_curve.items()},
                "per_question": self.per_question}


def _preview(h: Hit, chars: int = 300) -> dict:
    return {"rank": h.rank, "doc_id": h.passage.doc_id, "passage_id": h.passage.passage_id,
            "score": round(float(h.score), 6), "title": h.article.title, "text": h.passage.text[:chars]}


def run_questions(index, questions: list[Question], config: str, k: int, batch_size: int = BATCH_SIZE,
                  progress: Callable[[int], None] | None = None) -> tuple[list[list[Hit]], list[float]]:
    """Search every question on the batch path; returns hits and per-question latency in ms.

    A question's latency is its batch's wall time divided by the batch size. One untimed search
    first loads the model, so the first batch does not carry the load time; remembered question
    embeddings are dropped before each batch, so no configuration profits from an earlier one.
    """
    index.search_batch([questions[0].text], k=k, config=config, **SEARCH_OPTIONS)
    hits: list[list[Hit]] = []
    latency: list[float] = []
    for start in range(0, len(questions), batch_size):
        batch = [q.text for q in questions[start:start + batch_size]]
        index.forget_questions()  # every timed question is embedded, as a new one would be
        t0 = time.perf_counter()
        hits.extend(index.search_batch(batch, k=k, config=config, **SEARCH_OPTIONS))
        ms = (time.perf_counter() - t0) * 1000 / len(batch)
        latency.extend([ms] * len(batch))
        if progress:
            progress(len(batch))
    return hits, latency


def single_latency(index, questions: list[Question], config: str, k: int, n: int = SINGLE_SAMPLE) -> list[float]:
    """Latency in ms of one-question searches on `n` questions spread over the set."""
    if n <= 0:
        return []
    picks = sorted({int(i) for i in np.linspace(0, len(questions) - 1, min(n, len(questions)))})
    out = []
    for i in picks:
        index.forget_questions()
        t0 = time.perf_counter()
        index.search_batch([questions[i].text], k=k, config=config, **SEARCH_OPTIONS)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def evaluate_config(index, questions: list[Question], config: str, k: int = 100,
                    batch_size: int = BATCH_SIZE, single_sample: int = SINGLE_SAMPLE,
                    unknown: dict[str, list[str]] | None = None,
                    progress: Callable[[int], None] | None = None) -> ConfigResult:
    """Search all questions with one configuration and score them.

    Returns:
        A `ConfigResult`; IR metrics average over questions with doc ids, answer-hit over
        questions with answers (None when the set has none of that kind).
    """
    if not questions:
        raise BadInput("the question set is empty")
    hits, latency = run_questions(index, questions, config, k, batch_size, progress)
    ranked = {q.qid: [d for d, _ in doc_ranking(h)] for q, h in zip(questions, hits)}
    ir_mean, ir_per_q = ir_metrics({q.qid: q.qrels for q in questions}, ranked, curve=CURVE_CUTOFFS)
    ans_mean, ans_per_q = answer_metrics({q.qid: [x.passage.text for x in h] for q, h in zip(questions, hits)},
                                         {q.qid: q.answers for q in questions})
    metrics: dict[str, float | int | None] = {m: ir_mean.get(m) for m in IR_METRICS}
    metrics.update({m: ans_mean.get(m) for m in ANSWER_METRICS})
    metrics["questions"] = len(questions)
    metrics["with_doc_ids"] = len(ir_per_q)
    metrics["with_answers"] = len(ans_per_q)
    metrics["expect_nothing"] = sum(q.expects_nothing for q in questions)
    rows, previews = [], {}
    for q, h, ms in zip(questions, hits, latency):
        docs = ranked[q.qid]
        first_doc = next((i for i, d in enumerate(docs, 1) if q.qrels.get(d, 0) > 0), None)
        ir = ir_per_q.get(q.qid, {})
        rows.append({
            "id": q.qid, "question": q.text, "line": q.line,
            "kind": "nothing" if q.expects_nothing else "+".join(
                n for n, on in (("docs", bool(q.qrels)), ("answers", bool(q.answers))) if on),
            "first_relevant_doc_rank": first_doc,
            "first_answer_rank": ans_per_q.get(q.qid, {}).get("first_answer_rank"),
            "metrics": {m: round(ir[m], 6) for m in IR_METRICS if m in ir}
            | {m: ans_per_q[q.qid][m] for m in ANSWER_METRICS if q.qid in ans_per_q},
            "top_hit": _preview(h[0], 200) if h else None,
            "latency_ms": round(ms, 3),
            "unknown_doc_ids": (unknown or {}).get(q.qid, []),
        })
        previews[q.qid] = [_preview(x) for x in h[:3]]
    lat = percentiles(latency)
    lat["method"] = (f"batches of {batch_size}: batch wall time / batch size; retrieval, fusion and "
                     "reranking, without highlighting")
    single = percentiles(single_latency(index, questions, config, k, single_sample))
    lat.update({f"single_{key}": v for key, v in single.items()})
    lat["single_n"] = min(single_sample, len(questions)) if single else 0
    curve = {n: ir_mean[f"recall@{n}"] for n in CURVE_CUTOFFS if f"recall@{n}" in ir_mean}
    return ConfigResult(config, metrics, lat, rows, curve, ranked, previews)


def worst_questions(result: ConfigResult, n: int = 5) -> list[dict]:
    """Up to `n` imperfectly answered questions, worst first.

    Worst means: more kinds of target missed (no relevant document, no answering passage in the
    top k), then the deepest first hit, then the lowest nDCG@10. Perfect questions are left out.
    """
    def badness(row: dict) -> tuple:
        wanted = [r for r, on in ((row["first_relevant_doc_rank"], "docs" in row["kind"]),
                                  (row["first_answer_rank"], "answers" in row["kind"])) if on]
        missed = sum(r is None for r in wanted)
        deepest = max((r for r in wanted if r is not None), default=0)
        return (-missed, -deepest, row["metrics"].get("ndcg@10", 1.0))

    rows = [r for r in result.per_question if r["kind"] != "nothing" and badness(r) != (0, -1, 1.0)]
    return sorted(rows, key=badness)[:n]


@dataclass
class EvalRun:
    """A whole evaluation: results per configuration and what was noticed about the set."""

    results: dict[str, ConfigResult]
    meta: dict


def check_questions(questions: list[Question], index) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """(unknown doc ids per question, warnings, notes) for a question set against an index."""
    unknown = unknown_doc_ids(questions, index.articles)
    line = {q.qid: q.line for q in questions}
    warnings = [f"question {q} (line {line[q]}): doc ids not in the index: {', '.join(ids)}"
                for q, ids in unknown.items()]
    warnings += [f"question {q} (line {line[q]}): no indexed passage contains any of its answers"
                 for q in answers_nowhere(questions, [p.text for p in index.passages])]
    nothing = sum(q.expects_nothing for q in questions)
    notes = [f"{nothing} questions have no answers and no doc ids: they should find nothing "
             "(listed with their top hit in the report)"] if nothing else []
    return unknown, warnings, notes


def evaluate_set(index, questions: list[Question], configs: list[str], k: int = 100,
                 batch_size: int = BATCH_SIZE, single_sample: int = SINGLE_SAMPLE,
                 progress: Callable[[int], None] | None = None, notes: list[str] | None = None) -> EvalRun:
    """Evaluate several configurations on one question set against one index.

    Args:
        index: a loaded `qa.Index`.
        questions: the set (see `qa.evaluation.questions.read_source`).
        configs: names from `qa.search.pipeline.CONFIGS`.
        k: passages retrieved per question.
        progress: called with the number of questions just searched.
        notes: remarks from loading the set, kept in `meta["notes"]`.

    Raises:
        BadInput: an empty set, or one whose doc ids all belong to another index.
    """
    if not questions:
        raise BadInput("the question set is empty")
    unknown, warnings, extra = check_questions(questions, index)
    results = {c: evaluate_config(index, questions, c, k, batch_size, single_sample, unknown, progress)
               for c in configs}
    meta = {"index": str(index.folder), "k": k, "questions": len(questions),
            "model": index.manifest.get("model", {}).get("id"),
            "notes": list(notes or []) + extra, "warnings": warnings}
    return EvalRun(results, meta)
