from qa import Index
from tests.support.fake_embedder import HashEmbedder


def test_a_loaded_index_picks_up_a_rebuild_by_another_writer(corpus_dir, tmp_path):
    reader = Index.build([corpus_dir], tmp_path / "ix", embedder=HashEmbedder())
    assert not reader.is_stale()
    (corpus_dir / "extra.txt").write_text("Volcano erupts\n\nThe volcano erupted overnight, covering the town in ash.")
    Index.build([corpus_dir], tmp_path / "ix", embedder=HashEmbedder())  # another writer
    assert reader.is_stale()
    hits = reader.search("volcano ash", k=1, config="bm25")
    assert hits[0].doc_id == "extra" and not reader.is_stale()


def test_reload_disabled_keeps_serving_the_loaded_build(corpus_dir, tmp_path):
    reader = Index.build([corpus_dir], tmp_path / "ix", embedder=HashEmbedder())
    reader.auto_reload = False
    (corpus_dir / "extra.txt").write_text("Volcano erupts\n\nThe volcano erupted overnight, covering the town in ash.")
    Index.build([corpus_dir], tmp_path / "ix", embedder=HashEmbedder())
    assert "extra" not in {h.doc_id for h in reader.search("volcano ash", k=5, config="bm25")}
