"""Calibrate the abstention margin (Settings.abstain_margin) on news questions; prints JSON.

A question counts as answerable when the best cosine it reaches in the index is at least
`background + margin`, where `background` is the median best cosine of the hand-written
off-topic questions (qa/answer/offtopic_questions.txt) in that index. The margin is chosen on
the first halves of the news question sets (TIME news set, rgb_en_fact, demo): midway between
the lowest margin that flags 90% of the questions the corpus cannot answer (the sets'
unanswerable questions and the off-topic questions in each index) and the highest that flags at
most 5% of the answerable ones. Reported per set: the share of
answerable questions flagged (held-out half and all) and of unanswerable ones flagged.

    python bench/calibrate_abstention.py [--cache .cache/beir] [--bench ../shared/bench]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qa import Index, Settings
from qa.answer.abstain import background, offtopic_questions, top_cosines
from qa.evaluation.questions import beir_index, read_beir, read_question_file
from qa.ingest.reader import ingest
from qa.storage.builder import build_index

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = Settings().with_(sentence_vectors=False)
MAX_FALSE_ABSTAIN = 0.05
MIN_TRUE_ABSTAIN = 0.90


def relative(index, questions: list[str]) -> np.ndarray:
    """Best cosine of each question in the index, minus the index's off-topic background."""
    if not questions:
        return np.zeros(0, dtype=np.float32)
    return top_cosines(index.snapshot, index.encoder, questions) - background(index.snapshot, index.encoder)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    p.add_argument("--cache", default=str(ROOT / ".cache" / "beir"))
    args = p.parse_args()
    bench = Path(args.bench)
    tix, _ = beir_index(read_beir(bench / "time"), args.cache, settings=SETTINGS)
    rix, _ = beir_index(read_beir(bench / "rgb_en_fact"), args.cache, settings=SETTINGS)
    demo_dir = Path(args.cache) / "demo-articles"
    build_index(ingest([ROOT / "data" / "articles"]).articles, demo_dir, tix.embedder, SETTINGS)
    dix = Index.load(demo_dir, embedder=tix.embedder)
    news = read_question_file(ROOT / "bench" / "questions" / "time_news.jsonl").questions
    demo = read_question_file(ROOT / "data" / "questions" / "demo.jsonl").questions
    rgb = read_beir(bench / "rgb_en_fact").questions
    sets = {  # name: (answerable relative cosines, unanswerable relative cosines)
        "time_news": (relative(tix, [q.text for q in news if q.answers]),
                      relative(tix, [q.text for q in news if not q.answers])),
        "rgb_en_fact": (relative(rix, [q.text for q in rgb]), np.zeros(0)),
        "demo": (relative(dix, [q.text for q in demo if q.answers]),
                 relative(dix, [q.text for q in demo if q.expects_nothing])),
    }
    offtopic = {name: relative(ix, list(offtopic_questions())) for name, ix in
                (("time_news", tix), ("rgb_en_fact", rix), ("demo", dix))}
    tune = np.concatenate([pos[: len(pos) // 2] for pos, _ in sets.values()])
    negatives = np.concatenate([neg[: max(1, len(neg) // 2)] for _, neg in sets.values() if len(neg)]
                               + list(offtopic.values()))
    high = float(np.quantile(tune, MAX_FALSE_ABSTAIN, method="lower"))  # above: too many answerable flagged
    low = float(np.quantile(negatives, MIN_TRUE_ABSTAIN, method="higher"))  # below: too few unanswerable
    margin = (low + high) / 2 if low < high else high - 1e-4
    report = {"margin": round(margin, 4), "current_margin": Settings().abstain_margin,
              "feasible": [round(low, 4), round(high, 4)],
              "rule": f"midway between the margin that flags {MIN_TRUE_ABSTAIN:.0%} of the tuning "
                      f"unanswerable and off-topic questions and the one that flags "
                      f"{MAX_FALSE_ABSTAIN:.0%} of the tuning answerable ones"}
    for name, (pos, neg) in sets.items():
        h = len(pos) // 2
        report[name] = {
            "answerable_flagged_held_out": round(float(np.mean(pos[h:] < margin)), 4),
            "answerable_flagged_all": round(float(np.mean(pos < margin)), 4),
            "answerable": len(pos),
            "unanswerable_flagged": round(float(np.mean(neg < margin)), 4) if len(neg) else None,
            "unanswerable": len(neg),
            "offtopic_flagged": round(float(np.mean(offtopic[name] < margin)), 4),
            "answerable_quantiles_5_50": [round(float(np.quantile(pos, q)), 4) for q in (0.05, 0.5)],
            "unanswerable_max": round(float(neg.max()), 4) if len(neg) else None,
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
