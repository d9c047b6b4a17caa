"""Memory of `qa ask` on a ~100k-passage index before and after a hostile 10 MiB upload (issue 15, item 2).

    python bench/bench_upload_memory.py INDEX [--work /tmp/qa-upload-mem]

INDEX is a built index (e.g. `bench_query.py build --n 54000`, 101,128 passages); it is copied,
never changed. The upload is one 10 MiB JSON-lines file made to inflate any structure sized by its
longest value: a 3 MiB `source`, a 3 MiB `title`, a 2 MiB `url`, a 1 MiB id (refused), and
ordinary records filling the rest. It is added the way the web UI adds an upload
(`Service.add`, real model). Then `qa ask` runs in a fresh process on the original and on the
updated copy; each process reports its own peak RSS (ru_maxrss). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

QUESTION = "What did Russia propose on decarbonization?"
UPLOAD_BYTES = 10 * 1024 * 1024


def hostile_upload(path: Path) -> dict:
    """Write the 10 MiB upload; returns what it holds."""
    body = "Officials met in Moscow to discuss energy cooperation and the decarbonization of industry. " * 4
    recs = [
        {"id": "huge-source", "title": "A normal title", "text": body, "source": "S" * (3 << 20)},
        {"id": "huge-title", "title": "T" * (3 << 20), "text": body},
        {"id": "huge-url", "title": "Long link", "text": body, "url": "https://x.example/" + "u" * (2 << 20)},
        {"id": "I" * (1 << 20), "title": "Huge id", "text": body},
    ]
    with open(path, "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
        n = 0
        while f.tell() < UPLOAD_BYTES - 2000:
            f.write(json.dumps({"id": f"filler-{n}", "title": f"Filler {n}", "text": body}) + "\n")
            n += 1
    return {"bytes": path.stat().st_size, "records": len(recs) + n}


def peak_rss_mb(code: str) -> tuple[float, float, str]:
    """(peak RSS MB, seconds, stdout tail) of `code` run in a fresh Python process."""
    wrapped = code + "\nimport resource, sys\nprint('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, check=True).stdout
    rss = float(out.strip().splitlines()[-1].split()[1]) / 1024
    return round(rss, 1), round(time.perf_counter() - t0, 1), out[-300:]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("index", type=Path)
    p.add_argument("--work", type=Path, default=Path("/tmp/qa-upload-mem"))
    args = p.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    copy = args.work / "index"
    shutil.copytree(args.index, copy)
    upload = args.work / "incoming" / "hostile.jsonl"
    upload.parent.mkdir()
    held = hostile_upload(upload)
    ask = ("from qa.cli.main import main\n"
           f"main(['ask', {QUESTION!r}, '--index', {{!r}}, '--json'])")
    before = peak_rss_mb(ask.format(str(copy)))
    add = ("from qa.ui.service import Service\n"
           f"s = Service({str(copy)!r}, upload_dir={str(args.work / 'uploads')!r})\n"
           f"saved, rejected = s.save_uploads([{str(upload)!r}])\n"
           "r = s.add(saved)\n"
           "print(len(r.articles), 'articles;', len(r.problems), 'problems;', r.problems[:4])")
    added = peak_rss_mb(add)
    after = peak_rss_mb(ask.format(str(copy)))
    manifest = json.loads((copy / "manifest.json").read_text())
    print(json.dumps({
        "index": str(args.index), "passages_after": manifest["counts"]["passages"], "upload": held,
        "ask_before": {"peak_rss_mb": before[0], "seconds": before[1]},
        "upload_add": {"peak_rss_mb": added[0], "seconds": added[1], "report": added[2].splitlines()[0][:300]},
        "ask_after": {"peak_rss_mb": after[0], "seconds": after[1]},
        "ask_after_under_1gb": after[0] < 1024,
    }))


if __name__ == "__main__":
    main()
