"""Dense index types: exact below the threshold, IVF-SQ8 above it, checked against brute force."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.storage.vector_stores.base import ivf_lists
from qa.storage.folder import IndexFolder
from qa.storage.selection import Filter, Selection
from qa.storage.vector_stores.faiss import FaissStore
from qa.embedders.base import normalize_rows
from tests.support.fake_embedder import HashEmbedder


def clustered(n: int, dim: int = 32, centres: int = 40, seed: int = 0) -> np.ndarray:
    """Unit vectors around a few centres, the shape real embeddings have."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    x = c[rng.integers(0, centres, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return normalize_rows(x)


def brute_force(vecs: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(q @ vecs.T), axis=1, kind="stable")[:, :k]


def test_below_threshold_is_exact_flat_index():
    v = clustered(999)
    d = FaissStore.build(v, ann_threshold=1000)
    assert d.kind == "IndexFlatIP"
    _, ids = d.search_batch(v[:7], 10)
    np.testing.assert_array_equal(ids, brute_force(v, v[:7], 10))


@pytest.mark.parametrize("n", [3001, 7919])
def test_above_threshold_ivf_recall_against_brute_force(n):
    v = clustered(n)
    q = clustered(57, seed=1)
    d = FaissStore.build(v, ann_threshold=1000)
    assert d.kind == "IndexIVFScalarQuantizer" and len(d) == n
    assert d.index.nlist == ivf_lists(n)
    _, ids = d.search_batch(q, 10)
    exact = brute_force(v, q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, exact)])
    assert recall >= 0.9, recall


def test_ivf_filtered_search_returns_only_allowed_rows_and_finds_them_all():
    v = clustered(4000)
    d = FaissStore.build(v, ann_threshold=1000)
    allowed = np.array([3, 500, 1999, 3998], dtype=np.int64)
    scores, ids = d.search_batch(v[:5], 10, allowed=Selection(allowed, Filter()))
    assert ids.shape == (5, 4)
    for row in ids:
        assert sorted(row.tolist()) == allowed.tolist()  # all four, though in lists not probed
    assert (np.diff(scores, axis=1) <= 1e-6).all()


def test_ivf_filtered_search_probes_by_selectivity_and_keeps_recall():
    v = clustered(8000)
    q = clustered(40, seed=2)
    d = FaissStore.build(v, ann_threshold=1000)
    allowed = np.arange(0, 8000, 4, dtype=np.int64)  # a quarter of the rows, spread over every list
    _, ids = d.search_batch(q, 10, allowed=Selection(allowed, Filter()))
    assert np.isin(ids, allowed).all()
    exact = allowed[brute_force(v[allowed], q, 10)]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, exact)])
    assert recall >= 0.9, recall


def test_ivf_filtered_search_falls_back_to_every_list_when_short():
    import faiss

    v = clustered(8000)
    d = FaissStore.build(v, ann_threshold=1000)
    # the allowed rows are the 1,500 least like the question: the lists probed for the question
    # hold few of them, so the first pass comes back short (checked below) and all lists are read
    allowed = np.sort(np.argsort(v @ v[0])[:1500]).astype(np.int64)
    probe = int(np.ceil(d.index.nprobe / (len(allowed) / len(v))))
    _, first = d.index.search(v[:1], 400, params=faiss.SearchParametersIVF(
        sel=faiss.IDSelectorBatch(allowed), nprobe=probe))
    assert probe < d.index.nlist and (first < 0).any()
    scores, ids = d.search_batch(v[:1], 400, allowed=Selection(allowed, Filter()))
    assert (ids >= 0).all() and np.isin(ids, allowed).all()
    exact = allowed[brute_force(v[allowed], v[:1], 400)]
    assert len(set(ids[0]) & set(exact[0])) / 400 >= 0.9


def test_ivf_save_load_keeps_type_and_nprobe(tmp_path):
    v = clustered(3000)
    d = FaissStore.build(v, ann_threshold=1000)
    d.save(tmp_path / "d.faiss")
    back = FaissStore.load(tmp_path / "d.faiss")
    assert back.kind == "IndexIVFScalarQuantizer" and back.index.nprobe == d.index.nprobe
    np.testing.assert_array_equal(back.search_batch(v[:4], 5)[1], d.search_batch(v[:4], 5)[1])


def test_loaded_ivf_lists_are_memory_mapped_and_filtered_search_still_exact(tmp_path):
    import faiss

    v = clustered(3000)
    d = FaissStore.build(v, ann_threshold=1000)
    d.save(tmp_path / "d.faiss")
    back = FaissStore.load(tmp_path / "d.faiss")
    lists = faiss.downcast_InvertedLists(back.index.invlists)
    assert type(lists).__name__ == "OnDiskInvertedLists" and lists.prefetch_nthread == 0
    allowed = Selection(np.arange(0, 3000, 7), Filter())
    np.testing.assert_array_equal(back.search_batch(v[:6], 5, allowed)[1], d.search_batch(v[:6], 5, allowed)[1])


def test_ivf_build_is_deterministic():
    v = clustered(3000)
    a = FaissStore.build(v, ann_threshold=1000).search_batch(v[:9], 10)[1]
    b = FaissStore.build(v, ann_threshold=1000).search_batch(v[:9], 10)[1]
    np.testing.assert_array_equal(a, b)


def test_manifest_records_ann_type_above_threshold(corpus_dir, tmp_path, monkeypatch):
    import qa.storage.vector_stores.faiss
    from qa import Index

    monkeypatch.setattr(qa.storage.vector_stores.faiss, "ANN_THRESHOLD", 1)
    monkeypatch.setattr(qa.storage.vector_stores.faiss, "ivf_lists", lambda n: 1)  # three passages: one list
    index = Index.build([corpus_dir], tmp_path / "ix", embedder=HashEmbedder())
    assert json.loads((tmp_path / "ix" / "manifest.json").read_text())["faiss_type"] == "IndexIVFScalarQuantizer"
    assert index.search("decarbonization", k=1, config="dense")[0].article.title == "Russia proposes energy talks"


@pytest.mark.parametrize("n", [6, 3000])
def test_filtered_search_after_deletes_allows_ids_past_the_row_count(n, tmp_path):
    from qa.settings import Settings
    from qa.storage.vector_stores.faiss import FaissStore

    v = clustered(n)
    meta = [{"doc_id": f"d{i}", "source": "", "date": ""} for i in range(n)]
    store = FaissStore.create(IndexFolder(tmp_path), v, meta, Settings())
    store.delete(np.arange(0, n // 2))  # the ids left are n//2 .. n-1, most past len(store)
    allowed = np.array([n - 1, n - 3], dtype=np.int64)
    _, ids = store.search_batch(v[[n - 1]], 5, allowed=Selection(allowed, Filter()))
    assert sorted(ids[0].tolist()) == sorted(allowed.tolist())
