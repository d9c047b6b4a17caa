"""Calibrate the abstention margin (Settings.abstain_margin); prints JSON. Not a test.

Answerable: Cranfield's own queries on the Cranfield corpus. Unanswerable: the hand-written
off-topic questions of qa/offtopic_questions.txt on the same corpus. Neither is a set we report
retrieval quality on. The margin is the best threshold minus the off-topic median (the
"background" the threshold is relative to in every index). Usage:

    python bench/calibrate_abstention.py [--bench ../shared/bench] [--cache .cache/beir]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qa.answer.abstain import background, best_threshold, offtopic_questions, top_cosines
from qa.evaluation.questions import beir_index, read_beir

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    p.add_argument("--cache", default=str(ROOT / ".cache" / "beir"))
    args = p.parse_args()
    qset = read_beir(Path(args.bench) / "cranfield")
    index, _ = beir_index(qset, args.cache)
    pos = top_cosines(index.snapshot, index.encoder, [q.text for q in qset.questions])
    neg = top_cosines(index.snapshot, index.encoder, offtopic_questions())
    t, acc = best_threshold(pos, neg)
    bg = background(index.snapshot, index.encoder)
    print(json.dumps({"margin": round(t - bg, 4), "threshold_here": round(t, 4), "background_here": round(bg, 4),
                      "balanced_accuracy": round(acc, 4), "answerable": len(pos), "unanswerable": len(neg),
                      "answerable_min_median": [round(float(pos.min()), 4), round(float(np.median(pos)), 4)],
                      "unanswerable_max_median": [round(float(neg.max()), 4), round(float(np.median(neg)), 4)]}))


if __name__ == "__main__":
    main()
