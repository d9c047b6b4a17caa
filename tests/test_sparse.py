"""BM25 over passages (qa/sparse.py): scores of chosen rows against the full scores."""

from __future__ import annotations

import numpy as np
import pytest

from qa.storage.bm25 import SparseIndex

WORDS = ("harbour ship cargo port storm minister talks energy gas price wheat grain export "
         "treaty border river flood rescue vote council budget school").split()


def corpus(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, rng.integers(3, 30))) for _ in range(n)]


@pytest.mark.parametrize("n", [1, 7, 500])
def test_scores_for_rows_equal_the_full_scores_at_those_rows(n, tmp_path):
    texts = corpus(n)
    built = SparseIndex.build(texts)
    built.save(tmp_path)
    for sp in (built, SparseIndex.load(tmp_path, n)):  # in memory and memory-mapped
        rng = np.random.default_rng(1)
        for question in ("storm harbour", "gas gas price", "minister talks on the energy treaty",
                         "nothing known here", "", "Flood rescue!"):
            rows = np.unique(rng.integers(0, n, min(n, 40)))
            np.testing.assert_allclose(sp.scores_for(question, rows), sp.scores(question)[rows],
                                       rtol=1e-6, atol=1e-6)
        assert sp.scores_for("storm", np.zeros(0, dtype=np.int64)).shape == (0,)


def test_scores_for_unsorted_or_repeated_rows(tmp_path):
    sp = SparseIndex.build(corpus(200, seed=3))
    rows = np.array([150, 3, 3, 77, 0, 199])
    np.testing.assert_allclose(sp.scores_for("cargo port vote", rows), sp.scores("cargo port vote")[rows],
                               rtol=1e-6, atol=1e-6)


def test_sentence_terms_are_the_distinct_tokens_and_are_remembered():
    from qa.text.analyzer import sentence_terms, tokenize

    text = "Russia proposed consultations on decarbonization; Russia's envoys proposed more."
    assert sentence_terms(text) == frozenset(tokenize(text))
    before = sentence_terms.cache_info().hits
    sentence_terms(text)
    assert sentence_terms.cache_info().hits == before + 1
