"""The memory-mapped passage and article tables (qa/records.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.errors import IndexCorrupt
from qa.storage.folder import IndexFolder
from qa.storage.tables import ArticleTable, JsonlFile, PassageTable, write_records, write_tables
from qa.types import Article, Passage

ARTS = [
    Article("a1", "Zürich talks", "Ministers met in Zürich — twice. Prices rose 5 %.", source="TASS",
            date="2021-06-11"),
    Article("a2", "Cup final", "The team won. 🎉 Fans sang.", source="Reuters", date=""),
]
PASSAGES = [
    Passage("p0", "a1", "Ministers met in Zürich — twice.", 0, 32, 0),
    Passage("p1", "a1", "Prices rose 5 %.", 33, 49, 1),
    Passage("p2", "a2", "The team won. 🎉 Fans sang.", 0, 26, 0),
]


@pytest.fixture
def folder(tmp_path):
    write_tables(IndexFolder(tmp_path), PASSAGES, ["k0", "k1", "k2"], ARTS)
    return IndexFolder(tmp_path)


def test_passage_table_returns_each_passage_by_row_with_multibyte_text(folder):
    table = PassageTable(folder)
    assert len(table) == 3
    assert [table[i] for i in range(3)] == PASSAGES
    assert table[-1] == PASSAGES[2]
    assert table[1:] == PASSAGES[1:]
    assert list(table) == PASSAGES
    assert table.article_rows.tolist() == [0, 0, 1]


def test_passage_table_row_out_of_range_raises_index_error(folder):
    with pytest.raises(IndexError, match="row 3"):
        PassageTable(folder)[3]


def test_article_table_maps_ids_in_index_order(folder):
    table = ArticleTable(folder)
    assert list(table) == ["a1", "a2"] and len(table) == 2
    assert table["a2"] == ARTS[1] and table.at(0) == ARTS[0]
    assert "a1" in table and "zz" not in table and table.get("zz") is None
    assert table.values() == ARTS and dict(table.items()) == {"a1": ARTS[0], "a2": ARTS[1]}
    assert table.row_of("a2") == 1
    with pytest.raises(KeyError):
        table.row_of("a3")
    assert table.source_values == ["Reuters", "TASS"] and table.source_codes.tolist() == [1, 0]
    assert table.rows_where(date_ok=lambda date: date >= "2021").tolist() == [True, False]
    assert table.rows_where(source_ok=lambda s: s == "Reuters").tolist() == [False, True]
    assert table.rows_where().tolist() == [True, True]


def test_records_file_keeps_embed_key_and_content_hash_per_line(folder):
    lines = (folder.path / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["embed_key"] for x in lines] == ["k0", "k1", "k2"]
    art = json.loads((folder.path / "articles.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert art["content_hash"] == ARTS[0].content_hash


def test_offsets_that_do_not_match_the_file_are_refused(folder):
    offsets = np.load(folder.path / "passages.offsets.npy")
    np.save(folder.path / "passages.offsets.npy", offsets[:-1])
    with pytest.raises(ValueError, match="offsets end at"):
        JsonlFile(folder.path / "passages.jsonl")


def test_empty_records_file_has_no_rows(tmp_path):
    write_records(tmp_path / "x.jsonl", [])
    f = JsonlFile(tmp_path / "x.jsonl")
    assert len(f) == 0 and list(f) == []
    with pytest.raises(IndexError):
        f.row(0)


def test_loading_an_index_parses_no_passage_or_article(built_index):
    from qa import Index

    ix = Index.load(built_index.folder, embedder=built_index.embedder)
    assert len(ix.passages._cache.items) == 0 and len(ix.articles._cache.items) == 0
    hit = ix.search("decarbonization", k=1)[0]
    assert hit.article.doc_id == hit.doc_id == "energy"


def test_index_with_mismatched_offsets_is_refused_as_corrupt(built_index):
    from qa import Index

    folder = built_index.folder
    offsets = np.load(folder / "articles.offsets.npy")
    offsets[-1] += 1
    np.save(folder / "articles.offsets.npy", offsets)
    with pytest.raises(IndexCorrupt, match="rebuild"):
        Index.load(folder, embedder=built_index.embedder, verify=False)


def test_filter_rows_come_from_article_keys(built_index):
    source = built_index.articles["football"].source
    rows = built_index.snapshot.allowed_rows(source_ok=lambda s: s == source)
    want = [i for i, p in enumerate(built_index.passages) if built_index.articles[p.doc_id].source == source]
    assert rows.tolist() == want and 0 < len(want) < len(built_index.passages)


def test_article_ids_are_found_among_many(tmp_path):
    arts = [Article(f"d{i:05d}", "t", "b", source=f"s{i % 7}", date=f"2020-01-{1 + i % 28:02d}")
            for i in np.random.default_rng(0).permutation(3000)]
    write_tables(IndexFolder(tmp_path), [], [], arts)
    table = ArticleTable(IndexFolder(tmp_path))
    assert all(table.row_of(a.doc_id) == i for i, a in enumerate(arts))
    assert "d03000" not in table and "" not in table
    mask = table.rows_where(lambda s: s == "s3", lambda d: d <= "2020-01-10")
    assert mask.tolist() == [a.source == "s3" and a.date <= "2020-01-10" for a in arts]


@pytest.mark.parametrize("arr", [np.arange(12, dtype=np.float32).reshape(3, 4), np.array([5, -1], dtype=np.int64),
                                 np.zeros((0, 8), dtype=np.float32), np.array([b"ab", b"c"], dtype="S2"),
                                 np.arange(6, dtype=np.int8).reshape(2, 3)])
def test_map_npy_reads_what_np_save_wrote(tmp_path, arr):
    from qa.storage.tables import map_npy

    np.save(tmp_path / "a.npy", arr)
    back = map_npy(tmp_path / "a.npy")
    assert back.dtype == arr.dtype and back.shape == arr.shape and np.array_equal(back, arr)
    assert not back.flags.writeable or back.size == 0


def test_map_npy_refuses_a_truncated_file(tmp_path):
    from qa.storage.tables import map_npy

    np.save(tmp_path / "a.npy", np.ones((100, 4), dtype=np.float32))
    data = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(data[:-16])
    with pytest.raises(ValueError, match="shorter"):
        map_npy(tmp_path / "a.npy")


def test_a_replaced_index_releases_its_tables_without_the_cycle_collector(built_index):
    import gc
    import weakref

    ix = built_index
    ix.search("decarbonization", k=2)  # fills the record caches
    old_passages, old_articles = weakref.ref(ix.passages), weakref.ref(ix.articles)
    gc.disable()
    try:
        ix.reload()
        assert old_passages() is None and old_articles() is None  # maps and files closed now
    finally:
        gc.enable()


def test_doc_ids_with_nul_or_shared_prefixes_stay_distinct(tmp_path):
    arts = [Article(d, "t", "b") for d in ("rec\x00", "rec", "re", "rec\x00\x00", "é")]
    write_tables(IndexFolder(tmp_path), [], [], arts)
    table = ArticleTable(IndexFolder(tmp_path))
    assert list(table) == [a.doc_id for a in arts]
    assert [table.row_of(a.doc_id) for a in arts] == [0, 1, 2, 3, 4]
    assert "rec\x00\x00\x00" not in table and "r" not in table
