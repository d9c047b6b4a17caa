import pytest

from qa.abstain import best_threshold, confidence, is_answerable
from qa.types import Article, Hit, Passage


def _hit(dense):
    p = Passage("d:0-1", "d", "x", 0, 1)
    scores = {"fused": 0.1} if dense is None else {"fused": 0.1, "dense": dense}
    return Hit(1, 0.1, p, Article("d", "t", "x"), scores=scores)


def test_confidence_is_best_dense_score():
    assert confidence([_hit(0.2), _hit(0.5), _hit(None)]) == 0.5
    assert confidence([]) == 0.0 and confidence([_hit(None)]) == 0.0


def test_is_answerable_against_threshold():
    assert is_answerable([_hit(0.5)], 0.4)
    assert not is_answerable([_hit(0.3)], 0.4)
    assert not is_answerable([], 0.0)


def test_best_threshold_separates_and_reports_accuracy():
    t, acc = best_threshold([0.6, 0.7, 0.8], [0.1, 0.2, 0.3])
    assert 0.3 < t < 0.6 and acc == 1.0
    t, acc = best_threshold([0.5, 0.2], [0.3])
    assert acc == pytest.approx(0.75)
    with pytest.raises(ValueError):
        best_threshold([], [0.1])
