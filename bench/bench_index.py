"""Time to a searchable index: `qa index` (defaults) against the naive sentence-transformers encode.

    python bench/bench_index.py [--corpus scifact|time|rgb_en_fact|PATH/corpus.jsonl]
                                [--runs qa naive naive-whole first-answer] [--question Q] [--qa-args ...]

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
- first-answer (issue 25): the seconds from starting that same `qa index` until a question is
  answered from its folder. This process loads the model first (a server already up, waiting
  for the index), starts `qa index`, and polls the folder every 0.2 s: once a build is
  committed it loads it and asks the corpus's first query (`--question` to choose another),
  until hits come back. Reports that time, how many articles were then still being embedded,
  and the build's own seconds, steps (and their cost) and peak RSS.

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
                        "steps": s.get("steps", 0), "first_step_seconds": s.get("first_step_seconds"),
                        "index_mb": round(sum(f.stat().st_size for f in ix.rglob("*") if f.is_file()) / 2**20, 1),
                        "stages_s": s.get("stages", {}),
                        "stages_share": {k: round(v / total, 3) for k, v in s.get("stages", {}).items()}})
    return out


def first_query(corpus: Path) -> str:
    """The first query of the corpus's BEIR folder (queries.jsonl beside corpus.jsonl)."""
    queries = corpus.with_name("queries.jsonl")
    with open(queries, encoding="utf-8") as fh:
        return json.loads(fh.readline())["text"]


def run_first_answer(corpus: Path, extra: list[str], question: str | None, poll_s: float = 0.2) -> dict:
    """Start `qa index` on an empty folder and poll it with a real question until hits come back."""
    from qa.answer.ask import ask
    from qa.embedders import get_embedder
    from qa.errors import QAError
    from qa.index import Index
    from qa.settings import Settings
    from qa.storage.folder import IndexFolder

    question = question or first_query(corpus)
    settings = Settings()
    embedder = get_embedder(settings.model, settings.batch_size, settings.backend)
    embedder.embed_batch([question])  # the model is up before the clock starts, as in a running server
    out: dict = {"question": question}
    with tempfile.TemporaryDirectory() as d:
        ix = Path(d) / "index"
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", PEAK, sys.executable, "-m", "qa", "index", str(corpus),
                                 "--index", str(ix), "--json", *extra], cwd=ROOT,
                                env={**os.environ, "HF_HUB_OFFLINE": "1"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while "first_answer_s" not in out:
            if IndexFolder(ix).exists():
                try:
                    answer = ask(Index.load(ix, embedder=embedder), question, k=5)
                except QAError:
                    answer = None  # read while a step was swapped in: poll again
                if answer is not None and answer.hits:
                    out.update(first_answer_s=round(time.perf_counter() - t0, 2), pending=answer.pending,
                               first_hit=answer.hits[0].doc_id)
                    break
            if proc.poll() is not None and not IndexFolder(ix).exists():
                break
            time.sleep(poll_s)
        stdout, stderr = proc.communicate()
        out["index_seconds"] = round(time.perf_counter() - t0, 1)
        peak = [ln for ln in stderr.splitlines() if ln.startswith("PEAK_RSS_KB")]
        out["peak_rss_mb"] = round(int(peak[-1].split()[1]) / 1024) if peak else None
        if proc.returncode != 0:
            out["error"] = stderr[-2000:]
        else:
            summary = json.loads(stdout.strip().splitlines()[-1])
            out.update({k: summary.get(k) for k in ("articles", "passages", "steps", "first_step_seconds")},
                       steps_s=round(summary.get("stages", {}).get("steps", 0.0), 2))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="scifact")
    ap.add_argument("--runs", nargs="+", choices=["qa", "naive", "naive-whole", "first-answer"],
                    default=["qa", "naive", "naive-whole", "first-answer"])
    ap.add_argument("--question", default=None, help="first-answer: the question to poll with "
                    "(default: the corpus's first query)")
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
                     if name == "naive-whole" else run_first_answer(corpus, args.qa_args, args.question)
                     if name == "first-answer" else run_qa(corpus, args.qa_args))
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
