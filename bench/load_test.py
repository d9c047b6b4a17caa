"""Load test of the web UI's `ask` API: N concurrent gradio_client clients for D seconds,
loopback only, bounded in time and request count. Prints JSON. Not a test (a short version
runs in tests/test_load.py). Usage:

    python bench/load_test.py [--index index] [--clients 16] [--seconds 60] [--max-requests 100000]
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


def run_load(url: str, clients: int, seconds: float, max_requests: int, k: int = 5) -> dict:
    """Hammer `url`'s ask endpoint; returns throughput, latency percentiles and errors."""
    from gradio_client import Client

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    count = {"n": 0}

    def worker(i: int) -> None:
        client = Client(url, verbose=False)
        j = i
        while time.monotonic() < deadline:
            with lock:
                if count["n"] >= max_requests:
                    return
                count["n"] += 1
            q = QUESTIONS[j % len(QUESTIONS)]
            j += 1
            t0 = time.perf_counter()
            try:
                out = client.predict(q, k, "", "", "", "", api_name="/ask")
                ok = isinstance(out, dict) and out.get("hits")
                if not ok:
                    raise RuntimeError(f"no hits for {q!r}")
                with lock:
                    latencies.append((time.perf_counter() - t0) * 1000)
            except Exception as e:  # counted and reported, never hidden
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    wall = time.monotonic() - t0
    lat = sorted(latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))], 1) if lat else float("nan")

    return {"clients": clients, "seconds": round(wall, 1), "requests": len(lat), "errors": len(errors),
            "error_samples": errors[:3], "throughput_rps": round(len(lat) / wall, 2),
            "latency_ms": {"p50": pct(50), "p95": pct(95), "p99": pct(99),
                           "mean": round(statistics.fmean(lat), 1) if lat else None}}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--index", default=str(ROOT / "index"))
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--max-requests", type=int, default=100_000)
    args = p.parse_args()
    import app
    from qa import Index

    index = Index.load(args.index)
    index.search("warm up the model")
    demo = app.build_demo(args.index, index=index)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        result = run_load(f"http://127.0.0.1:{port}/", args.clients, args.seconds, args.max_requests)
    finally:
        demo.close()
    result.update({"index": args.index, "passages": len(index.passages), "cores": os.cpu_count()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
