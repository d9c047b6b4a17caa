"""Cold start: seconds from process start to the first answered question, CLI and web UI.

    python bench/bench_coldstart.py [--backends torch onnx-int8] [--repeats 3]

For each backend the demo corpus (data/articles) is indexed into a temporary folder, then:
- CLI: `python -m qa ask QUESTION --index DIR --json` is started and timed until it exits with
  an answer (process start, imports, index load, model load, search, citation);
- UI: `python app.py --index DIR --port P` is started and the `/ask` API is polled with
  gradio_client until it answers; timed from the server process's start.
The ONNX export cache (QA_CACHE_DIR) is warm, as on any run after the first. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What did Russia propose on decarbonization?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_once(index: Path) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "qa", "ask", QUESTION, "--index", str(index), "--json"],
                       cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode or not json.loads(r.stdout)["hits"]:
        raise SystemExit(f"qa ask failed: {r.stderr[-400:]}")
    return wall


def ui_once(index: Path, timeout: float = 120.0) -> float:
    from gradio_client import Client

    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--index", str(index), "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - t < timeout:
            try:
                out = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
                    QUESTION, 5, "", "", "", "", api_name="/ask")
                if out:
                    return time.perf_counter() - t
            except Exception:  # server not up yet
                time.sleep(0.05)
        raise SystemExit("the UI did not answer within the timeout")
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", nargs="+", default=["torch", "onnx-int8"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-ui", action="store_true")
    args = ap.parse_args()
    out: dict = {"corpus": "data/articles (demo)", "question": QUESTION, "backends": {}}
    with tempfile.TemporaryDirectory() as d:
        for b in args.backends:
            ix = Path(d) / b
            subprocess.run([sys.executable, "-m", "qa", "index", "data/articles", "--index", str(ix), "--backend", b,
                            "--json"], cwd=ROOT, check=True, capture_output=True)
            cli_once(ix)  # warm the OS file cache and the export cache: every timed run is alike
            res = {"cli_seconds": [round(cli_once(ix), 2) for _ in range(args.repeats)]}
            if not args.no_ui:
                res["ui_seconds"] = [round(ui_once(ix), 2) for _ in range(args.repeats)]
            res = {**res, **{k.replace("seconds", "median"): round(statistics.median(v), 2) for k, v in res.items()}}
            out["backends"][b] = res
            print(json.dumps({b: res}), file=sys.stderr)
    out["loadavg_1m"] = float(open("/proc/loadavg").read().split()[0])
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
