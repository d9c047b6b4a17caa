"""Answer highlighting from stored sentence vectors vs embedding the sentences per question.

    python bench/bench_highlight.py INDEX QUESTIONS [--k 5] [--nq 100]

QUESTIONS is anything `qa eval` reads (a JSONL/CSV question set or a BEIR folder). For each
question the top-k hits are retrieved once (default config, no highlight); then the answer
sentence of every hit is chosen twice: from the index's stored int8 sentence vectors
(qa/sentences.py, what `qa ask` does now) and by embedding the hits' sentences with the model
(the old path, no cache). Reports how often both choose the same span, for hits whose passage
contains one of the question's answer strings how often the chosen span contains it, and the
time each path takes per question (median / p95 ms). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def main() -> int:
    from qa import Index
    from qa.evaluation.questions import read_source
    from qa.search.highlight import highlight_spans

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index")
    ap.add_argument("questions")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--nq", type=int, default=100)
    args = ap.parse_args()
    index = Index.load(args.index, verify=False)
    if index.snapshot.sentences is None:
        print(json.dumps({"error": f"{args.index} has no stored sentence vectors"}))
        return 1
    qset = read_source(args.questions).questions[: args.nq]
    questions = [q.text for q in qset]
    answers = {q.text: [a.lower() for a in q.answers] for q in qset}
    index.search(questions[0], k=1)  # load the model
    same = total = 0
    t_stored, t_fresh = [], []
    with_answer, hit_stored, hit_fresh = 0, 0, 0
    for q in questions:
        hits = index.search(q, k=args.k, highlight=False)
        rows = [row_of(index, h.passage) for h in hits]
        qv = index.question_vectors([q])[0]
        passages = [h.passage for h in hits]
        t = time.perf_counter()
        stored = highlight_spans(q, qv, passages, None, index.snapshot.sparse, store=index.snapshot.sentences, rows=rows)
        t_stored.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        fresh = highlight_spans(q, qv, passages, index.embedder, index.snapshot.sparse)
        t_fresh.append((time.perf_counter() - t) * 1000)
        same += sum(a == b for a, b in zip(stored, fresh))
        total += len(hits)
        for h, a, b in zip(hits, stored, fresh):
            found = [x for x in answers[q] if x in h.passage.text.lower()]
            if found and a and b:
                body = index.articles[h.doc_id].body.lower()
                with_answer += 1
                hit_stored += any(x in body[a[0]:a[1]] for x in found)
                hit_fresh += any(x in body[b[0]:b[1]] for x in found)
    pct = lambda xs: {"p50": round(float(np.percentile(xs, 50)), 2), "p95": round(float(np.percentile(xs, 95)), 2)}
    print(json.dumps({"index": args.index, "questions": len(questions), "k": args.k, "hits": total,
                      "same_span_share": round(same / max(total, 1), 4),
                      "hits_with_answer_in_passage": with_answer,
                      "answer_in_highlight": {"stored": round(hit_stored / max(with_answer, 1), 4),
                                              "embed_now": round(hit_fresh / max(with_answer, 1), 4)},
                      "stored_ms": pct(t_stored), "embed_now_ms": pct(t_fresh),
                      "backend": index.manifest["model"].get("backend"),
                      "loadavg_1m": float(open("/proc/loadavg").read().split()[0])}, indent=2))
    return 0


def row_of(index, passage) -> int:
    """Row of a hit's passage: its article's passages are contiguous and in order."""
    art = index.articles.row_of(passage.doc_id)
    rows = np.flatnonzero(np.asarray(index.snapshot.passage_article) == art)
    return int(rows[passage.ordinal]) if passage.ordinal < len(rows) and \
        index.passages[int(rows[passage.ordinal])] == passage else \
        next(int(r) for r in rows if index.passages[int(r)] == passage)


if __name__ == "__main__":
    sys.exit(main())
