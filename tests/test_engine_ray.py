"""`engine="ray"`: Ray Data actors write the index the local path writes, on a local 2-CPU
runtime that is stopped afterwards; and Ray is never imported unless asked for.
Skipped only when Ray is not installed."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa import Index, Settings
from tests.support.fake_embedder import HashEmbedder

ROOT = Path(__file__).resolve().parent.parent
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="Ray is not installed (pip install -r requirements-scale.txt)")
RAY_MARKERS = ("gcs_server", "raylet", "ray::", "default_worker.py", "log_monitor.py",
               "ray/dashboard", "ray/autoscaler", "runtime_env/agent")


def ray_processes() -> set[int]:
    """Live (not zombie) processes of a Ray runtime on this machine."""
    found = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(m in cmd for m in RAY_MARKERS):
            found.add(int(d.name))
    return found


@pytest.fixture
def no_ray_left():
    """Fail (and stop them, by pid) if Ray processes started by the test outlive it."""
    before = ray_processes()
    yield
    deadline = time.time() + 20
    while (left := ray_processes() - before) and time.time() < deadline:
        time.sleep(0.5)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not left, f"Ray processes left running: {sorted(left)}"


def _index_files(folder: Path) -> dict:
    m = json.loads((folder / "manifest.json").read_text())
    return {"passages": (folder / "passages.jsonl").read_bytes(),
            "articles": (folder / "articles.jsonl").read_bytes(),
            "vectors": np.load(folder / "vectors.npy"), "model": m["model"], "counts": m["counts"]}


@needs_ray
@pytest.mark.slow
def test_ray_engine_writes_the_index_the_local_path_writes(corpus_dir, tmp_path, no_ray_left, monkeypatch):
    import qa.embedders.ray_engine as engine

    addresses = []
    real_start = engine._start

    def start(settings):
        started = real_start(settings)
        import ray

        addresses.append(ray._private.services.get_node_ip_address())
        return started

    monkeypatch.setattr(engine, "_start", start)
    local = Index.build([corpus_dir], tmp_path / "local", embedder=HashEmbedder())
    ray_ix = Index.build([corpus_dir], tmp_path / "ray", embedder=HashEmbedder(),
                         settings=Settings(engine="ray"))
    assert ray_ix.last_build.embedded == local.last_build.embedded == len(local.passages)
    a, b = _index_files(local.folder), _index_files(ray_ix.folder)
    assert a["passages"] == b["passages"] and a["articles"] == b["articles"]  # bit-identical
    assert np.allclose(a["vectors"], b["vectors"], atol=1e-6)
    assert a["model"] == b["model"] and a["counts"] == b["counts"]
    q = ["decarbonization consultations", "cup final"]
    assert [[h.passage.passage_id for h in hs] for hs in local.search_batch(q, k=3)] == \
           [[h.passage.passage_id for h in hs] for hs in ray_ix.search_batch(q, k=3)]
    assert "ray" in sys.modules and addresses == ["127.0.0.1"]  # through Ray, on loopback


@needs_ray
@pytest.mark.slow
def test_ray_engine_with_the_real_model_matches_local_to_float_tolerance(corpus_dir, tmp_path,
                                                                        real_embedder, no_ray_left):
    local = Index.build([corpus_dir], tmp_path / "local", embedder=real_embedder)
    ray_ix = Index.build([corpus_dir], tmp_path / "ray", embedder=real_embedder,
                         settings=Settings(engine="ray"))
    a, b = _index_files(local.folder), _index_files(ray_ix.folder)
    assert a["passages"] == b["passages"]
    assert np.allclose(a["vectors"], b["vectors"], atol=1e-5)
    assert a["model"]["fingerprint"] == b["model"]["fingerprint"]


@needs_ray
@pytest.mark.slow
def test_cli_index_engine_ray_then_unchanged_rerun_embeds_nothing(corpus_dir, tmp_path, no_ray_left):
    cmd = [sys.executable, "-m", "tests.support.qa_cli", "index", str(corpus_dir), "--index", str(tmp_path / "ix"),
           "--backend", "hash", "--engine", "ray", "--json"]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["embedded"] > 0
    second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert json.loads(second.stdout)["up_to_date"] is True  # nothing to embed: Ray never starts


def test_local_index_and_search_do_not_import_ray(corpus_dir, tmp_path):
    code = ("import sys; from qa import Index; from tests.support.fake_embedder import HashEmbedder\n"
            f"ix = Index.build([{str(corpus_dir)!r}], {str(tmp_path / 'ix')!r}, embedder=HashEmbedder())\n"
            "ix.search('cup final', k=2)\n"
            "import qa.cli.main; qa.cli.main.build_parser()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'pymilvus', 'milvus_lite')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_unknown_engine_is_refused(corpus_dir, tmp_path):
    from qa.errors import QAError

    with pytest.raises(QAError, match="unknown embedding engine 'spark'"):
        Index.build([corpus_dir], tmp_path / "ix", embedder=HashEmbedder(), settings=Settings(engine="spark"))


def test_engines_registry_names_local_first_and_local_embeds_one_batch_per_shard():
    from qa.embedders.engines import ENGINES

    emb = HashEmbedder()
    assert ENGINES.names() == ("local", "ray") and Settings().engine == "local"
    out = list(ENGINES.get("local")(emb, Settings(), [["a b", "c"], ["d"]]))
    assert [v.shape for v in out] == [(2, emb.dim), (1, emb.dim)] and emb.batches == [["a b", "c"], ["d"]]


def test_ray_engine_without_ray_installed_raises_bad_input_with_install_hint(corpus_dir, tmp_path, monkeypatch):
    from qa.errors import BadInput

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ray" else real_find_spec(name, *a))
    with pytest.raises(BadInput, match=r"--engine ray needs Ray Data; install it with `pip install -r "
                                       r"requirements-scale.txt`"):
        Index.build([corpus_dir], tmp_path / "ix", embedder=HashEmbedder(), settings=Settings(engine="ray"))
    assert not (tmp_path / "ix" / "manifest.json").exists()
