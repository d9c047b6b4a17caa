"""Does the highlighted sentence hold the answer? The reader's pointer against the sentence vectors.

    python bench/bench_answer_highlight.py INDEX QUESTIONS [--k 5] [--config NAME]

QUESTIONS is anything `qa eval` reads with answer strings (a JSONL/CSV question set, a BEIR folder
with answers). Each question is asked once with highlighting (`Index.search`, the default
configuration unless `--config`), twice: with the reading model's answer pointer (what qa does)
and with it switched off (the highlighter's sentence vectors alone). Over the hits whose passage
holds an answer string (case- and space-insensitive), it reports the share whose highlighted
sentence holds it, and how often the hit's `answer` words overlap an answer string (contain one,
or lie inside one). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def golds(question) -> list[str]:
    flat = []
    for a in question.answers:
        flat.extend(a if isinstance(a, (list, tuple)) else [a])
    return [norm(g) for g in flat if g]


def measure(index, questions, k: int, config: str | None) -> dict:
    n = in_highlight = pointed = overlaps = 0
    for q in questions:
        want = golds(q)
        for h in index.search(q.text, k=k, config=config):
            p = h.passage
            if not any(g in norm(h.text) for g in want):
                continue
            n += 1
            if h.highlight:
                hl = norm(p.text[h.highlight[0] - p.char_start:h.highlight[1] - p.char_start])
                in_highlight += any(g in hl for g in want)
            if h.answer:
                pointed += 1
                words = norm(h.answer_text)
                overlaps += any(g in words or (words and words in g) for g in want)
    return {"hits_with_answer": n, "answer_in_highlight": round(in_highlight / max(n, 1), 4),
            "hits_with_reader_answer": pointed,
            "reader_answer_overlaps_gold": round(overlaps / pointed, 4) if pointed else None}


def main() -> int:
    from qa import Index
    from qa.evaluation.questions import read_source
    import qa.search.pipeline as pipeline

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index")
    ap.add_argument("questions")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--config", default=None)
    args = ap.parse_args()
    index = Index.load(args.index)
    questions = [q for q in read_source(args.questions).questions if q.answers]
    out = {"index": args.index, "questions": len(questions), "k": args.k,
           "config": args.config or index.settings.config}
    out["reader_pointer"] = measure(index, questions, args.k, args.config)
    pointer = pipeline.answer_span
    pipeline.answer_span = lambda *a: None  # the sentence vectors alone
    try:
        out["sentence_vectors"] = measure(index, questions, args.k, args.config)
    finally:
        pipeline.answer_span = pointer
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
