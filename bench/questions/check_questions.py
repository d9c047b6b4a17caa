"""Check a question set against the corpus it was written from (stdlib only).

Usage:
    python bench/questions/check_questions.py bench/questions/time_news.jsonl ../shared/bench/time/corpus.jsonl

Each answer string must occur verbatim in the text of at least one of its question's
`doc_ids` (case-insensitive, whitespace runs collapsed, the way `qa eval` matches answers).
Prints a JSON report: counts per kind, how many distinct articles are used, how many answers
lie beyond the first 600 characters of their article, how many corpus articles contain each
answer (answers in more than COMMON_LIMIT articles are listed as a warning), and every
problem found.

Exits 1 when an answer is not in its article(s), a doc_id is not in the corpus, or a record
is malformed (missing field, duplicate id, unknown kind, answerable question without 1-3
answers or without doc_ids, "unanswerable" question with answers or doc_ids).
"""

from __future__ import annotations

import json
import sys
from collections import Counter

KINDS = {"who", "what", "how many", "where", "when", "why", "which", "unanswerable"}
DEEP_OFFSET = 600   # "beyond the first 600 characters" of the (normalised) article text
COMMON_LIMIT = 10   # an answer found in more articles than this is too unspecific


def normalize(text: str) -> str:
    """Case-folded text with every whitespace run as one space (as qa.evaluation matches)."""
    return " ".join(text.casefold().split())


def load_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check(questions: list[dict], corpus: dict[str, str]) -> dict:
    problems: list[str] = []
    missing_answers: list[dict] = []
    unknown_doc_ids: list[dict] = []
    common_answers: list[dict] = []
    kinds: Counter = Counter()
    docs_used: set[str] = set()
    seen_ids: set[str] = set()
    beyond = 0
    answerable = 0
    answer_doc_counts: dict[str, int] = {}

    for n, q in enumerate(questions, 1):
        qid = q.get("id")
        where = f"line {n} ({qid})"
        for field in ("id", "question", "answers", "doc_ids", "kind"):
            if field not in q:
                problems.append(f"{where}: missing field '{field}'")
        if qid in seen_ids:
            problems.append(f"{where}: duplicate id")
        seen_ids.add(qid)
        kind = q.get("kind")
        kinds[kind] += 1
        if kind not in KINDS:
            problems.append(f"{where}: unknown kind {kind!r}")
        answers = q.get("answers") or []
        doc_ids = q.get("doc_ids") or []
        if not isinstance(q.get("question"), str) or not q.get("question", "").strip():
            problems.append(f"{where}: empty question")

        if kind == "unanswerable":
            if answers or doc_ids:
                problems.append(f"{where}: unanswerable question has answers or doc_ids")
            continue

        answerable += 1
        if not 1 <= len(answers) <= 3:
            problems.append(f"{where}: expected 1-3 answers, got {len(answers)}")
        if not doc_ids:
            problems.append(f"{where}: no doc_ids")
        known = [d for d in doc_ids if d in corpus]
        for d in doc_ids:
            if d not in corpus:
                unknown_doc_ids.append({"id": qid, "doc_id": d})
        docs_used.update(known)

        first_positions = []
        for a in answers:
            na = normalize(a)
            hits = [corpus[d].find(na) for d in known if na and na in corpus[d]]
            if not hits:
                missing_answers.append({"id": qid, "answer": a, "doc_ids": doc_ids})
            else:
                first_positions.append(min(hits))
            if na not in answer_doc_counts:
                answer_doc_counts[na] = sum(na in text for text in corpus.values())
            if answer_doc_counts[na] > COMMON_LIMIT:
                common_answers.append({"id": qid, "answer": a, "articles": answer_doc_counts[na]})
        # deep: even the earliest occurrence of any of its answers starts past the offset
        if first_positions and min(first_positions) >= DEEP_OFFSET:
            beyond += 1

    half = answerable // 2
    answerable_kinds = [q.get("kind") for q in questions if q.get("kind") != "unanswerable"]
    counts = list(answer_doc_counts.values())
    return {
        "questions": len(questions),
        "answerable": answerable,
        "unanswerable": kinds.get("unanswerable", 0),
        "kinds": dict(sorted(kinds.items(), key=lambda kv: (-kv[1], str(kv[0])))),
        "kinds_first_half": dict(Counter(answerable_kinds[:half])),
        "kinds_second_half": dict(Counter(answerable_kinds[half:])),
        "distinct_articles": len(docs_used),
        "corpus_articles": len(corpus),
        f"answers_beyond_first_{DEEP_OFFSET}_chars": beyond,
        "answer_strings": len(counts),
        "answer_strings_in_one_article_only": sum(c == 1 for c in counts),
        "max_articles_containing_an_answer": max(counts) if counts else 0,
        f"answers_in_more_than_{COMMON_LIMIT}_articles": common_answers,
        "missing_answers": missing_answers,
        "unknown_doc_ids": unknown_doc_ids,
        "problems": problems,
        "ok": not (missing_answers or unknown_doc_ids or problems),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python check_questions.py QUESTIONS.jsonl CORPUS.jsonl", file=sys.stderr)
        return 2
    questions = load_jsonl(argv[1])
    corpus = {str(d["_id"]): normalize(d.get("text", "")) for d in load_jsonl(argv[2])}
    report = check(questions, corpus)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
