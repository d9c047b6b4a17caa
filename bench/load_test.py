"""Load test of the web UI's `ask` API: N concurrent gradio_client clients for D seconds,
loopback only, bounded in time and request count. Prints JSON. Not a test (a short version
runs in tests/test_load.py). Usage:

    python bench/load_test.py [--index index] [--clients 16] [--seconds 60] [--max-requests 100000]
                              [--upload FILE [--upload-after 5]] [--config NAME] [--api]

With `--api` the JSON API is driven instead (GET /api/v1/ask, one keep-alive httpx client per
simulated client; uploads through POST /api/v1/articles), against `qa serve` started in its own
process, as it is deployed (the clients' threads then do not share the server's interpreter).

With `--upload`, the index is copied to a temporary folder and, `--upload-after` seconds into the
run, one more client uploads FILE through the UI's upload API while the others keep asking: the
JSON then also reports the upload's time and the latency of the questions asked while it indexed
(issue 15: questions are answered from the old index during an upload).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

QUESTIONS = [
    "What did Russia propose on decarbonization?",
    "Who is the leading SCO expert?",
    "Where was the joint SCO and CSTO meeting held?",
    "What kind of government does the SCO advocate in Afghanistan?",
    "Which anniversary of the SCO is marked?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gradio_calls(url: str, k: int, config: str | None = None):
    """(ask(question) -> answer dict, upload(path) -> message) through the UI's Gradio API."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    return (lambda q: client.predict(q, k, config or "", "", "", "", api_name="/ask"),
            lambda path: str(client.predict([handle_file(str(path))], api_name="/upload")[0])[:300])


def _api_calls(url: str, k: int, config: str | None = None):
    """(ask, upload) through the JSON API; a non-200 answer raises with its JSON error."""
    import httpx

    client = httpx.Client(base_url=url.rstrip("/"), timeout=120)
    params = {"k": k, **({"config": config} if config else {})}

    def ask(q: str) -> dict:
        r = client.get("/api/v1/ask", params={"q": q, **params})
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")
        return r.json()

    def upload(path: Path) -> str:
        with open(path, "rb") as f:
            r = client.post("/api/v1/articles", files={"files": (path.name, f)})
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:300]}")
        return r.text[:300]

    return ask, upload


def run_load(url: str, clients: int, seconds: float, max_requests: int, k: int = 5,
             upload: Path | None = None, upload_after: float = 5.0, api: bool = False,
             config: str | None = None) -> dict:
    """Hammer `url`'s ask endpoint (and upload `upload` during it); returns throughput, latency
    percentiles and errors. `api`: the JSON API (with `config`, else the server's default) instead
    of the UI's Gradio API."""
    calls = (lambda: _api_calls(url, k, config)) if api else (lambda: _gradio_calls(url, k, config))

    uploaded: dict = {}  # start, end, message or error of the upload
    latencies: list[float] = []
    spans: list[tuple[float, float]] = []  # (start, end) of each answered question, monotonic
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    count = {"n": 0}

    def worker(i: int) -> None:
        ask, _ = calls()
        j = i
        while time.monotonic() < deadline or (upload is not None and "end" not in uploaded):
            with lock:
                if count["n"] >= max_requests:
                    return
                count["n"] += 1
            q = QUESTIONS[j % len(QUESTIONS)]
            j += 1
            t0 = time.perf_counter()
            try:
                out = ask(q)
                ok = isinstance(out, dict) and out.get("hits")
                if not ok:
                    raise RuntimeError(f"no hits for {q!r}")
                with lock:
                    latencies.append((time.perf_counter() - t0) * 1000)
                    spans.append((t0, time.perf_counter()))
            except Exception as e:  # counted and reported, never hidden
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")

    def uploader() -> None:
        _, send = calls()
        time.sleep(upload_after)
        uploaded["start"] = time.perf_counter()
        try:
            uploaded["message"] = send(upload)
        except Exception as e:  # reported, never hidden
            uploaded["error"] = f"{type(e).__name__}: {e}"
        uploaded["end"] = time.perf_counter()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    if upload is not None:
        threads.append(threading.Thread(target=uploader, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + (1800 if upload is not None else 120))
    wall = time.monotonic() - t0
    lat = sorted(latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))], 1) if lat else float("nan")

    out = {"clients": clients, "seconds": round(wall, 1), "requests": len(lat), "errors": len(errors),
           "error_samples": errors[:3], "throughput_rps": round(len(lat) / wall, 2),
           "latency_ms": {"p50": pct(50), "p95": pct(95), "p99": pct(99),
                          "mean": round(statistics.fmean(lat), 1) if lat else None}}
    if upload is not None:
        out["upload"] = _during_upload(uploaded, spans, latencies)
    return out


def _during_upload(uploaded: dict, spans: list[tuple[float, float]], latencies: list[float]) -> dict:
    """The upload's outcome and the latency of the questions asked while it was indexing."""
    if "end" not in uploaded:
        return {"error": "the upload did not finish within the run"}
    start, end = uploaded["start"], uploaded["end"]
    during = sorted(ms for (a, b), ms in zip(spans, latencies) if a < end and b > start)
    pick = (lambda p: round(during[min(len(during) - 1, int(p / 100 * len(during)))], 1)) if during else None
    return {"seconds": round(end - start, 1), "message": uploaded.get("message"), "error": uploaded.get("error"),
            "questions_during": len(during),
            "latency_ms_during": {"p50": pick(50), "p95": pick(95), "max": during[-1]} if during else None}


def serve_api(index_dir: str, upload_dir: Path, timeout: float = 600.0):
    """Start `qa serve` on a free loopback port in its own process and wait until it is ready
    (index and model loaded, one question answered). Returns (process, base URL, health body)."""
    import subprocess
    import sys

    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--index", index_dir, "--port", str(port),
                             "--uploads", str(upload_dir)], cwd=ROOT,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"qa serve exited with code {proc.returncode}")
        try:
            health = httpx.get(url + "/api/v1/health", timeout=5)
            if health.status_code == 200:
                httpx.get(url + "/api/v1/ask", params={"q": QUESTIONS[0]}, timeout=120).raise_for_status()
                return proc, url, health.json()
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError("qa serve did not become ready")
        time.sleep(0.5)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--index", default=str(ROOT / "index"))
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--max-requests", type=int, default=100_000)
    p.add_argument("--upload", type=Path, default=None, help="a file to upload during the run")
    p.add_argument("--upload-after", type=float, default=5.0, help="seconds into the run")
    p.add_argument("--api", action="store_true", help="drive the JSON API of `qa serve` (own process)")
    p.add_argument("--config", default=None, help="the configuration asked for (default: the server's)")
    args = p.parse_args()
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="qa-load-"))
    index_dir = args.index
    if args.upload:  # the upload changes an index: a copy, never the one given
        index_dir = str(work / "index")
        shutil.copytree(args.index, index_dir)
    if args.api:
        proc, url, health = serve_api(index_dir, work / "uploads")
        try:
            result = run_load(url, args.clients, args.seconds, args.max_requests, upload=args.upload,
                              upload_after=args.upload_after, api=True, config=args.config)
        finally:
            proc.terminate()
            proc.wait(30)
            shutil.rmtree(work, ignore_errors=True)
        result.update({"api": True, "config": args.config or "default", "index": args.index,
                       "passages": health.get("passages"), "cores": os.cpu_count()})
        print(json.dumps(result))
        return
    from qa import Index
    from qa.ui.app import QUEUE_MAX, build_demo

    index = Index.load(index_dir)
    index.search("warm up the model")
    demo = build_demo(index_dir, index=index, upload_dir=str(work / "uploads"))
    demo.queue(default_concurrency_limit=2, max_size=QUEUE_MAX)  # as `make run` serves it
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        result = run_load(f"http://127.0.0.1:{port}/", args.clients, args.seconds, args.max_requests,
                          upload=args.upload, upload_after=args.upload_after, config=args.config)
    finally:
        demo.close()
        shutil.rmtree(work, ignore_errors=True)
    result.update({"api": False, "config": args.config or "default", "index": args.index,
                   "passages": len(index.passages), "cores": os.cpu_count()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
