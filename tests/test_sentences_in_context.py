"""Sentence vectors pooled from the passage's own forward pass (issue 14, item 2): no second
embedding pass, stored like separate ones, reused across builds, resumed after a crash."""

from __future__ import annotations

import numpy as np

from qa.index import Index
from qa.storage.builder import build_index
from qa.storage.folder import IndexFolder
from qa.storage.sentence_vectors import SentenceVectors
from qa.text.sentences import split_sentences
from tests.support.fake_embedder import SpanHashEmbedder


def _build(corpus_dir, folder, emb=None):
    emb = emb or SpanHashEmbedder()
    return Index.build([corpus_dir], folder, embedder=emb), emb


def test_sentences_come_from_the_passages_forward_pass_not_a_second_pass(corpus_dir, tmp_path):
    index, emb = _build(corpus_dir, tmp_path / "ix")
    embedded = [t for batch in emb.batches for t in batch]
    assert len(embedded) == len(index.passages)  # passages only: no sentence was embedded on its own
    stats = index.last_build
    assert stats.sentences_embedded == 0
    n_sentences = sum(len(split_sentences(p.text)) for p in index.passages)
    assert stats.sentences_in_context == n_sentences
    assert index.manifest["counts"]["sentences"] == n_sentences
    assert index.manifest["counts"]["sentence_vectors"] == "in-context"


def test_each_sentence_vector_is_its_span_inside_the_embedded_text(corpus_dir, tmp_path):
    index, emb = _build(corpus_dir, tmp_path / "ix")
    store = SentenceVectors(IndexFolder(tmp_path / "ix"), len(index.passages))
    texts, spans = emb.span_calls[0]
    by_text = {t: sp for t, sp in zip(texts, spans)}
    for row, p in enumerate(index.passages):
        embedded = next(t for t in texts if t.endswith(p.text))
        prefix = len(embedded) - len(p.text)
        ent = store.spans(row)
        assert [(int(s), int(e)) for s, e, _ in ent] == split_sentences(p.text)
        # the spans handed to the model are the passage's sentences, shifted past the title line
        assert by_text[embedded] == [(int(s) + prefix, int(e) + prefix) for s, e, _ in ent]
        want = emb._bag([p.text[int(s):int(e)] for s, e, _ in ent])
        got = np.asarray(store.vectors[ent[:, 2].astype(int)], dtype=np.float32) / 127.0
        assert np.allclose(got, want, atol=0.01)


def test_highlight_uses_the_in_context_vectors(corpus_dir, tmp_path):
    index, _ = _build(corpus_dir, tmp_path / "ix")
    hit = index.search("How long did the engine burn last?", k=1)[0]
    assert hit.doc_id == "space"
    s, e = hit.highlight
    assert "27 minutes" in hit.article.body[s:e]


def test_an_unchanged_corpus_embeds_nothing_and_one_changed_article_only_its_passages(corpus_dir, tmp_path):
    folder = tmp_path / "ix"
    _build(corpus_dir, folder)
    again, emb = _build(corpus_dir, folder)
    assert again.last_build.up_to_date and emb.batches == []
    (corpus_dir / "space.md").write_text("# Probe reaches Mars orbit\n\nA brand new sentence about Mars moons.")
    changed, emb = _build(corpus_dir, folder)
    assert [t for b in emb.batches for t in b] == [p_text for p_text in emb.span_calls[0][0]]
    assert changed.last_build.embedded == 1 and changed.last_build.sentences_in_context == 1
    assert changed.last_build.reused == len(changed.passages) - 1


def test_an_index_of_separate_sentence_vectors_keeps_them_and_reembeds_only_what_changed(
        corpus_dir, tmp_path, fake_embedder):
    folder = tmp_path / "ix"
    Index.build([corpus_dir], folder, embedder=fake_embedder)  # no embed_spans: separate sentences
    assert Index.load(folder, embedder=fake_embedder).manifest["counts"]["sentence_vectors"] == "separate"
    first = Index.load(folder, embedder=fake_embedder)
    before = SentenceVectors(IndexFolder(folder), len(first.passages))
    old = {(first.passages[r].passage_id, int(e[0]), int(e[1])): np.asarray(before.vectors[int(e[2])]).copy()
           for r in range(len(first.passages)) for e in before.spans(r)}
    (corpus_dir / "space.md").write_text("# Probe reaches Mars orbit\n\nA brand new sentence about Mars moons.")
    index, emb = _build(corpus_dir, folder, SpanHashEmbedder())
    assert index.manifest["counts"]["sentence_vectors"] == "in-context"
    assert index.last_build.embedded == 1 and sum(len(b) for b in emb.batches) == 1
    after = SentenceVectors(IndexFolder(folder), len(index.passages))
    energy = next(r for r, p in enumerate(index.passages) if p.doc_id == "energy")
    for s, e, row in after.spans(energy):  # an unchanged passage keeps its separately embedded vectors
        key = (index.passages[energy].passage_id, int(s), int(e))
        assert np.array_equal(np.asarray(after.vectors[int(row)]), old[key])


def test_a_build_that_dies_midway_resumes_without_reembedding_finished_shards(corpus_dir, tmp_path, monkeypatch):
    import qa.storage.builder as builder

    for i in range(12):  # enough passages for several shards
        (corpus_dir / f"extra{i}.txt").write_text(
            f"Harbour report {i}\n\n" + " ".join(f"Ship {i}-{j} arrived at the harbour on time." for j in range(40)))
    monkeypatch.setattr(builder, "SHARD_SIZE", 4)
    emb = SpanHashEmbedder()
    calls = {"n": 0}
    real = emb.embed_spans

    def dying(texts, spans):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return real(texts, spans)

    emb.embed_spans = dying
    folder = tmp_path / "ix"
    try:
        Index.build([corpus_dir], folder, embedder=emb)
    except KeyboardInterrupt:
        pass
    done_before = 2 * 4
    resumed = SpanHashEmbedder()
    index = Index.build([corpus_dir], folder, embedder=resumed)
    assert index.last_build.embedded == len(index.passages) - done_before
    assert sum(len(b) for b in resumed.batches) == len(index.passages) - done_before
    fresh, _ = _build(corpus_dir, tmp_path / "fresh")
    a = SentenceVectors(IndexFolder(folder), len(index.passages))
    b = SentenceVectors(IndexFolder(tmp_path / "fresh"), len(fresh.passages))
    assert np.array_equal(np.asarray(a.vectors), np.asarray(b.vectors))
    assert build_index  # the module under test
