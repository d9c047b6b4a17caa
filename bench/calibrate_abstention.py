"""Calibrate the abstention threshold; prints JSON. Not a test.

Answerable: Cranfield's own queries on the Cranfield corpus. Unanswerable: the hand-written
off-topic questions in bench/offtopic_questions.txt on the same corpus. Neither is a set we
report retrieval quality on. Usage:

    python bench/calibrate_abstention.py [--bench ../shared/bench] [--cache .cache/beir]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.abstain import best_threshold, confidence  # noqa: E402
from qa.evalio import beir_index, read_beir  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    p.add_argument("--cache", default=str(ROOT / ".cache" / "beir"))
    p.add_argument("--config", default="hybrid")
    args = p.parse_args()
    qset = read_beir(Path(args.bench) / "cranfield")
    index, _ = beir_index(qset, args.cache)
    pos_q = [q.text for q in qset.questions]
    neg_q = [ln.strip() for ln in (ROOT / "bench" / "offtopic_questions.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    pos = [confidence(h) for h in index.search_batch(pos_q, k=10, config=args.config, highlight=False)]
    neg = [confidence(h) for h in index.search_batch(neg_q, k=10, config=args.config, highlight=False)]
    t, acc = best_threshold(pos, neg)
    print(json.dumps({"threshold": round(t, 4), "balanced_accuracy": round(acc, 4),
                      "answerable": len(pos), "unanswerable": len(neg),
                      "answerable_min_mean": [round(min(pos), 4), round(sum(pos) / len(pos), 4)],
                      "unanswerable_max_mean": [round(max(neg), 4), round(sum(neg) / len(neg), 4)]}))


if __name__ == "__main__":
    main()
