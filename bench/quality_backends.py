"""Quality guard of the embedding backends: SciFact nDCG@10 per backend, same chunking, same run.

    python bench/quality_backends.py [BEIR_FOLDER] [--backends torch onnx-int8] [--cache DIR] [--every N]

Each backend indexes the corpus into its own cache folder (`qa.evaluation.questions.beir_index`, keyed by the
backend's fingerprint), then `qa.evaluation.runner` scores the configurations (whole documents: a document's
score is its best passage's). Prints one JSON object; the issue's guard is
|nDCG@10(onnx-int8) - nDCG@10(torch)| <= 0.01.

`--every N` keeps every document judged relevant for a test question plus every N-th other one
(a temporary BEIR folder outside the repo), for when embedding the whole corpus with torch takes
too long on a busy machine: both backends then see the same smaller corpus, so the comparison
holds, but the absolute nDCG is higher than on the full corpus.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def subsample(src: Path, every: int, cache: Path) -> Path:
    """A BEIR folder with the judged documents and every `every`-th other one."""
    import shutil

    judged = {line.split("\t")[1] for line in open(src / "qrels" / "test.tsv") if "\t" in line}
    dst = cache / f"{src.name}-every{every}"
    (dst / "qrels").mkdir(parents=True, exist_ok=True)
    with open(src / "corpus.jsonl") as fin, open(dst / "corpus.jsonl", "w") as fout:
        for i, line in enumerate(fin):
            if i % every == 0 or json.loads(line)["_id"] in judged:
                fout.write(line)
    shutil.copy(src / "queries.jsonl", dst / "queries.jsonl")
    shutil.copy(src / "qrels" / "test.tsv", dst / "qrels" / "test.tsv")
    return dst


def main() -> int:
    from qa.embedders import get_embedder
    from qa.evaluation.questions import beir_index, read_source
    from qa.evaluation.runner import evaluate_set

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", nargs="?", default=str(ROOT.parent / "shared" / "bench" / "scifact"))
    ap.add_argument("--backends", nargs="+", default=["torch", "onnx-int8"])
    ap.add_argument("--configs", nargs="+", default=["dense", "hybrid"])
    ap.add_argument("--cache", default=str(ROOT / ".cache" / "eval"))
    ap.add_argument("--every", type=int, default=1, help="keep judged documents + every N-th other one")
    args = ap.parse_args()
    source = subsample(Path(args.source), args.every, Path(args.cache)) if args.every > 1 else args.source
    qset = read_source(source)
    out: dict = {"source": args.source, "every": args.every, "questions": len(qset.questions),
                 "documents": sum(1 for _ in open(Path(source) / "corpus.jsonl")), "backends": {}}
    for backend in args.backends:
        embedder = get_embedder(backend=backend)
        t0 = time.perf_counter()
        index, stats = beir_index(qset, args.cache, embedder)
        seconds = time.perf_counter() - t0
        run = evaluate_set(index, qset.questions, args.configs, k=100, single_sample=0)
        out["backends"][backend] = {
            "fingerprint": embedder.fingerprint(), "passages": len(index),
            "index_seconds": None if stats.up_to_date else round(seconds, 1),
            "ndcg@10": {c: r.metrics.get("ndcg@10") for c, r in run.results.items()},
            "recall@100": {c: r.metrics.get("recall@100") for c, r in run.results.items()},
        }
        print(json.dumps({backend: out["backends"][backend]}), file=sys.stderr)
    if "torch" in out["backends"]:
        ref = out["backends"]["torch"]["ndcg@10"]
        out["delta_vs_torch"] = {b: {c: round(v["ndcg@10"][c] - ref[c], 4) for c in ref}
                                 for b, v in out["backends"].items() if b != "torch"}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
