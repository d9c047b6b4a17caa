"""Time to a searchable index: `qa index` (defaults) against the naive sentence-transformers encode.

    python bench/bench_index.py [--corpus scifact|time|rgb_en_fact|PATH/corpus.jsonl] [--runs qa naive naive-whole]

Both run in fresh processes, one after the other, in the same invocation (issue 14 compares them
within one run, since a shared machine's speed drifts between runs):

- naive: what a newcomer would write: `SentenceTransformer(<packaged all-MiniLM-L6-v2>)`,
  fp32 on the CPU, `.encode([title + " " + text for each document], batch_size=32)` (model load
  included), nothing else: no chunking, no index, no highlight.
- naive-whole (issue 25's honest baseline): the same model and encode call over all of each
  document's text, cut into windows of 256 word pieces without overlap (the naive run above drops
  everything past the first 256); reports the word pieces embedded.
- qa: `qa index CORPUS --index <empty tmp folder> --json` with every default on (the backend,
  passages, sentence vectors for the highlight, BM25, FAISS), from an empty folder.

Reports wall seconds, peak RSS (ru_maxrss of each process), the ratio naive / qa (> 1: qa is
faster), qa's stage profile (read, chunk, embed, write, vector store, bm25: seconds and share)
and the machine's load average before and after. Prints one JSON object.
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
BENCH = ROOT.parent / "shared" / "bench"

NAIVE = """
import json, sys
from sentence_transformers import SentenceTransformer
from qa.embedders.base import model_path
docs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
texts = [(d.get("title") or "") + " " + (d.get("text") or "") for d in docs]
model = SentenceTransformer(str(model_path()), device="cpu")
vecs = model.encode(texts, batch_size=32, show_progress_bar=False)
lens = [len(ids) for ids in model.tokenizer(texts, add_special_tokens=False)["input_ids"]]
limit = model.max_seq_length - 2  # word pieces past this are cut off (not embedded)
print(json.dumps({"documents": len(texts), "dim": int(vecs.shape[1]), "word_pieces_text": sum(lens),
                  "word_pieces_embedded": sum(min(n, limit) for n in lens)}))
"""

# the honest naive baseline (issue 25): all of each document embedded, in windows of the
# model's 256 word pieces without overlap, cut on word-piece boundaries of the text
NAIVE_WHOLE = """
import json, sys
from sentence_transformers import SentenceTransformer
from qa.embedders.base import model_path
docs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
model = SentenceTransformer(str(model_path()), device="cpu")
width = model.max_seq_length - 2
windows, pieces = [], 0
for d in docs:
    text = (d.get("title") or "") + " " + (d.get("text") or "")
    offs = model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    pieces += len(offs)
    for s in range(0, len(offs), width):
        part = offs[s:s + width]
        windows.append(text[part[0][0]:part[-1][1]])
vecs = model.encode(windows, batch_size=32, show_progress_bar=False)
print(json.dumps({"documents": len(docs), "windows": len(windows), "dim": int(vecs.shape[1]),
                  "word_pieces_text": pieces, "word_pieces_embedded": pieces}))
"""

# runs a command and reports its own child's peak RSS (a fresh process per measurement)
PEAK = """
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:])
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(r.returncode)
"""


def corpus_file(name: str) -> Path:
    p = Path(name)
    return p if p.suffix == ".jsonl" else BENCH / name / "corpus.jsonl"


def measured(cmd: list[str]) -> dict:
    """Wall seconds, peak RSS and stdout of `cmd` in a fresh process."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", PEAK, *cmd], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "HF_HUB_OFFLINE": "1"})
    secs = time.perf_counter() - t
    peak = [ln for ln in r.stderr.splitlines() if ln.startswith("PEAK_RSS_KB")]
    out = {"seconds": round(secs, 1), "peak_rss_mb": round(int(peak[-1].split()[1]) / 1024) if peak else None}
    if r.returncode != 0:
        out["error"] = r.stderr[-2000:]
    else:
        out["stdout"] = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    return out


def run_naive(corpus: Path, script: str = NAIVE) -> dict:
    out = measured([sys.executable, "-c", script, str(corpus)])
    if "stdout" in out:
        out.update(json.loads(out.pop("stdout")))
    return out


def run_qa(corpus: Path, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as d:
        ix = Path(d) / "index"
        out = measured([sys.executable, "-m", "qa", "index", str(corpus), "--index", str(ix), "--json", *extra])
        if "stdout" in out:
            s = json.loads(out.pop("stdout"))
            total = sum(s.get("stages", {}).values()) or 1.0
            out.update({"articles": s["articles"], "passages": s["passages"], "embedded": s["embedded"],
                        "sentences_embedded": s.get("sentences_embedded", 0),
                        "sentences_in_context": s.get("sentences_in_context", 0),
                        "index_mb": round(sum(f.stat().st_size for f in ix.rglob("*") if f.is_file()) / 2**20, 1),
                        "stages_s": s.get("stages", {}),
                        "stages_share": {k: round(v / total, 3) for k, v in s.get("stages", {}).items()}})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="scifact")
    ap.add_argument("--runs", nargs="+", choices=["qa", "naive", "naive-whole"], default=["qa", "naive", "naive-whole"])
    ap.add_argument("--qa-args", nargs=argparse.REMAINDER, default=[], help="extra `qa index` flags")
    args = ap.parse_args()
    corpus = corpus_file(args.corpus)
    if not corpus.exists():
        print(json.dumps({"skipped": f"no corpus at {corpus}"}))
        return 0
    out: dict = {"corpus": str(corpus), "cores": os.cpu_count(),
                 "loadavg_1m_start": float(open("/proc/loadavg").read().split()[0])}
    for name in args.runs:
        out[name] = (run_naive(corpus) if name == "naive" else run_naive(corpus, NAIVE_WHOLE)
                     if name == "naive-whole" else run_qa(corpus, args.qa_args))
        print(json.dumps({name: out[name]}), file=sys.stderr)
    if "seconds" in out.get("qa", {}) and "seconds" in out.get("naive", {}) and "error" not in out["qa"]:
        out["speedup_vs_naive"] = round(out["naive"]["seconds"] / out["qa"]["seconds"], 2)
    if "seconds" in out.get("qa", {}) and "seconds" in out.get("naive-whole", {}) and "error" not in out["qa"]:
        out["speedup_vs_naive_whole"] = round(out["naive-whole"]["seconds"] / out["qa"]["seconds"], 2)
    out["loadavg_1m_end"] = float(open("/proc/loadavg").read().split()[0])
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
