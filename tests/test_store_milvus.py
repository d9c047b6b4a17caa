"""The Milvus store on Milvus Lite: same rankings as FAISS, filters pushed down, delete, reload
from the manifest, a second process refused. Skipped only when pymilvus/milvus-lite are absent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="Milvus store needs pymilvus (requirements-scale.txt)")
pytest.importorskip("milvus_lite", reason="Milvus Lite needs milvus-lite (requirements-scale.txt)")

from qa import Index, IndexLocked, Settings  # noqa: E402
from qa.storage.vector_stores.milvus import MilvusStore, filter_expression  # noqa: E402
from qa.storage.folder import IndexFolder  # noqa: E402
from qa.storage.selection import Filter, Selection  # noqa: E402
from tests.support.fake_embedder import HashEmbedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["decarbonization consultations", "Who won the cup final?", "probe orbit Mars", "energy ministers"]


@pytest.fixture
def pair(corpus_dir, tmp_path):
    """The same corpus in a FAISS index and in a Milvus Lite index."""
    faiss = Index.build([corpus_dir], tmp_path / "faiss", embedder=HashEmbedder())
    milvus = Index.build([corpus_dir], tmp_path / "milvus", embedder=HashEmbedder(),
                         settings=Settings(store="milvus"))
    yield faiss, milvus
    milvus.close()


def _ranking(index, **kw):
    return [[(h.passage.passage_id, round(h.score, 5)) for h in hits]
            for hits in index.search_batch(QUESTIONS, k=5, highlight=False, **kw)]


def test_milvus_index_records_store_and_keeps_citation_files(pair):
    _, milvus = pair
    m = json.loads((milvus.folder / "manifest.json").read_text())
    assert m["store"]["kind"] == "milvus" and m["store"]["embedded"] is True
    assert (milvus.folder / m["store"]["uri"]).is_dir()
    assert "dense.faiss" not in m["files"] and "passages.jsonl" in m["files"]
    assert not any("token" in key for key in json.dumps(m["store"]))
    assert len(milvus.snapshot.dense) == len(milvus.passages)


@pytest.mark.parametrize("config", ["dense", "hybrid", "hybrid-rerank"])
def test_milvus_search_equals_faiss_ranking(pair, config):
    faiss, milvus = pair
    assert _ranking(milvus, config=config) == _ranking(faiss, config=config)


def test_milvus_search_batch_matches_brute_force_on_random_vectors(tmp_path):
    rng = np.random.default_rng(7)
    v = rng.normal(size=(37, 16)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    meta = [{"doc_id": f"d{i}", "source": "S", "date": ""} for i in range(len(v))]
    store = MilvusStore.create(IndexFolder(tmp_path / "b"), v, meta, Settings(store="milvus"))
    try:
        scores, ids = store.search_batch(v[:5], 7)
        expected = np.argsort(-(v[:5] @ v.T), axis=1, kind="stable")[:, :7]
        assert ids.tolist() == expected.tolist()
        assert np.allclose(scores, np.take_along_axis(v[:5] @ v.T, expected, axis=1), atol=1e-5)
        scores, ids = store.search_batch(v[:2], 100)  # k above the count: everything, once
        assert sorted(ids[0].tolist()) == list(range(37))
    finally:
        store.close()


@pytest.mark.parametrize("filters", [{"source": "daily ball"}, {"source": "TASS"},
                                     {"since": "2021-06-01"}, {"until": "2021-06-30", "source": "tass"}])
def test_milvus_filters_are_pushed_down_as_expressions(pair, monkeypatch, filters):
    faiss, milvus = pair
    seen = []
    real = milvus.snapshot.dense.client.search

    def spy(*args, **kw):
        seen.append(kw.get("filter"))
        return real(*args, **kw)

    monkeypatch.setattr(milvus.snapshot.dense.client, "search", spy)
    assert _ranking(milvus, config="dense", **filters) == _ranking(faiss, config="dense", **filters)
    assert seen and all(f and "id in" not in f for f in seen)
    if "source" in filters:
        assert all(f'source_lc like "%{filters["source"].lower()}%"' in f for f in seen)


def test_filter_expression_falls_back_to_rows_for_unsafe_source():
    rows = Selection(np.array([1, 4]), Filter.of('a"b%'))
    assert filter_expression(rows) == "id in [1,4]"
    assert filter_expression(Selection(np.array([2]), Filter())) == "id in [2]"
    rows = Selection(np.array([1]), Filter.of(since="2021-01-01"))
    assert filter_expression(rows) == 'date != "" and date >= "2021-01-01"'


def test_milvus_delete_removes_articles_and_store_rows(pair):
    _, milvus = pair
    assert milvus.delete(["football"]) == 1
    assert len(milvus.snapshot.dense) == len(milvus.passages)
    assert all(h.doc_id != "football" for h in milvus.search("cup final football", k=5, config="dense"))


def test_milvus_store_created_under_given_ids_answers_with_them(tmp_path):
    v = np.eye(4, dtype=np.float32)
    meta = [{"doc_id": f"d{i}", "source": "", "date": ""} for i in (1, 3)]
    store = MilvusStore.create(IndexFolder(tmp_path / "b"), v[[1, 3]], meta, Settings(store="milvus"),
                               ids=np.array([1, 3]))  # a build still embedding rows 0 and 2
    try:
        assert len(store) == 2
        assert set(store.search_batch(v, 2)[1].ravel().tolist()) == {1, 3}
        assert store.search_batch(v[[1, 3]], 1)[1].tolist() == [[1], [3]]
    finally:
        store.close()


def test_milvus_store_add_and_delete_by_id(tmp_path):
    v = np.eye(4, dtype=np.float32)
    meta = [{"doc_id": f"d{i}", "source": "", "date": ""} for i in range(4)]
    store = MilvusStore.create(IndexFolder(tmp_path / "b"), v[:2], meta[:2], Settings(store="milvus"))
    try:
        store.add(np.array([2, 3]), v[2:], meta[2:])
        assert len(store) == 4
        store.delete(np.array([0, 2]))
        assert len(store) == 2
        assert set(store.search_batch(v, 4)[1].ravel().tolist()) == {1, 3}
        assert store.search_batch(v[[1, 3]], 1)[1].tolist() == [[1], [3]]
    finally:
        store.close()


def test_milvus_index_reloads_from_manifest(pair):
    faiss, milvus = pair
    before = _ranking(milvus, config="dense")
    milvus.close()
    again = Index.load(milvus.folder, embedder=HashEmbedder())
    try:
        assert again.settings.store == "milvus"
        assert _ranking(again, config="dense") == before == _ranking(faiss, config="dense")
    finally:
        again.close()


def test_unchanged_rebuild_keeps_milvus_and_switching_store_rebuilds(corpus_dir, tmp_path):
    folder = tmp_path / "ix"
    Index.build([corpus_dir], folder, embedder=HashEmbedder(), settings=Settings(store="milvus")).close()
    again = Index.build([corpus_dir], folder, embedder=HashEmbedder(), settings=Settings(store="milvus"))
    assert again.last_build.up_to_date and again.last_build.embedded == 0
    again.close()
    faiss = Index.build([corpus_dir], folder, embedder=HashEmbedder())
    assert not faiss.last_build.up_to_date and faiss.last_build.embedded == 0  # vectors reused
    assert faiss.manifest["store"] == {"kind": "faiss"} and not list(folder.glob("milvus-*.db"))


def test_second_process_on_a_milvus_lite_index_is_refused_clearly(pair):
    _, milvus = pair  # this process holds the Lite file open
    code = ("import sys; from qa import Index; from tests.support.fake_embedder import HashEmbedder\n"
            f"Index.load({str(milvus.folder)!r}, embedder=HashEmbedder())")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "IndexLocked" in proc.stderr and "Milvus Lite is single-process" in proc.stderr
    assert "Open local milvus failed" not in proc.stderr


def test_second_process_on_a_milvus_lite_index_cli_exits_2(pair):
    _, milvus = pair
    proc = subprocess.run([sys.executable, "-m", "tests.support.qa_cli", "ask", "cup final", "--index",
                           str(milvus.folder)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "single-process" in proc.stderr


def test_lite_file_released_after_close_opens_in_another_process(pair):
    _, milvus = pair
    milvus.close()
    code = ("from qa import Index; from tests.support.fake_embedder import HashEmbedder\n"
            f"ix = Index.load({str(milvus.folder)!r}, embedder=HashEmbedder())\n"
            "print(ix.search('cup final', k=1, config='dense')[0].doc_id); ix.close()")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "football"


@pytest.mark.slow
def test_cli_index_with_store_milvus(corpus_dir, tmp_path):
    folder = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "tests.support.qa_cli", "index", str(corpus_dir), "--index",
                           str(folder), "--backend", "hash", "--store", "milvus", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    m = json.loads((folder / "manifest.json").read_text())
    assert m["store"]["kind"] == "milvus"
    proc = subprocess.run([sys.executable, "-m", "tests.support.qa_cli", "ask", "cup final", "--index", str(folder),
                           "--json", "--source", "daily ball"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hits"][0]["doc_id"] == "football"
