"""Fusion: pure functions over ranked `(id, score)` lists (ids are passage rows; -1 entries are
ignored). The `fuse_*` functions are the modes a retrieval pipeline picks from: each takes the
retrievers' lists, in the pipeline's order, and the RRF constant."""

from __future__ import annotations

from typing import Callable, Sequence


def rrf(rankings: Sequence[Sequence[int]], k: int = 60,
        weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1.

    Returns `(id, score)` sorted by score descending, ties broken by first appearance.
    """
    if k < 0:
        raise ValueError(f"rrf k must be >= 0, got {k}")
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, w in zip(rankings, weights):
        for r, doc in enumerate((d for d in ranking if d >= 0), 1):
            scores[doc] = scores.get(doc, 0.0) + w / (k + r)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def minmax(values: Sequence[float]) -> list[float]:
    """Scale to [0, 1]; all-equal input maps to 1.0."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        return [1.0 for _ in values]
    return [(v - lo) / (hi - lo) for v in values]


def score_fusion(results: Sequence[Sequence[tuple[int, float]]],
                 weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Convex combination of min-max normalised scores; a missing id contributes 0 for that list."""
    weights = weights or [1.0 / len(results)] * len(results)
    fused: dict[int, float] = {}
    for res, w in zip(results, weights):
        res = [(d, s) for d, s in res if d >= 0]
        for (d, _), ns in zip(res, minmax([s for _, s in res])):
            fused[d] = fused.get(d, 0.0) + w * ns
    return sorted(fused.items(), key=lambda kv: -kv[1])


Fusion = Callable[[Sequence[Sequence[tuple[int, float]]], int], list[tuple[int, float]]]


def fuse_single(results: Sequence[Sequence[tuple[int, float]]], rrf_k: int) -> list[tuple[int, float]]:
    """One retriever: its list as it is."""
    return list(results[0])


def fuse_rrf(results: Sequence[Sequence[tuple[int, float]]], rrf_k: int) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of the lists' orders (their scores are not used)."""
    return rrf([[i for i, _ in res] for res in results], k=rrf_k)


def fuse_scores(results: Sequence[Sequence[tuple[int, float]]], rrf_k: int) -> list[tuple[int, float]]:
    """Equal-weight fusion of min-max normalised scores."""
    return score_fusion(results)
