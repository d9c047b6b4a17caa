import json

import numpy as np
import pytest

from qa.answer.abstain import (background, best_threshold, confidence, offtopic_questions,
                               threshold, top_cosines)
from qa.answer.ask import ask
from qa.types import Article, Hit, Passage


def _hit(dense):
    p = Passage("d:0-1", "d", "x", 0, 1)
    scores = {"fused": 0.1} if dense is None else {"fused": 0.1, "dense": dense}
    return Hit(1, 0.1, p, Article("d", "t", "x"), scores=scores)


def test_confidence_is_best_dense_score():
    assert confidence([_hit(0.2), _hit(0.5), _hit(None)]) == 0.5
    assert confidence([]) == 0.0 and confidence([_hit(None)]) == 0.0




def test_best_threshold_separates_and_reports_accuracy():
    t, acc = best_threshold([0.6, 0.7, 0.8], [0.1, 0.2, 0.3])
    assert 0.3 < t < 0.6 and acc == 1.0
    t, acc = best_threshold([0.5, 0.2], [0.3])
    assert acc == pytest.approx(0.75)
    with pytest.raises(ValueError):
        best_threshold([], [0.1])


def test_offtopic_questions_ship_with_the_package():
    qs = offtopic_questions()
    assert len(qs) >= 50 and all(q.endswith("?") for q in qs)


def test_threshold_is_background_plus_margin_and_cached(built_index):
    emb = built_index.embedder
    bg = background(built_index.snapshot, built_index.encoder)
    calls = len(emb.batches)
    assert threshold(built_index.snapshot, built_index.encoder, margin=0.25) == pytest.approx(bg + 0.25)
    assert len(emb.batches) == calls  # measured once per loaded index
    assert 0.0 <= bg <= 1.0


def test_ask_reports_answerable_for_close_evidence_and_abstains_otherwise(built_index):
    # the fake embedder's cosines are not MiniLM's: judge against the bare background
    built_index.settings = built_index.settings.with_(abstain_margin=0.0)
    yes = ask(built_index, "football team won the cup final", k=2)
    assert yes.answerable and yes.confidence >= yes.threshold
    no = ask(built_index, "zebra quantum lasagna", k=2)
    assert not no.answerable and no.hits  # hits are still listed
    d = no.to_dict()
    assert d["answerable"] is False and d["hits"] and d["confidence"] < d["threshold"]


def test_background_is_saved_beside_the_index_and_reused_by_a_new_process(built_index):
    from qa import Index
    from tests.support.fake_embedder import HashEmbedder

    bg = background(built_index.snapshot, built_index.encoder)
    saved = built_index.folder / ".abstain.json"
    assert saved.exists()
    fresh = Index.load(built_index.folder, embedder=HashEmbedder())
    assert background(fresh.snapshot, fresh.encoder) == pytest.approx(bg)
    assert fresh.embedder.embedded == 0  # read, not re-measured
    # a rebuild (new manifest) measures again
    import json

    data = json.loads(saved.read_text())
    data["key"] = "stale"
    saved.write_text(json.dumps(data))
    again = Index.load(built_index.folder, embedder=HashEmbedder())
    assert background(again.snapshot, again.encoder) == pytest.approx(bg) and again.embedder.embedded > 0


def test_reload_after_a_reindex_measures_the_background_of_the_new_build(built_index, tmp_path):
    from qa.storage.builder import build_index

    first = background(built_index.snapshot, built_index.encoder)
    assert built_index.snapshot.memo  # kept with the build it was measured on
    articles = [a for a in built_index.articles.values() if "football" not in a.body.lower()]
    saved = built_index.folder / ".abstain.json"
    old_key = json.loads(saved.read_text())["key"]
    build_index(articles, built_index.folder, built_index.embedder)  # another process re-indexes
    built_index.reload()
    assert not built_index.snapshot.memo  # nothing of the old build's measurement is carried over
    second = background(built_index.snapshot, built_index.encoder)
    measured = float(np.median(top_cosines(built_index.snapshot, built_index.encoder, offtopic_questions())))
    assert second == pytest.approx(measured) and second != pytest.approx(first)
    assert json.loads(saved.read_text())["key"] != old_key  # the file now describes the new build


def test_sparse_index_knows_a_term_or_every_part_of_a_compound():
    from qa.storage.bm25 import SparseIndex

    sp = SparseIndex.build(["Talks in Brazzaville and the Congo ended in 1963.", "Nothing else here."])
    assert sp.knows("Brazzaville") and sp.knows("1963") and sp.knows("Congo-Brazzaville")
    assert not sp.knows("Mandela") and not sp.knows("2018") and not sp.knows("Congo-Kinshasa")
    assert not sp.knows("the")  # no token at all


def test_names_and_numbers_no_passage_holds_lower_the_evidence_and_are_reported(built_index):
    question = "Which football team won the cup final in 2031 against Zanzibar United?"
    built_index.settings = built_index.settings.with_(abstain_unseen=0.0)
    plain = ask(built_index, question, k=2)
    built_index.settings = built_index.settings.with_(abstain_unseen=0.5)
    lowered = ask(built_index, question, k=2)
    assert "2031" in lowered.unseen_terms and "zanzibar" in lowered.unseen_terms
    assert "football" not in lowered.unseen_terms
    from qa.text.analyzer import key_terms

    share = len(lowered.unseen_terms) / len(key_terms(question))
    assert lowered.confidence == pytest.approx(plain.confidence - 0.5 * share, abs=1e-5)
    assert lowered.to_dict()["unseen_terms"] == lowered.unseen_terms
    seen = ask(built_index, "football team won the cup final", k=2)
    assert seen.unseen_terms == []


def _read_hit(reader, span):
    h = _hit(0.1)
    h.scores.update(reader=reader, reader_span=span)
    return h


def test_a_confident_reading_overrules_a_weak_cosine(built_index):
    from qa.answer.abstain import verdict
    from qa.search.reader import MODEL_DIR, best_reading, shared_reader

    meta = shared_reader(MODEL_DIR).meta
    bar = meta["answerable_above"]
    assert 0 < bar < 10  # learned by training/reader_stages.py (answerable_bar), not hand-set
    built_index.settings = built_index.settings.with_(abstain_margin=5.0)  # the cosine never suffices
    snap, enc, q = built_index.snapshot, built_index.encoder, "Who won the cup final?"
    w = dict(zip(meta["combination"]["features"], meta["combination"]["weights"]))
    sure = _read_hit(reader=(bar + 1.0) / w["reader"], span=0.0)
    unsure = _read_hit(reader=(bar - 1.0) / w["reader"], span=0.0)
    assert best_reading([sure.scores, unsure.scores], meta) == pytest.approx(bar + 1.0, rel=1e-5)
    said = verdict(snap, enc, q, [unsure, sure])
    assert said["answerable"] and said["reading"] == pytest.approx(bar + 1.0, rel=1e-5)
    said = verdict(snap, enc, q, [unsure])
    assert not said["answerable"] and said["reading"] == pytest.approx(bar - 1.0, rel=1e-5)
    said = verdict(snap, enc, q, [_hit(0.1)])  # not read (hybrid-rerank): the cosine alone
    assert not said["answerable"] and said["reading"] is None


def test_ask_json_reports_the_reading_score_only_when_the_reader_read(built_index):
    read = ask(built_index, "Who won the cup final?", k=2).to_dict()
    assert isinstance(read["reading"], float)
    plain = ask(built_index, "Who won the cup final?", k=2, config="hybrid-rerank").to_dict()
    assert plain["reading"] is None and "unseen_terms" in plain
