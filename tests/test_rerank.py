import numpy as np
import pytest

from qa.errors import BadInput
from qa.search.rerank import FEATURES, CrossEncoderReranker, FeatureReranker, get_reranker
from qa.text.analyzer import key_terms


def test_key_terms_are_names_and_numbers():
    assert key_terms("What did Russia propose on decarbonization?") == ["russia"]
    assert key_terms("Who won the 346-61 vote in the UN General Assembly in 2021?") == \
        ["346-61", "un", "general", "assembly", "2021"]
    assert key_terms("how are you") == []


def test_exact_terms_are_whole_tokens_found_through_bm25_postings():
    from qa.storage.bm25 import SparseIndex

    sp = SparseIndex.build(["Russia said in 2021 it would act", "Belarussian officials met",
                            "The COVID-19 rules ended", "covid cases rose in 19 towns"])
    rows = np.arange(4)
    assert sp.rows_containing("russia", rows).tolist() == [True, False, False, False]
    assert sp.rows_containing("2021", rows).tolist() == [True, False, False, False]
    assert sp.rows_containing("covid-19", rows).tolist() == [False, False, True, False]
    assert sp.rows_containing("unknown", rows).tolist() == [False] * 4
    assert sp.rows_containing("", rows).tolist() == [False] * 4


def test_feature_reranker_prefers_exact_names(built_index):
    q = "What did the Daily Ball say about the cup?"
    rows = np.arange(len(built_index.passages))
    qv = built_index.embedder.embed_batch([q])[0]
    only_exact = tuple(1.0 if f == "exact" else 0.0 for f in FEATURES)
    scores = FeatureReranker(weights=only_exact).rerank(built_index.snapshot, q, qv, rows).scores
    assert scores.shape == (len(rows),)
    # only the exact-match feature counts: no passage mentions "Daily Ball" except none in the body
    assert set(np.round(scores, 6)) <= {0.0, 0.5, 1.0}
    full = FeatureReranker().rerank(built_index.snapshot, q, qv, rows).scores
    best = built_index.passages[int(rows[np.argmax(full)])]
    assert best.doc_id == "football"


def test_feature_reranker_weights_must_match_the_features():
    with pytest.raises(BadInput, match=f"for {len(FEATURES)} features"):
        FeatureReranker(weights=(1.0,) * (len(FEATURES) - 1))


def test_hybrid_rerank_config_reports_rerank_scores(built_index):
    hits = built_index.search("football cup final", k=2, config="hybrid-rerank")
    assert hits[0].doc_id == "football"
    assert "rerank" in hits[0].scores and hits[0].score == pytest.approx(hits[0].scores["rerank"])
    assert hits[0].scores["rerank"] >= hits[1].scores["rerank"]


def test_reranker_spec_errors():
    assert get_reranker(None) is None and get_reranker("none") is None
    assert isinstance(get_reranker("features"), FeatureReranker)
    with pytest.raises(BadInput, match="not a CrossEncoder folder"):
        get_reranker("/nonexistent/folder")


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    """A randomly initialised 1-layer BERT CrossEncoder saved locally (no download)."""
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from qa.embedders.base import model_path

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("ce")
    tok = BertTokenizerFast.from_pretrained(str(model_path()))
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, num_labels=1)
    model = BertForSequenceClassification(cfg)
    with torch.no_grad():  # make scores depend visibly on the input
        model.classifier.weight.mul_(50.0)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    ce = CrossEncoder(str(folder), device="cpu")
    ce.save(str(folder))
    return folder


@pytest.mark.slow
def test_cross_encoder_reranker_orders_by_its_scores(built_index, tiny_cross_encoder):
    hits = built_index.search("football cup final", k=3, config="hybrid", reranker=str(tiny_cross_encoder))
    rr = CrossEncoderReranker(tiny_cross_encoder)
    expected = rr.model().predict([("football cup final", h.text) for h in hits])
    got = [h.scores["rerank"] for h in hits]
    assert len(set(np.round(got, 4))) > 1  # the scores really differ, so the order is the model's
    assert got == sorted(got, reverse=True)
    assert np.allclose(sorted(expected, reverse=True), got, atol=1e-5)


def test_feature_matrix_columns_hand_checked(built_index):
    from qa.search.rerank import FEATURES, feature_matrix

    q = "football cup final"
    rows = np.arange(len(built_index.passages))
    qv = built_index.embedder.embed_batch([q])[0]
    F = feature_matrix(built_index.snapshot, q, qv, rows)
    assert F.shape == (len(rows), len(FEATURES))
    assert np.allclose(F[:, 0], np.asarray(built_index.snapshot.vectors) @ qv, atol=1e-6)
    assert F[:, 1].max() == pytest.approx(1.0) and F[:, 2].max() == pytest.approx(1.0)
    football = [i for i, p in enumerate(built_index.passages) if p.doc_id == "football"]
    # the article-level columns are equal across one article's passages
    assert len(set(F[football, 2].round(6))) == 1 and len(set(F[football, 3].round(6))) == 1
    assert F[football, 3][0] == pytest.approx(F[football, 0].max())
    assert F[football, 2][0] == pytest.approx(1.0)  # the football article is the best BM25 article


def test_exact_feature_reads_no_passage_text(built_index):
    from qa import Index
    from qa.search.rerank import feature_matrix

    ix = Index.load(built_index.folder, embedder=built_index.embedder)
    rows = np.arange(len(ix.passages))
    question = "what did the ministers discuss about energy"
    assert key_terms(question) == []
    F = feature_matrix(ix.snapshot, question, ix.question_vectors([question])[0], rows, signal_depth=0)
    assert (F[:, 4] == 0).all() and len(ix.passages._cache.items) == 0
    named = feature_matrix(ix.snapshot, "What did Russia propose?", ix.question_vectors(["What did Russia propose?"])[0], rows,
                           signal_depth=0)
    russia = [i for i, p in enumerate(ix.passages) if "russia" in p.text.lower().split()]
    assert russia and sorted(np.flatnonzero(named[:, 4]).tolist()) == russia
