import pytest

from qa.search.fuse import minmax, rrf, score_fusion


def test_rrf_hand_checked():
    fused = rrf([[1, 2, 3], [3, 1, -1]], k=1)
    scores = dict(fused)
    assert scores[1] == pytest.approx(1 / 2 + 1 / 3)
    assert scores[3] == pytest.approx(1 / 4 + 1 / 2)
    assert scores[2] == pytest.approx(1 / 3)
    assert [d for d, _ in fused] == [1, 3, 2]


def test_rrf_weights_and_bad_k():
    assert rrf([[1], [2]], k=0, weights=[1, 2])[0][0] == 2
    with pytest.raises(ValueError, match="k must be >= 0"):
        rrf([[1]], k=-1)


def test_minmax_and_score_fusion():
    assert minmax([2, 4, 3]) == [0.0, 1.0, 0.5]
    assert minmax([5, 5]) == [1.0, 1.0]
    fused = dict(score_fusion([[(1, 0.9), (2, 0.1)], [(2, 10.0), (3, 0.0)]], weights=[0.5, 0.5]))
    assert fused == {1: 0.5, 2: 0.5, 3: 0.0}
