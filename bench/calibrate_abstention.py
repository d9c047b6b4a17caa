"""Calibrate abstention (Settings.abstain_margin and abstain_unseen) on news questions; prints JSON.

A question counts as answerable when the best cosine it reaches in the index, less
`unseen * (share of its names and numbers that no passage holds)`, is at least
`background + margin`, where `background` is the median best cosine of the hand-written
off-topic questions (qa/answer/offtopic_questions.txt) in that index. Both are chosen on the
first halves of the news question sets (TIME news set, rgb_en_fact, demo): for each `unseen`
weight of a small grid, the feasible margins lie between the lowest that flags 90% of the
questions the corpus cannot answer (in every group on its own: each set's unanswerable
questions, the off-topic questions in each index) and the highest that flags at most 5% of the
answerable ones of every set; the weight with the widest feasible range wins and the margin is
its middle. Reported per set: the
share of answerable questions flagged (held-out half and all) and of unanswerable ones flagged.

    python bench/calibrate_abstention.py [--cache .cache/beir] [--bench ../shared/bench]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qa import Index, Settings
from qa.answer.abstain import background, offtopic_questions, top_cosines, unseen_terms
from qa.evaluation.questions import beir_index, read_beir, read_question_file
from qa.ingest.reader import ingest
from qa.storage.builder import build_index

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = Settings().with_(sentence_vectors=False)
MAX_FALSE_ABSTAIN = 0.05
MIN_TRUE_ABSTAIN = 0.90
UNSEEN_GRID = (0.0, 0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3)


class Scored:
    """Per question: best cosine minus the index's off-topic background, and the share of its
    names and numbers that no passage holds."""

    def __init__(self, index, questions: list[str]):
        snap = index.snapshot
        # one question at a time, as `qa ask` encodes it (int8 activations are quantised per
        # batch, so a batch-mate moves a question's cosine by ~0.01)
        best = [float(top_cosines(snap, index.encoder, [q])[0]) for q in questions]
        self.rel = np.asarray(best, dtype=np.float32) - background(snap, index.encoder)
        shares = []
        for q in questions:
            unseen, named = unseen_terms(snap, q)
            shares.append(len(unseen) / named if named else 0.0)
        self.unseen = np.asarray(shares, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.rel)

    def evidence(self, weight: float, part: slice = slice(None)) -> np.ndarray:
        return self.rel[part] - weight * self.unseen[part]


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
    sets = {  # name: (answerable questions scored, unanswerable questions scored)
        "time_news": (Scored(tix, [q.text for q in news if q.answers]),
                      Scored(tix, [q.text for q in news if not q.answers])),
        "rgb_en_fact": (Scored(rix, [q.text for q in rgb]), Scored(rix, [])),
        "demo": (Scored(dix, [q.text for q in demo if q.answers]),
                 Scored(dix, [q.text for q in demo if q.expects_nothing])),
    }
    offtopic = {name: Scored(ix, list(offtopic_questions())) for name, ix in
                (("time_news", tix), ("rgb_en_fact", rix), ("demo", dix))}

    def feasible(weight: float) -> tuple[float, float]:
        # every group on its own: each set's tuning answerable questions flagged at most 5%; each
        # set's tuning unanswerable questions and each index's off-topic questions at least 90%
        positives = [pos.evidence(weight, slice(len(pos) // 2)) for pos, _ in sets.values()]
        negatives = [neg.evidence(weight, slice(max(1, len(neg) // 2))) for _, neg in sets.values() if len(neg)] \
            + [o.evidence(weight) for o in offtopic.values()]
        high = min(float(np.quantile(p, MAX_FALSE_ABSTAIN, method="lower")) for p in positives)
        low = max(float(np.quantile(n, MIN_TRUE_ABSTAIN, method="higher")) for n in negatives)
        return low, high

    ranges = {w: feasible(w) for w in UNSEEN_GRID}
    weight = max(UNSEEN_GRID, key=lambda w: (ranges[w][1] - ranges[w][0], -w))
    low, high = ranges[weight]
    margin = (low + high) / 2 if low < high else high - 1e-4
    report = {"margin": round(margin, 4), "unseen": weight, "current_margin": Settings().abstain_margin,
              "current_unseen": Settings().abstain_unseen, "feasible": [round(low, 4), round(high, 4)],
              "feasible_by_unseen": {str(w): [round(a, 4), round(b, 4)] for w, (a, b) in ranges.items()},
              "rule": f"the unseen weight with the widest range of margins that flag {MIN_TRUE_ABSTAIN:.0%} "
                      f"of every group of tuning unanswerable and off-topic questions and at most "
                      f"{MAX_FALSE_ABSTAIN:.0%} of every set's tuning answerable ones; the margin in its middle"}
    for name, (pos_s, neg_s) in sets.items():
        pos, neg = pos_s.evidence(weight), neg_s.evidence(weight)
        h = len(pos) // 2
        off = offtopic[name].evidence(weight)
        report[name] = {
            "answerable_flagged_held_out": round(float(np.mean(pos[h:] < margin)), 4),
            "answerable_flagged_all": round(float(np.mean(pos < margin)), 4),
            "answerable": len(pos),
            "unanswerable_flagged": round(float(np.mean(neg < margin)), 4) if len(neg) else None,
            "unanswerable_flagged_held_out": round(float(np.mean(neg[len(neg) // 2:] < margin)), 4)
            if len(neg) else None,
            "unanswerable": len(neg),
            "offtopic_flagged": round(float(np.mean(off < margin)), 4),
            "answerable_quantiles_5_50": [round(float(np.quantile(pos, q)), 4) for q in (0.05, 0.5)],
            "unanswerable_max": round(float(neg.max()), 4) if len(neg) else None,
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
