"""Serve questions from an index inside a hard memory limit (a Linux memory cgroup).

    python bench/bench_memory_limit.py INDEX [--limit-mb 1024] [--nq 100] [--configs hybrid ...]

RSS overstates what a memory-mapped index needs: clean pages of mapped files count in RSS but
the kernel drops them whenever memory is short. This runs `bench_query.py query INDEX` (load,
then timed questions per configuration) in a fresh memory cgroup whose limit covers everything
the process charges, anonymous memory and page cache alike, after evicting the index's files
from the page cache so every page it reads is charged to it. If the index needed more than the
limit, the process would be killed (out of memory) or, for file pages, slowed by re-reading
them; the output shows the peak charge, how often the limit was hit, and the latencies.
Needs root and a writable cgroup (v1 `memory` controller or v2); otherwise prints why it skipped.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
V1 = Path("/sys/fs/cgroup/memory")
V2 = Path("/sys/fs/cgroup")


def evict(folder: Path) -> int:
    """Drop the folder's files from the page cache (clean pages only; needs no privilege)."""
    total = 0
    for p in folder.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                total += p.stat().st_size
            finally:
                os.close(fd)
    return total


def make_cgroup(limit: int) -> tuple[Path, str]:
    name = f"qa-bench-{os.getpid()}"
    if (V1 / "memory.limit_in_bytes").exists():
        cg = V1 / name
        cg.mkdir()
        (cg / "memory.limit_in_bytes").write_text(str(limit))
        try:  # no swap to hide in
            (cg / "memory.memsw.limit_in_bytes").write_text(str(limit))
        except OSError:
            pass
        return cg, "v1"
    if (V2 / "cgroup.controllers").exists():
        cg = V2 / name
        cg.mkdir()
        (cg / "memory.max").write_text(str(limit))
        (cg / "memory.swap.max").write_text("0")
        return cg, "v2"
    raise OSError("no memory cgroup controller found")


def read_usage(cg: Path, version: str) -> dict:
    def num(name: str) -> int | None:
        f = cg / name
        return int(f.read_text().split()[0]) if f.exists() else None

    if version == "v1":
        stat = dict(line.split() for line in (cg / "memory.stat").read_text().splitlines())
        return {"peak_mb": round(num("memory.max_usage_in_bytes") / 2**20),
                "limit_hits": num("memory.failcnt"),
                "end_anon_mb": round(int(stat.get("total_rss", 0)) / 2**20),
                "end_page_cache_mb": round(int(stat.get("total_cache", 0)) / 2**20)}
    events = dict(line.split() for line in (cg / "memory.events").read_text().splitlines())
    stat = dict(line.split() for line in (cg / "memory.stat").read_text().splitlines())
    return {"peak_mb": round((num("memory.peak") or 0) / 2**20), "limit_hits": int(events.get("max", 0)),
            "oom_kills": int(events.get("oom_kill", 0)),
            "end_anon_mb": round(int(stat.get("anon", 0)) / 2**20),
            "end_page_cache_mb": round(int(stat.get("file", 0)) / 2**20)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index")
    ap.add_argument("--limit-mb", type=int, default=1024)
    ap.add_argument("--nq", type=int, default=100)
    ap.add_argument("--configs", nargs="+", default=["dense", "hybrid", "hybrid-rerank"])
    args = ap.parse_args()
    limit = args.limit_mb * 2**20
    try:
        cg, version = make_cgroup(limit)
    except OSError as e:
        print(json.dumps({"skipped": f"cannot create a memory cgroup here: {e}"}))
        return 0
    try:
        evicted = evict(Path(args.index))

        def enter() -> None:
            (cg / "cgroup.procs").write_text(str(os.getpid()))

        r = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_query.py"), "query", args.index,
                            "--nq", str(args.nq), "--configs", *args.configs],
                           capture_output=True, text=True, preexec_fn=enter, cwd=ROOT)
        usage = read_usage(cg, version)
    finally:
        try:
            cg.rmdir()
        except OSError:
            pass
    out = {"index": args.index, "limit_mb": args.limit_mb, "cgroup": version,
           "evicted_from_page_cache_mb": round(evicted / 2**20), "returncode": r.returncode,
           "killed_out_of_memory": r.returncode == -9, **usage}
    try:
        q = json.loads(r.stdout)
        out["query"] = {"passages": q["passages"], "load_seconds": q["load_seconds"],
                        "rss_mb": q["rss_mb"], "peak_rss_mb": q["peak_rss_mb"],
                        "rss_parts_mb": q.get("rss_parts_mb"), "loadavg_1m": q["loadavg_1m"],
                        "latency_ms": {c: v["latency_ms"] for c, v in q["configs"].items()},
                        "stages_mean_ms": {c: v["stages_mean_ms"] for c, v in q["configs"].items()}}
    except (json.JSONDecodeError, KeyError):
        out["stderr"] = r.stderr[-3000:]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
