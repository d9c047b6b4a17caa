"""End-to-end `qa index` on the SciFact corpus, with and without stored sentence vectors.

    python bench/bench_index.py [--backend onnx-int8] [--variants sentences no-sentences]

Each variant runs `python -m qa index <scifact>/corpus.jsonl --index <tmp> --json` in a fresh
process from an empty folder (everything is embedded), and reports its wall seconds, what it
embedded and the index's size on disk. The difference between the variants is what embedding
the highlighter's sentences at index time costs. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared" / "bench" / "scifact"
VARIANTS = {"sentences": "--sentence-vectors", "no-sentences": "--no-sentence-vectors"}


def folder_bytes(folder: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for p in folder.rglob("*"):
        if p.is_file():
            top = p.relative_to(folder).parts[0]
            sizes[top] = sizes.get(top, 0) + p.stat().st_size
    return sizes


def run(variant: str, backend: str) -> dict:
    with tempfile.TemporaryDirectory() as d:
        ix = Path(d) / "index"
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "qa", "index", str(SCIFACT / "corpus.jsonl"),
                            "--index", str(ix), "--backend", backend, VARIANTS[variant], "--json"],
                           capture_output=True, text=True, cwd=ROOT,
                           env={**os.environ, "HF_HUB_OFFLINE": "1"})
        secs = time.perf_counter() - t
        if r.returncode != 0:
            return {"error": r.stderr[-2000:]}
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        sizes = folder_bytes(ix)
        return {"seconds": round(secs, 1), "passages": summary["passages"],
                "embedded_passages": summary["embedded"],
                "embedded_sentences": summary.get("sentences_embedded", 0),
                "passages_per_s": round(summary["passages"] / secs, 1),
                "index_mb": round(sum(sizes.values()) / 2**20, 1),
                "sentences_mb": round(sizes.get("sentences", 0) / 2**20, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="onnx-int8")
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = ap.parse_args()
    if not (SCIFACT / "corpus.jsonl").exists():
        print(json.dumps({"skipped": f"no SciFact corpus at {SCIFACT}"}))
        return 0
    out: dict = {"corpus": "SciFact corpus.jsonl (5,183 abstracts)", "backend": args.backend,
                 "cores": os.cpu_count(), "loadavg_1m_start": float(open("/proc/loadavg").read().split()[0])}
    for v in args.variants:
        out[v] = run(v, args.backend)
        print(json.dumps({v: out[v]}), file=sys.stderr)
    if "sentences" in out and "no-sentences" in out and "seconds" in out["no-sentences"]:
        out["sentence_cost_ratio"] = round(out["sentences"]["seconds"] / out["no-sentences"]["seconds"], 2)
    out["loadavg_1m_end"] = float(open("/proc/loadavg").read().split()[0])
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
