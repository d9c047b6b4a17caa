"""Tune the reranker on the FIRST HALF of a BEIR set's questions; prints JSON. Not a test.

For every question the candidates are the union of the dense, passage-BM25 and article-BM25
lists; each candidate gets the reranker's features; a grid of weights is scored by document
nDCG@10 (pytrec_eval) on the tuning half, and the best weights are reported together with
their score on the held-out second half. Usage:

    python bench/tune_rerank.py ../shared/bench/time [--half first|all]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from qa.evaluation.metrics import ir_metrics
from qa.evaluation.questions import beir_index, read_beir
from qa.search.pipeline import PIPELINES, candidates_batch
from qa.search.rerank import FEATURES, FeatureReranker, feature_matrix

ROOT = Path(__file__).resolve().parent.parent


def ndcg(index, questions, cands, feats, w):
    ranked = {}
    for q, c, F in zip(questions, cands, feats):
        order = np.argsort(-(F @ w), kind="stable")
        seen = []
        for j in order:
            d = index.passages[int(c.rows[j])].doc_id
            if d not in seen:
                seen.append(d)
        ranked[q.qid] = seen[:100]
    qrels = {q.qid: q.qrels for q in questions}
    return ir_metrics(qrels, ranked)[0]["ndcg@10"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("beir")
    p.add_argument("--cache", default=str(ROOT / ".cache" / "beir"))
    p.add_argument("--config", default="hybrid")
    args = p.parse_args()
    qset = read_beir(args.beir)
    index, _ = beir_index(qset, args.cache)
    qs = [q for q in qset.questions if q.qrels]
    half = len(qs) // 2
    texts = [q.text for q in qs]
    qv = index.embedder.embed_batch(texts)
    cands = candidates_batch(index.snapshot, PIPELINES.get(args.config), texts, 100, None, qv)
    feats = [feature_matrix(index.snapshot, t, v, c.rows) for t, v, c in zip(texts, qv, cands)]
    grid = {"dense": [1.0], "bm25": [0, 0.1, 0.2, 0.3, 0.5, 0.8], "doc_bm25": [0, 0.1, 0.2, 0.3, 0.5, 0.8],
            "doc_dense": [0, 0.25, 0.5, 1.0, 1.5], "exact": [0, 0.1, 0.2]}
    results = []
    for combo in itertools.product(*(grid[f] for f in FEATURES)):
        w = np.array(combo, dtype=np.float32)
        results.append((ndcg(index, qs[:half], cands[:half], feats[:half], w), combo))
    results.sort(key=lambda r: -r[0])
    current = np.array(FeatureReranker().weights, dtype=np.float32)
    best_score, best = results[0]
    w = np.array(best, dtype=np.float32)
    print(json.dumps({
        "set": qset.name, "tuned_on": f"first {half} of {len(qs)} questions", "features": FEATURES,
        "best_weights": dict(zip(FEATURES, best)), "ndcg10_tuning_half": round(best_score, 4),
        "ndcg10_held_out_half": round(ndcg(index, qs[half:], cands[half:], feats[half:], w), 4),
        "ndcg10_all": round(ndcg(index, qs, cands, feats, w), 4),
        "current_default": {"weights": dict(zip(FEATURES, current.tolist())),
                            "ndcg10_tuning_half": round(ndcg(index, qs[:half], cands[:half], feats[:half], current), 4),
                            "ndcg10_held_out_half": round(ndcg(index, qs[half:], cands[half:], feats[half:], current), 4)},
        "top5": [[round(s, 4), dict(zip(FEATURES, c))] for s, c in results[:5]],
    }))


if __name__ == "__main__":
    main()
