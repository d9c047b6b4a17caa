"""Sentence vectors stored at index time for the highlighter (qa/sentences.py)."""

from __future__ import annotations

import numpy as np
import pytest

from qa import Index, IndexCorrupt
from qa.settings import Settings
from qa.search.highlight import highlight_spans
from qa.storage.folder import IndexFolder
from qa.storage.sentence_vectors import SCALE, SentenceVectors, plan_sentences, quantize
from qa.types import Passage
from tests.support.fake_embedder import HashEmbedder

QUESTIONS = ["What did Russia propose on decarbonization?", "Who won the cup final?",
             "How long did the engine burn last?", "When did the energy ministers meet?"]


def test_plan_lists_each_distinct_sentence_once_with_passage_spans():
    a, b, c = ("The minister arrived in Geneva on Monday.", "Talks on the treaty lasted for three days.",
               "A final statement was signed by both sides.")
    ps = [Passage("p0", "d", f"{a} {b}", 0, 83), Passage("p1", "d", f"{b} {c}", 42, 128)]
    plan = plan_sentences(ps, "fp")
    assert plan.texts == [a, b, c]
    assert plan.offsets.tolist() == [0, 2, 4]
    assert plan.entries.tolist() == [[0, 41, 0], [42, 84, 1], [0, 42, 1], [43, 86, 2]]
    assert len(set(plan.keys)) == 3


def test_int8_vectors_keep_cosines_within_a_hundredth():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 384)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[0]
    exact = x @ q
    approx = quantize(x).astype(np.float32) @ q / SCALE
    assert np.abs(exact - approx).max() < 0.01


def test_highlight_from_stored_vectors_matches_embedding_the_sentences_now(built_index):
    store = built_index.snapshot.sentences
    assert store is not None
    for q in QUESTIONS:
        hits = built_index.search(q, k=3, highlight=False)
        rows = [built_index.passages.index(h.passage) for h in hits]
        qv = built_index.question_vectors([q])[0]
        passages = [h.passage for h in hits]
        stored = highlight_spans(q, qv, passages, None, built_index.snapshot.sparse, store=store, rows=rows)
        fresh = highlight_spans(q, qv, passages, built_index.embedder, built_index.snapshot.sparse)
        assert stored == fresh


def test_highlighted_search_embeds_only_the_question(built_index):
    emb = built_index.embedder
    before = emb.embedded
    hits = built_index.search("Which probe entered orbit around Mars?", k=3)
    assert emb.embedded - before == 1
    assert all(h.highlight is not None for h in hits)
    s, e = hits[0].highlight
    assert hits[0].passage.char_start <= s < e <= hits[0].passage.char_end


def test_index_without_sentence_vectors_embeds_sentences_at_query_time(corpus_dir, tmp_path):
    emb = HashEmbedder()
    ix = Index.build([corpus_dir], tmp_path / "ix", embedder=emb,
                     settings=Settings(sentence_vectors=False))
    assert ix.snapshot.sentences is None and not (tmp_path / "ix" / "sentences").exists()
    assert ix.last_build.sentences_embedded == 0
    before = emb.embedded
    hit = ix.search("Which probe entered orbit around Mars?", k=1)[0]
    assert hit.highlight is not None and emb.embedded - before > 1


def test_sentence_files_that_disagree_with_the_passages_are_refused(built_index):
    folder = built_index.folder
    offsets = np.load(folder / "sentences" / "offsets.npy")
    np.save(folder / "sentences" / "offsets.npy", offsets[:-1])
    with pytest.raises(IndexCorrupt, match="rebuild"):
        Index.load(folder, embedder=built_index.embedder, verify=False)
    with pytest.raises(ValueError, match="describes"):
        SentenceVectors(IndexFolder(folder), len(built_index.passages))


def test_rebuild_reuses_stored_sentence_vectors(corpus_dir, tmp_path):
    emb = HashEmbedder()
    Index.build([corpus_dir], tmp_path / "ix", embedder=emb)
    (corpus_dir / "extra.txt").write_text("Extra story\n\nThe council approved the budget on Monday.")
    ix = Index.build([corpus_dir], tmp_path / "ix", embedder=emb)
    assert ix.last_build.embedded == 1 and ix.last_build.sentences_embedded == 1
    row = next(i for i, p in enumerate(ix.passages) if p.doc_id == "extra")
    vec = np.asarray(ix.snapshot.sentences.vectors[ix.snapshot.sentences.spans(row)[0, 2]])
    want = quantize(emb.embed_batch(["The council approved the budget on Monday."]))[0]
    assert np.array_equal(vec, want)


def test_sentence_entries_cut_short_are_named_in_the_error(built_index):
    folder = built_index.folder
    entries = np.load(folder / "sentences" / "entries.npy")
    np.save(folder / "sentences" / "entries.npy", entries[:-1])
    with pytest.raises(ValueError, match=f"offsets.npy ends at entry {len(entries)}, entries.npy has {len(entries) - 1}"):
        SentenceVectors(IndexFolder(folder), len(built_index.passages))
