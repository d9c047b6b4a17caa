import json

import numpy as np
import pytest

from qa import BadInput, Index, IndexCorrupt, IndexNotFound, ModelMismatch
from qa.text.sentences import split_sentences
from qa.errors import IndexLocked
from qa.storage.folder import IndexFolder
from tests.support.fake_embedder import HashEmbedder


def test_build_writes_manifest_and_plain_files(built_index):
    folder = built_index.folder
    m = json.loads((folder / "manifest.json").read_text())
    assert m["format_version"] == 4
    assert m["model"]["id"] == "hash-test" and m["model"]["dim"] == 64
    distinct = {p.text[s:e] for p in built_index.passages for s, e in split_sentences(p.text)}
    assert m["counts"] == {"articles": 3, "passages": len(built_index.passages), "sentences": len(distinct),
                           "sentence_vectors": "separate"}
    assert m["chunking"]["target_tokens"] == built_index.settings.target_tokens
    for name in ("dense.faiss", "passages.jsonl", "articles.jsonl", "vectors.npy", "bm25/vocab.index.json", "bm25_docs/vocab.index.json",
                 "passages.offsets.npy", "articles.offsets.npy", "passage_article.npy", "articles.keys.json"):
        assert name in m["files"]
    assert not list(folder.rglob("*.pkl")) and not list(folder.rglob("*.pickle"))
    assert not list(folder.parent.glob(".index.tmp-*"))


def test_passage_rows_match_faiss_ids(built_index):
    vecs = np.load(built_index.folder / "vectors.npy")
    for i, p in enumerate(built_index.passages):
        art = built_index.articles[p.doc_id]
        text = art.title + "\n" + p.text
        expected = HashEmbedder().embed_batch([text])[0]
        assert np.allclose(vecs[i], expected)
        assert np.allclose(built_index.snapshot.dense.index.reconstruct(i), expected)


@pytest.mark.parametrize("config", ["dense", "bm25", "hybrid", "hybrid-score"])
def test_search_ranks_the_matching_article_first(built_index, config):
    hits = built_index.search("decarbonization consultations", k=2, config=config)
    assert hits[0].doc_id == "energy"
    assert hits[0].rank == 1 and [h.rank for h in hits] == list(range(1, len(hits) + 1))
    art = built_index.articles["energy"]
    assert art.body[hits[0].passage.char_start:hits[0].passage.char_end] == hits[0].text


def test_hit_highlight_is_the_answering_sentence_in_body_offsets(built_index):
    hit = built_index.search("Who won the cup final?", k=1, config="bm25")[0]
    s, e = hit.highlight
    body = built_index.articles[hit.doc_id].body
    assert body[s:e].startswith("LONDON (Reuters) - The local football team won the cup final")
    assert hit.passage.char_start <= s < e <= hit.passage.char_end


def test_search_batch_equals_single_searches(built_index):
    qs = ["Mars probe orbit", "football cup", "energy ministers"]
    batch = built_index.search_batch(qs, k=3)
    single = [built_index.search(q, k=3) for q in qs]
    assert [[h.passage.passage_id for h in b] for b in batch] == \
           [[h.passage.passage_id for h in s] for s in single]


def test_search_filters_by_source_and_date(built_index):
    hits = built_index.search("team", k=5, source="daily ball")
    assert hits and {h.doc_id for h in hits} == {"football"}
    hits = built_index.search("Russia", k=5, since="2021-01-01", until="2021-12-31")
    assert {h.doc_id for h in hits} == {"energy"}
    with pytest.raises(BadInput, match="no article matches source='Nowhere'"):
        built_index.search("team", source="Nowhere")
    with pytest.raises(BadInput, match="ISO date"):
        built_index.search("team", since="June 2021")


@pytest.mark.parametrize("question,msg", [("", "empty"), ("   \n\t", "empty"), ("\x00\x01", "empty"),
                                          ("x" * 100_000, "limit is 4000"), (None, "must be a string")])
def test_bad_questions_raise_bad_input(built_index, question, msg):
    with pytest.raises(BadInput, match=msg):
        built_index.search(question)


def test_question_with_control_characters_is_cleaned(built_index):
    hits = built_index.search("foot\x00ball\x07 cup", k=1, config="bm25")
    assert hits[0].doc_id == "football"


@pytest.mark.parametrize("k,msg", [(0, "at least 1"), (-3, "at least 1"), (10**9, "at most"), ("5", "whole number")])
def test_search_with_bad_k_raises(built_index, k, msg):
    with pytest.raises(BadInput, match=msg):
        built_index.search("cup", k=k)


def test_k_larger_than_collection_returns_all_passages(built_index):
    assert len(built_index.search("cup", k=500, config="dense")) == len(built_index.passages)


def test_unknown_config_raises(built_index):
    with pytest.raises(BadInput, match="unknown configuration 'fancy'"):
        built_index.search("cup", config="fancy")


def test_rerun_on_unchanged_data_embeds_nothing(corpus_dir, tmp_path):
    emb = HashEmbedder()
    Index.build([corpus_dir], tmp_path / "ix", embedder=emb)
    first = emb.embedded
    again = Index.build([corpus_dir], tmp_path / "ix", embedder=emb)
    assert first > 0 and emb.embedded == first
    assert again.last_build.up_to_date and again.last_build.embedded == 0


def test_changed_article_is_reembedded_and_removed_file_dropped(corpus_dir, tmp_path):
    emb = HashEmbedder()
    Index.build([corpus_dir], tmp_path / "ix", embedder=emb)
    before = emb.embedded
    (corpus_dir / "space.md").write_text("# Probe reaches Mars orbit\n\nA brand new sentence about Mars moons.")
    (corpus_dir / "football.txt").unlink()
    ix = Index.build([corpus_dir], tmp_path / "ix", embedder=emb)
    stats = ix.last_build
    assert stats.changed == ["space"] and stats.removed == ["football"]
    # the changed article's one passage and its one (new) sentence
    assert stats.embedded == 1 and stats.sentences_embedded == 1
    assert emb.embedded - before == 2
    assert set(ix.articles) == {"energy", "space"}


def test_interrupted_build_resumes_from_shards(corpus_dir, tmp_path, monkeypatch):
    import qa.storage.builder as builder

    monkeypatch.setattr(builder, "SHARD_SIZE", 1)
    emb = HashEmbedder()

    class Boom(Exception):
        pass

    calls = {"n": 0}
    real = emb.embed_batch

    def flaky(texts):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Boom()
        return real(texts)

    monkeypatch.setattr(emb, "embed_batch", flaky)
    with pytest.raises(Boom):
        Index.build([corpus_dir], tmp_path / "ix", embedder=emb)
    assert not (tmp_path / "ix" / "manifest.json").exists()
    assert emb.embedded == 2  # two batches of one were embedded and saved as shards
    ix = Index.build([corpus_dir], tmp_path / "ix", embedder=emb)
    assert len(ix.passages) >= 3
    assert ix.last_build.reused == 2
    assert ix.last_build.embedded == len(ix.passages) - 2
    assert not (tmp_path / "ix" / ".partial").exists()


def test_load_missing_index_raises_index_not_found(tmp_path):
    with pytest.raises(IndexNotFound, match="qa index"):
        Index.load(tmp_path / "nope", embedder=HashEmbedder())


def test_load_with_other_model_raises_model_mismatch(built_index):
    with pytest.raises(ModelMismatch, match="built with model 'hash-test'"):
        Index.load(built_index.folder, embedder=HashEmbedder(model_id="other-model"))


def test_load_with_other_format_version_raises(built_index):
    f = built_index.folder / "manifest.json"
    m = json.loads(f.read_text())
    m["format_version"] = 99
    f.write_text(json.dumps(m))
    with pytest.raises(ModelMismatch, match="format version 99"):
        Index.load(built_index.folder, embedder=HashEmbedder())


@pytest.mark.parametrize("name", ["passages.jsonl", "dense.faiss", "bm25/vocab.index.json"])
def test_truncated_or_edited_file_is_detected(built_index, name):
    f = built_index.folder / name
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorrupt, match=f"{name}.*--rebuild"):
        Index.load(built_index.folder, embedder=HashEmbedder())
    f.write_bytes(data[:-1] + (b"X" if data[-1:] != b"X" else b"Y"))
    with pytest.raises(IndexCorrupt, match="checksum"):
        Index.load(built_index.folder, embedder=HashEmbedder())


def test_second_writer_fails_clearly(corpus_dir, tmp_path):
    with IndexFolder(tmp_path / "ix").lock():
        with pytest.raises(IndexLocked, match="being written by pid"):
            Index.build([corpus_dir], tmp_path / "ix", embedder=HashEmbedder())


def test_add_and_delete_update_incrementally(built_index, tmp_path):
    new = tmp_path / "new.txt"
    new.write_text("Volcano erupts\n\nThe volcano erupted overnight, covering the town in ash.")
    emb = built_index.embedder
    before = emb.embedded
    built_index.add([new])
    assert built_index.last_build.embedded == 1 and built_index.last_build.sentences_embedded == 1
    assert emb.embedded - before == 2
    assert built_index.search("volcano ash", k=1, config="bm25")[0].doc_id == "new"
    before = emb.embedded
    assert built_index.delete(["new"]) == 1
    assert "new" not in built_index.articles
    assert emb.embedded == before and built_index.last_build.embedded == 0  # deleting embeds nothing


def test_nothing_to_index_raises_with_reasons(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(BadInput, match="empty file"):
        Index.build([tmp_path], tmp_path / "ix", embedder=HashEmbedder())


def test_index_of_an_older_format_is_rebuilt_reusing_embeddings(corpus_dir, tmp_path):
    emb = HashEmbedder()
    Index.build([corpus_dir], tmp_path / "ix", embedder=emb)
    f = tmp_path / "ix" / "manifest.json"
    m = json.loads(f.read_text())
    m["format_version"] = 1
    f.write_text(json.dumps(m))
    with pytest.raises(ModelMismatch, match="format version 1.*re-index with .*embeddings are reused"):
        Index.load(tmp_path / "ix", embedder=emb)
    before = emb.embedded
    ix = Index.build([corpus_dir], tmp_path / "ix", embedder=emb)
    assert not ix.last_build.up_to_date and ix.last_build.embedded == 0 and emb.embedded == before
    assert ix.snapshot.sparse_docs is not None and len(ix.snapshot.sparse_docs) == 3


def test_question_vectors_are_remembered_until_forgotten(built_index):
    emb = built_index.embedder
    n = emb.embedded
    built_index.question_vectors(["cup final", "cup final", "mars"])
    assert emb.embedded - n == 2
    built_index.question_vectors(["mars"])
    assert emb.embedded - n == 2
    built_index.forget_questions()
    built_index.question_vectors(["mars"])
    assert emb.embedded - n == 3


def test_reindex_command_keeps_the_model_chunking_and_store_of_the_old_index(tmp_path):
    m = {"model": {"id": "hash-test", "backend": "torch"}, "store": {"kind": "milvus"},
         "chunking": {"target_tokens": 80, "overlap_sentences": 1, "sentence_vectors": False}}
    assert IndexFolder(tmp_path).reindex_command(m) == (f"qa index PATH --index {tmp_path} --model hash-test "
                                           "--backend torch --target-tokens 80 --store milvus "
                                           "--no-sentence-vectors")
    default = {"model": {"id": "all-MiniLM-L6-v2", "backend": "onnx-int8"}, "store": {"kind": "faiss"},
               "chunking": {"target_tokens": 120, "overlap_sentences": 1, "sentence_vectors": True}}
    assert IndexFolder(tmp_path).reindex_command(default) == f"qa index PATH --index {tmp_path}"


def test_old_format_message_names_the_options_the_index_was_built_with(corpus_dir, tmp_path):
    Index.build([corpus_dir], tmp_path / "ix", embedder=HashEmbedder())
    f = tmp_path / "ix" / "manifest.json"
    m = json.loads(f.read_text())
    m["format_version"] = 2
    f.write_text(json.dumps(m))
    with pytest.raises(ModelMismatch, match="--model hash-test"):
        Index.load(tmp_path / "ix", embedder=HashEmbedder())


def test_an_onnx_index_of_format_3_is_said_to_be_embedded_once_more_and_the_build_says_so(corpus_dir, tmp_path, capsys):
    from qa.cli.main import main

    Index.build([corpus_dir], tmp_path / "ix", embedder=HashEmbedder())
    f = tmp_path / "ix" / "manifest.json"
    m = json.loads(f.read_text())
    m["format_version"] = 3
    f.write_text(json.dumps(m))
    with pytest.raises(ModelMismatch, match="embeddings are reused"):  # a model without token states
        Index.load(tmp_path / "ix", embedder=HashEmbedder())
    m["model"]["backend"] = "onnx-int8"
    f.write_text(json.dumps(m))
    with pytest.raises(ModelMismatch, match="format version 3.*embedded once more.*article windows"):
        Index.load(tmp_path / "ix", embedder=HashEmbedder())
    assert main(["index", str(corpus_dir), "--index", str(tmp_path / "ix"), "--backend", "hash"]) == 0
    out = capsys.readouterr()
    assert "older qa (format 3)" in out.err and "pooled from article windows" in out.err
    m = json.loads(f.read_text())
    assert m["format_version"] == 4
    m["format_version"] = 3
    f.write_text(json.dumps(m))
    assert main(["index", str(corpus_dir), "--index", str(tmp_path / "ix"), "--backend", "hash", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["upgraded_from"] == 3
