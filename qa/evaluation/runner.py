"""Runs a question set through an index, per configuration, into per-question rows and metrics.

The one evaluation runner: `qa eval`, the UI's Evaluate tab and the benchmarks call
`evaluate_set`. Questions are searched on the batch path, timed, and scored with the pure
functions of `qa.evaluation.metrics`; `check_questions` says what in a set the index cannot match.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from qa.errors import BadInput
from qa.evaluation.metrics import (ANSWER_METRICS, CURVE_CUTOFFS, IR_METRICS, answer_metrics, doc_ranking,
                                   ir_metrics, normalize_text, percentiles)
from qa.evaluation.questions import Question
from qa.types import Hit

BATCH_SIZE = 32
SINGLE_SAMPLE = 20
MAX_ANSWER_SCAN = 20_000_000  # passage x answer checks for "answer occurs nowhere" notes
# Retrieval only: answer-sentence highlighting and same-story grouping are display steps (grouping
# would also hide relevant documents), so neither is part of what is measured.
SEARCH_OPTIONS = {"highlight": False, "group": False}


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


@dataclass
class EvalRun:
    """A whole evaluation: results per configuration and what was noticed about the set."""

    results: dict[str, ConfigResult]
    meta: dict


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


def evaluate_set(index, questions: list[Question], configs: list[str], k: int = 100,
                 batch_size: int = BATCH_SIZE, single_sample: int = SINGLE_SAMPLE,
                 progress: Callable[[int, int, str], None] | None = None,
                 notes: list[str] | None = None) -> EvalRun:
    """Evaluate several configurations on one question set against one index.

    Args:
        index: a loaded `qa.Index`.
        questions: the set (see `qa.evaluation.questions.read_source`).
        configs: names from `qa.search.pipeline.CONFIGS`.
        k: passages retrieved per question.
        progress: called as progress(done, total, config) after each batch, where done counts
            the (configuration, question) searches so far and total is questions x configs.
        notes: remarks from loading the set, kept in `meta["notes"]`.

    Returns:
        An `EvalRun`; its meta holds the index, k, model, notes and `check_questions`' warnings.

    Raises:
        BadInput: an empty set, or one whose doc ids all belong to another index.
    """
    if not questions:
        raise BadInput("the question set is empty")
    unknown, warnings, extra = check_questions(questions, index)
    judged = abstention(index, questions)
    total, done = len(questions) * len(configs), 0
    results = {}
    for config in configs:
        def step(n: int, config: str = config) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, total, config)

        results[config] = evaluate_config(index, questions, config, k, batch_size, single_sample,
                                          unknown, step)
        for row, said in zip(results[config].per_question, judged["per_question"]):
            row["answerable"] = said  # the same for every configuration: it judges the index
    meta = {"index": str(index.folder), "k": k, "questions": len(questions),
            "model": index.manifest.get("model", {}).get("id"),
            "notes": list(notes or []) + extra, "warnings": warnings,
            "abstention": {key: v for key, v in judged.items() if key != "per_question"}}
    return EvalRun(results, meta)


def _hits_or_none(index, text: str) -> list:
    from qa.errors import QAError

    try:
        return index.search(text, k=5, highlight=False)
    except QAError:  # a question search refuses is judged on the cosine alone
        return []


def abstention(index, questions: list[Question]) -> dict:
    """How often `qa ask` would flag the set's questions unanswerable: the share of questions with
    answers or doc ids it flags (it should not) and of questions that should find nothing it
    flags (it should), with each question's verdict (`per_question`)."""
    from qa.answer.abstain import assess

    texts = [q.text for q in questions]
    # judged with the default configuration's hits, as `qa ask` shows them (the reading model's
    # evidence counts where it read); the same for every configuration evaluated
    hits = [_hits_or_none(index, t) for t in texts]
    judged = assess(index.snapshot, index.encoder, texts, hits)
    flags = [not j["answerable"] for j in judged]
    answerable = [f for q, f in zip(questions, flags) if not q.expects_nothing]
    nothing = [f for q, f in zip(questions, flags) if q.expects_nothing]
    return {"threshold": round(judged[0]["threshold"], 4) if judged else None,
            "answerable": len(answerable),
            "answerable_flagged": round(sum(answerable) / len(answerable), 4) if answerable else None,
            "should_find_nothing": len(nothing),
            "should_find_nothing_flagged": round(sum(nothing) / len(nothing), 4) if nothing else None,
            "per_question": [j["answerable"] for j in judged]}
